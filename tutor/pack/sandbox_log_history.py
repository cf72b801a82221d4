"""`sandboxes.api.logs.history`: a night of traffic the request log holds before the lesson opens.

An incident lesson starts where a real one does, with a log that already tells what happened: each
entry of `traffic` is a stream of requests of one shape, spread over a window of the night before,
with durations drawn from a log-normal distribution (its median and 99th percentile). The same
`seed` writes the same lines (request ids, order, durations) on any machine; only the date follows
the lesson clock (docs/sandbox-api.md, "Request logs and request ids").
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from tutor.pack.base import Model, NonEmpty


class HistoryTraffic(Model):
    """One stream of the night: `count` requests of one shape between two minutes of the window."""

    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    path: NonEmpty = Field(description="The path; '{n}' in it is a number drawn from `n` for each request.")
    query: str | None = Field(default=None, description="The query string, without '?'; '{n}' as in `path`.")
    n: tuple[int, int] = Field(default=(1, 1000), description="The bounds (inclusive) of the numbers for '{n}'.")
    count: int = Field(ge=1, le=100_000)
    from_minute: float = Field(default=0, ge=0, description="Minutes after the window's start.")
    to_minute: float | None = Field(default=None, ge=0, description="Default: the window's end.")
    median_ms: float = Field(gt=0)
    p99_ms: float | None = Field(default=None, gt=0, description="Default: the median (every request alike).")
    sql: int = Field(default=1, ge=0, description="The `sql` field: statements each request ran.")
    status: int = Field(default=200, ge=100, le=599)
    error: str | None = Field(default=None, description="The `error` field of these lines (a sandbox failure).")

    @model_validator(mode="after")
    def _bounds(self) -> HistoryTraffic:
        if self.n[0] > self.n[1]:
            raise ValueError("`n` is [low, high] with low <= high")
        if self.p99_ms is not None and self.p99_ms < self.median_ms:
            raise ValueError("`p99_ms` is at least `median_ms`")
        if self.to_minute is not None and self.to_minute < self.from_minute:
            raise ValueError("`to_minute` comes after `from_minute`")
        return self


class LogHistory(Model):
    """Lines written into the request log when the sandbox starts, dated the night before, as if the
    API had served them: `service: api`, `source: outside`, request ids of 32 hex digits."""

    seed: int = Field(default=0, description="Which ids, times and durations: the same seed, the same lines.")
    start: str = Field(
        default="02:00",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="When the window starts (HH:MM, UTC), on the day before the lesson clock's date.",
    )
    minutes: int = Field(default=120, ge=1, le=1440, description="How long the window lasts.")
    traffic: list[HistoryTraffic] = Field(min_length=1)

    @model_validator(mode="after")
    def _inside(self) -> LogHistory:
        for item in self.traffic:
            if item.from_minute > self.minutes or (item.to_minute or 0) > self.minutes:
                window = f"the {self.minutes}-minute window"
                raise ValueError(f"{item.method} {item.path}: its minutes must fall inside {window}")
        return self
