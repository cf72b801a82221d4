"""A night of traffic in the request log before the lesson opens (`logs.history`): the lines are
written when the sandbox starts, dated the night before the lesson clock's day, in the live lines'
format; the same seed writes the same ids, minutes and durations; the live lines follow them."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from sandboxes.api import logs
from sandboxes.api.log_history import records, window_start
from sandboxes.api.sandbox import ApiSandbox
from tests.api.helpers import make_db, settings
from tutor.pack.sandbox_log_history import LogHistory

NIGHT: dict[str, Any] = {
    "seed": 7,
    "start": "02:30",
    "minutes": 60,
    "traffic": [
        {"path": "/v1/books/{n}", "n": [1, 20], "count": 400, "median_ms": 2, "p99_ms": 8, "sql": 1},
        {"path": "/v1/books", "query": "author={n}", "count": 300, "from_minute": 30, "median_ms": 150, "p99_ms": 1500},
        {
            "path": "/v1/books",
            "query": "author=3",
            "count": 1,
            "from_minute": 42,
            "to_minute": 42.5,
            "median_ms": 10010,
            "status": 503,
        },
    ],
}
NOW = datetime(2026, 12, 7, 9, 15, tzinfo=UTC).timestamp()


def _night(**changes: Any) -> LogHistory:
    return LogHistory.model_validate({**NIGHT, **changes})


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(q * len(ordered)) - 1]


def test_the_same_seed_writes_the_same_night_and_another_seed_another() -> None:
    one, two = records(_night(), NOW), records(_night(), NOW + 3600)
    assert [r["request_id"] for r in one] == [r["request_id"] for r in two]
    assert [r["duration_ms"] for r in one] == [r["duration_ms"] for r in two]
    other = records(_night(seed=8), NOW)
    assert {r["request_id"] for r in one}.isdisjoint(r["request_id"] for r in other)


def test_lines_fall_in_the_window_of_the_night_before_in_time_order() -> None:
    lines = records(_night(), NOW)
    assert len(lines) == 701
    times = [datetime.fromisoformat(r["time"].replace("Z", "+00:00")) for r in lines]
    assert times == sorted(times)
    start = datetime(2026, 12, 6, 2, 30, tzinfo=UTC)
    assert window_start(_night(), NOW) == start.timestamp()
    assert all(start <= t < start + timedelta(minutes=60) for t in times)
    slow = [t for t, r in zip(times, lines, strict=True) if r["query"] and r["query"].startswith("author=")]
    assert all(t >= start + timedelta(minutes=30) for t in slow)


def test_durations_follow_the_median_and_p99_of_each_stream() -> None:
    lines = records(_night(seed=11, traffic=[{**NIGHT["traffic"][0], "count": 5000}]), NOW)
    durations = [float(r["duration_ms"]) for r in lines]
    assert 1.8 <= _p(durations, 0.5) <= 2.2
    assert 6.5 <= _p(durations, 0.99) <= 9.5
    assert {r["path"] for r in lines} <= {f"/v1/books/{n}" for n in range(1, 21)}


def test_a_failed_stream_is_logged_at_level_error_and_with_its_error() -> None:
    failed = [r for r in records(_night(), NOW) if r["status"] == 503]
    assert len(failed) == 1
    assert failed[0]["level"] == "error" and failed[0]["query"] == "author=3" and failed[0]["duration_ms"] == 10010.0
    crash = {"path": "/v1/books/13", "count": 1, "median_ms": 4, "status": 500, "error": "TypeError: x"}
    night = _night(traffic=[crash])
    (line,) = records(night, NOW)
    assert line["level"] == "error" and line["error"] == "TypeError: x"


@pytest.mark.parametrize(
    "changes",
    [
        {"start": "25:00"},
        {"traffic": []},
        {"traffic": [{"path": "/x", "count": 1, "median_ms": 5, "p99_ms": 2}]},
        {"traffic": [{"path": "/x", "count": 1, "median_ms": 5, "from_minute": 90}]},
        {"traffic": [{"path": "/x", "count": 1, "median_ms": 5, "n": [9, 1]}]},
    ],
)
def test_a_night_that_cannot_be_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _night(**changes)


def test_the_sandbox_writes_the_night_before_its_own_lines(tmp_path: Path) -> None:
    log_path = tmp_path / "session" / "requests.log"
    sandbox = ApiSandbox.start(
        settings(logs={"history": NIGHT}), database=make_db(tmp_path / "lesson.db"), log_path=log_path
    )
    try:
        with httpx.Client(base_url=sandbox.base_url, trust_env=False, timeout=10) as client:
            live_id = client.get("/v1/books/3").headers["x-request-id"]
        deadline = time.monotonic() + 5
        while len(list(logs.read(log_path))) < 702 and time.monotonic() < deadline:
            time.sleep(0.01)
        lines = list(logs.read(log_path))
    finally:
        sandbox.stop()
    expected = records(LogHistory.model_validate(NIGHT), time.time())
    assert [r["request_id"] for r in lines[:-1]] == [r["request_id"] for r in expected]
    assert lines[-1]["request_id"] == live_id and lines[-1]["path"] == "/v1/books/3"
    assert set(lines[0]) == set(lines[-1])  # the night's lines have the live lines' fields
    assert lines[0]["time"] < lines[-1]["time"]
