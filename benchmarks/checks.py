"""What a check costs: beyond the learner's own query, and against a long traffic log.

1. Every step of the built-in pack, as `pack test` replays it: the solution is applied (its SQL timed
   on the guarded learner connection, as the workbench runs it), then the step's check is timed.
   The figure is the check's time beyond the learner's own SQL. Budget: 50 ms for any check.
   Checks that send their own requests to a lesson API with simulated latency (`latency_ms`) pay
   that latency by design; they are listed apart.
2. An HTTP traffic check against 10,000 real recorded exchanges (a real server on 127.0.0.1, a
   recorder sized to keep them all), once finding its request at the very end of the log and once
   failing, which scans everything and explains the closest miss. Budget: 50 ms.

    .venv/bin/python benchmarks/checks.py [--json] [--requests 10000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def step_checks() -> dict[str, object]:
    from tutor.pack.actions import Action
    from tutor.pack.checks import iter_kinds
    from tutor.pack.loader import load_pack_or_raise
    from tutor.paths import Home
    from tutor.session import Session

    pack = load_pack_or_raise(ROOT / "lessons")
    home = Home(Path(tempfile.mkdtemp(prefix="bt-checks-")))
    overheads: list[tuple[float, str]] = []
    with_latency: list[tuple[float, str]] = []
    failed: list[str] = []
    for entry in pack.lessons:
        lesson = entry.lesson
        slow_api = bool(lesson.sandboxes.api and any(r.latency_ms for r in lesson.sandboxes.api.resources))
        with Session(pack, lesson, home) as session:
            session.start()
            for step in lesson.steps:
                if any(kind.startswith("code") for kind in iter_kinds(step.check)):
                    # Build-it checks (alone or in an `all`) run the learner's own app:
                    # `buildit_save_to_verdict.py` times them.
                    continue
                session.begin_step(step)
                solution = step.solution
                sql_time = 0.0
                if solution.sql is not None:
                    started = time.perf_counter()
                    session.apply(Action(sql=solution.sql))
                    sql_time = time.perf_counter() - started
                rest = solution.model_copy(update={"sql": None})
                if rest.requests or rest.answer is not None or getattr(rest, "wait", None):
                    session.apply(rest)
                started = time.perf_counter()
                result = session.check(step, solution.answer)
                took = time.perf_counter() - started
                name = f"{lesson.id}/{step.id} ({step.check.kind})"
                if not result.passed:  # listed, not timed: a replay that differs from `pack test`'s
                    failed.append(f"{name}: {result.summary}")
                    continue
                target = with_latency if slow_api and step.check.kind.startswith("http") else overheads
                target.append((max(took - sql_time, 0.0) * 1000, name))
    worst = max(overheads)
    return {
        "checks": len(overheads),
        "check_overhead_median_ms": round(statistics.median(o for o, _ in overheads), 2),
        "check_overhead_max_ms": round(worst[0], 2),
        "check_overhead_max_step": worst[1],
        "slowest": [f"{name}: {ms:.1f} ms" for ms, name in sorted(overheads, reverse=True)[:5]],
        "solutions_failed_in_this_replay": failed,
        "checks_with_simulated_latency": [f"{name}: {ms:.0f} ms" for ms, name in sorted(with_latency, reverse=True)],
    }


def traffic_check(requests: int) -> dict[str, object]:
    import sqlite3

    import httpx
    from pydantic import TypeAdapter

    from sandboxes.api.app import build_app
    from sandboxes.api.recorder import TrafficRecorder
    from sandboxes.api.server import ThreadedServer
    from tutor.checks import CheckContext, evaluate
    from tutor.pack.checks import CheckSpec
    from tutor.pack.sandbox_api import ApiSettings

    db = Path(tempfile.mkdtemp(prefix="bt-traffic-")) / "t.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT, year INTEGER)")
        conn.executemany("INSERT INTO books VALUES (?, ?, ?)", [(i, f"Book {i}", 1950 + i % 70) for i in range(1, 201)])
    settings = ApiSettings.model_validate({"resources": [{"name": "books", "table": "books"}]})
    recorder = TrafficRecorder(capacity=requests)
    server = ThreadedServer(build_app(settings, database=db, recorder=recorder))
    server.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", trust_env=False) as client:
            for number in range(requests - 1):
                client.get(f"/v1/books/{number % 200 + 1}")
            client.get("/v1/books", params={"year": 1999})
    finally:
        server.stop()
    log = recorder.all()
    assert len(log) == requests, len(log)

    class Evidence:
        base_url = "http://127.0.0.1"

        def exchanges(self) -> list[object]:
            return log

        def request(self, *args: object, **kwargs: object) -> object:
            raise AssertionError("a traffic check sends nothing")

    parse_check = TypeAdapter(CheckSpec).validate_python
    found = parse_check(
        {
            "kind": "http_traffic",
            "expect": [
                {
                    "request": {"method": "GET", "path": "/v1/books", "query": {"year": "1999"}},
                    "response": {"status": 200},
                }
            ],
        }
    )
    missing = parse_check(
        {
            "kind": "http_traffic",
            "expect": [{"request": {"method": "DELETE", "path": "/v1/books/7"}, "response": {"status": 204}}],
        }
    )
    figures: dict[str, object] = {"recorded": len(log)}
    for name, spec, should_pass in (("found_last", found, True), ("not_found", missing, False)):
        times = []
        for _ in range(7):
            started = time.perf_counter()
            result = evaluate(spec, CheckContext(http=Evidence()))
            times.append((time.perf_counter() - started) * 1000)
            assert result.passed is should_pass, result.explain()
        figures[f"traffic_check_{name}_median_ms"] = round(statistics.median(times), 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--requests", type=int, default=10_000)
    args = parser.parse_args()
    result = {**step_checks(), **traffic_check(args.requests)}
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
