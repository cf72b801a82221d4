"""What a learner does in a step, in a form a machine can replay.

A step's `solution` and each of its `wrong_answers` have this shape. `pack test` replays them through
the same path a learner's own action takes: an answer typed, SQL run on the guarded learner connection,
HTTP requests sent to the sandbox as an outside client would send them.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from tutor.pack.base import JsonValue, Model, NonEmpty, PackPath

HttpMethod = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
Answer = str | int | float | bool | list[str]


class HttpRequest(Model):
    """One HTTP request to the lesson's sandbox API. `{name}` in path, headers and body is replaced
    by a value saved earlier in the same sequence (see `http_probe`)."""

    method: HttpMethod = "GET"
    path: NonEmpty = Field(description="Path on the sandbox, starting with '/': /v1/books?author=7")
    query: dict[str, str | int | float | bool] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: JsonValue = Field(default=None, alias="json", description="A JSON body.")
    body: str | None = Field(default=None, description="A raw text body (instead of `json`).")
    save: dict[str, str] = Field(
        default_factory=dict,
        description="In a solution or wrong answer: values to carry to the next requests of the same "
        "action, name -> 'json:PATH', 'header:NAME' or 'status' (use them as `{name}`).",
    )
    repeat: int = Field(
        default=1,
        ge=1,
        le=1000,
        description="In a solution or wrong answer: send this request this many times, as the load tool does.",
    )
    concurrency: int = Field(
        default=1,
        ge=1,
        le=100,
        description="With `repeat`: how many of the repeats are in flight at once (1: one after another).",
    )
    via: Literal["outside", "workbench"] | None = Field(
        default=None,
        description="In a solution or wrong answer: the client that sends it, `outside` (curl, a browser; the "
        "default) or the tutor's request `workbench`. A wrong answer that names one matches the learner's "
        "requests from that client only; without it, from either.",
    )

    @model_validator(mode="after")
    def _check(self) -> HttpRequest:
        if not self.path.startswith("/"):
            raise ValueError("path must start with '/' (it is relative to the sandbox's base URL)")
        if self.json_body is not None and self.body is not None:
            raise ValueError("give either `json` or `body`, not both")
        return self


MAX_WAIT = 366 * 24 * 3600
"""A year and a day: the most one `wait` may move the lesson clock (as `POST /_sandbox/clock`)."""

WaitSeconds = Annotated[
    float,
    Field(
        ge=0,
        le=MAX_WAIT,
        description="Seconds to move the API sandbox's lesson clock forward (token expiry, cache TTL, "
        "rate-limit refill follow it); nothing really sleeps.",
    ),
]


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number of seconds")
    return value


class Wait(Model):
    """An item of a `requests` list that moves the lesson clock between two requests: `{wait: 61}`."""

    wait: WaitSeconds

    _finite = field_validator("wait")(_finite)


class SqlStep(Model):
    """An item of a `requests` list that runs SQL in the SQL workbench between two requests:
    `{sql: "UPDATE books SET price = 1.99 WHERE id = 7"}` (a change the API does not see, made after a
    request filled its cache and before the request that reads the stale copy)."""

    sql: NonEmpty


def _request_or_wait(value: Any) -> str:
    if (isinstance(value, dict) and "wait" in value) or isinstance(value, Wait):
        return "Wait"
    if (isinstance(value, dict) and "sql" in value) or isinstance(value, SqlStep):
        return "SqlStep"
    return "HttpRequest"


RequestItem = Annotated[
    Annotated[HttpRequest, Tag("HttpRequest")] | Annotated[Wait, Tag("Wait")] | Annotated[SqlStep, Tag("SqlStep")],
    Discriminator(_request_or_wait),
]


class Action(Model):
    """A replayable learner action. Give at least one of `answer`, `files`, `sql`, `wait`, `requests`; when
    several are given they are applied in the order `files`, `sql`, `wait`, `requests`."""

    answer: Answer | None = Field(
        default=None,
        description="What the learner types or picks: a choice id (or a list for multiple choice), text, or a number.",
    )
    sql: str | None = Field(
        default=None, description="SQL run in the SQL workbench, on the guarded learner connection."
    )
    wait: WaitSeconds | None = Field(
        default=None,
        description="Seconds to move the API sandbox's lesson clock forward, after `sql` and before "
        "`requests` (as a learner's `POST /_sandbox/clock`).",
    )
    requests: list[RequestItem] = Field(
        default_factory=list,
        description="HTTP requests sent to the sandbox API from outside the tutor; an item `{wait: SECONDS}` "
        "moves the lesson clock between two of them, an item `{sql: ...}` runs SQL in the workbench between "
        "two of them.",
    )

    @field_validator("wait")
    @classmethod
    def _finite_wait(cls, value: float | None) -> float | None:
        return None if value is None else _finite(value)

    files: PackPath | None = Field(
        default=None,
        description="In a build-it lesson: a folder in the pack whose files are laid over the starter files in "
        "the workspace, as if the learner had written them (a reference solution, or a real mistake).",
    )

    @model_validator(mode="after")
    def _not_empty(self) -> Action:
        if self.answer is None and self.sql is None and self.wait is None and not self.requests and self.files is None:
            raise ValueError("give at least one of `answer`, `files`, `sql`, `wait` or `requests`")
        return self

    @property
    def runs_sql(self) -> bool:
        """Whether it runs SQL: `sql`, or `{sql: ...}` items between its requests."""
        return self.sql is not None or any(isinstance(item, SqlStep) for item in self.requests)

    @property
    def http_requests(self) -> list[HttpRequest]:
        """The requests alone, without the waits between them."""
        return [item for item in self.requests if isinstance(item, HttpRequest)]


class WrongAnswer(Action):
    """An answer the step's check must reject. `feedback` is shown to a learner whose answer matches it."""

    feedback: str | None = Field(default=None, description="Why this answer is wrong, shown to a learner who gives it.")
    hints: list[NonEmpty] = Field(
        default_factory=list,
        description="Hints for this mistake: after a check that found it, the next hint (F6) is the first of these "
        "not shown yet, before the step's own hints.",
    )
    fails_to_run: bool = Field(
        default=False,
        description="This answer fails before the check can judge it, on purpose (SQL that SQLite refuses, code "
        "that does not import): a mistake learners make. Without it, `pack test` reports such a wrong answer as "
        "proving nothing about the check.",
    )


class Alternative(Action):
    """Another right answer the check must accept: an unusual form of the solution, or a derived answer
    (`pack test --mutants`) that is right after all. `why` says why it is right."""

    why: str | None = Field(
        default=None, description="Why this is right too (shown by `pack test`, never to learners)."
    )
