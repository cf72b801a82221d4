"""A night of traffic in the request log before the lesson opens (`logs.history`, docs/sandbox-api.md,
"Request logs and request ids").

An incident lesson starts from a log that already holds what happened: `write_history` draws the lines
of each `traffic` stream from the lesson's `seed` (request ids, times within the stream's minutes,
durations from a log-normal distribution with the stream's median and 99th percentile), sorts them by
time and writes them in the format of `sandboxes.api.logs.record_of`, dated the night before the lesson
clock's day. Only the date follows the clock: the same seed writes the same ids, minutes and durations
on any machine, so a lesson may name a request of that night by its id.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sandboxes.api.logs import iso_time, level_of

Z99 = 2.3263478740408408
"""The 99th percentile of the standard normal distribution: p99 = median * exp(sigma * Z99)."""


def window_start(history: Any, now: float) -> float:
    """The epoch second the window starts: `start` (HH:MM UTC) on the day before `now`'s UTC date."""
    today = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    hours, minutes = (int(part) for part in history.start.split(":"))
    return (today - timedelta(days=1) + timedelta(hours=hours, minutes=minutes)).timestamp()


def records(history: Any, now: float) -> list[dict[str, Any]]:
    """The lines of `history` (a `tutor.pack.sandbox_log_history.LogHistory`), in time order."""
    rng = random.Random(f"log-history:{history.seed}")  # noqa: S311 - a made-up night, not a secret
    start = window_start(history, now)
    drawn: list[tuple[float, int, dict[str, Any]]] = []
    for item in history.traffic:
        low = item.from_minute * 60
        high = (item.to_minute if item.to_minute is not None else history.minutes) * 60
        p99 = item.p99_ms or item.median_ms
        sigma = math.log(p99 / item.median_ms) / Z99 if p99 > item.median_ms else 0.0
        for _ in range(item.count):
            at = low + rng.random() * (high - low)
            number = rng.randint(item.n[0], item.n[1])
            request_id = f"{rng.getrandbits(128):032x}"
            duration = item.median_ms * math.exp(sigma * rng.gauss(0.0, 1.0))
            size = rng.randint(300, 4000) if item.status < 300 else rng.randint(120, 400)
            record: dict[str, Any] = {
                "time": iso_time(start + at),
                "level": level_of(item.status, item.error),
                "service": "api",
                "request_id": request_id,
                "method": item.method,
                "path": item.path.replace("{n}", str(number)),
                "query": item.query.replace("{n}", str(number)) if item.query else None,
                "status": item.status,
                "duration_ms": round(duration, 1),
                "sql": item.sql,
                "cache": None,
                "user": None,
                "source": "outside",
                "bytes": size,
            }
            if item.error:
                record["error"] = item.error
            drawn.append((at, len(drawn), record))
    drawn.sort(key=lambda entry: (entry[0], entry[1]))
    return [record for _, _, record in drawn]


def write_history(log: Any, history: Any, now: float) -> int:
    """Write the night into `log` (a `sandboxes.api.logs.RequestLog`); returns how many lines."""
    lines = records(history, now)
    for record in lines:
        log.write(record)
    return len(lines)
