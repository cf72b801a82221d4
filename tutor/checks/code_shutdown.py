"""The `shutdown` of a `code_http` step: stop the learner's app under load and judge what was lost.

Judged in this order, the first miss reported: every copy of the request that had reached the app got a
whole answer (none dropped when the app was told to stop), each answer is the step's `expect`, the whole
process ended within `exit_within_ms`, and the app's database, read after it ended, holds the rows of
each `database` query (what the shutdown code writes: a buffer flushed, a queue drained).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from tutor.checks.base import CheckResult, shorten
from tutor.checks.sql_common import compare_rows, fmt_row, run_query
from tutor.pack.specs_code import CodeProbeStep

STOPPING = (
    "Stopped gracefully, a server stops accepting new connections, lets the requests it has finish, "
    "then runs the app's shutdown code and exits; uvicorn does all of that on SIGTERM by itself."
)


def stop_and_judge(
    app: Any, step: CodeProbeStep, method: str, path: str, kwargs: dict[str, Any], saved: dict[str, Any]
) -> tuple[CheckResult | None, dict[str, Any]]:
    """Run the step's shutdown on `app` (which ends with it). A failure, or None and the figures measured."""
    from tutor.checks.code_http import _with_saved, exchange_of, shown
    from tutor.checks.http_match import describe_response, response_differences
    from tutor.code.shutdown import stop_under_load

    spec = step.shutdown
    assert spec is not None
    count = spec.in_flight
    target = path if not kwargs.get("params") else f"{path}?..."
    outcome = stop_under_load(
        app, method, path, kwargs, count=count, exit_within=spec.exit_within_ms / 1000, signal_name=spec.signal
    )
    arrived = [one for one in outcome.requests if str(one.number) in outcome.arrived]
    ended = ""
    if outcome.exit_seconds is not None:
        ended = f"Your app's process ended {outcome.exit_seconds:.1f} s after the signal: {outcome.exit_words}."
    if not outcome.signalled:
        tail = app.child.output_tail()
        return CheckResult(
            False,
            f"Your app's process ended before it could be told to stop, while {count} {method} {target} "
            f"requests were being sent: {outcome.exit_words}.",
            details=(f"It printed:\n{tail}",) if tail else (),
        ), {}
    if not arrived:
        return CheckResult(
            False,
            f"None of the {count} {method} {target} requests sent at once reached your app within "
            f"{spec.exit_within_ms / 1000:g} seconds, so there was nothing in flight to stop it under.",
        ), {}
    lost = [one for one in arrived if one.response is None]
    if lost:
        noun = "request" if len(arrived) == 1 else "requests"
        details = [f"- request {one.number}: {one.failure}" for one in lost]
        if ended:
            details.append(ended)
        details.append(STOPPING)
        details.append(
            "Something in your app ended the process at once instead: os._exit() or sys.exit() in a signal "
            "handler, or a handler that does not let the server finish."
        )
        tail = app.child.output_tail()
        if tail:
            details.append(f"It printed:\n{shorten(tail, 600)}")
        return CheckResult(
            False,
            f"{len(lost)} of your {len(arrived)} {noun} in flight got no answer when your app was told to stop "
            f"({spec.signal}).",
            expected=f"{len(arrived)} whole answers",
            got=f"{len(arrived) - len(lost)} answered",
            details=tuple(details),
        ), {}
    expect = _with_saved(step.expect, saved)
    for one in arrived:
        exchange = exchange_of(method, path, kwargs, one.response, 0.0)
        diffs = response_differences(expect, exchange)
        if diffs:
            return CheckResult(
                False,
                f"Request {one.number} of the {len(arrived)} in flight when your app was told to stop: {method} "
                f"{exchange.target} answered {exchange.status}, not what this step needs.",
                expected=describe_response(step.expect),
                got=f"{exchange.status} " + shorten(exchange.text(), 100),
                first_difference=diffs[0],
                details=tuple([f"- {d}" for d in diffs[1:]] + shown(exchange)),
            ), {}
    limit = spec.exit_within_ms / 1000
    if outcome.exit_seconds is None:
        return CheckResult(
            False,
            f"Your app was still running {limit:g} seconds after it was told to stop ({spec.signal}); the tutor "
            "killed it.",
            expected=f"the process ended within {limit:g} s",
            got=f"still running after {limit:g} s",
            details=(
                f"All {len(arrived)} requests in flight were answered; what did not end is your shutdown code "
                "(or a thread it waits for): a sleep, a join on a thread that is sleeping, a loop.",
                "A deployment does not wait for ever: Kubernetes kills the process when its grace period "
                "(terminationGracePeriodSeconds, 30 s by default) is over, and whatever was not yet written "
                "is lost with it.",
            ),
        ), {}
    facts: dict[str, Any] = {
        "in_flight": len(arrived),
        "answered": len(arrived) - len(lost),
        "exit_ms": round(outcome.exit_seconds * 1000, 1),
    }
    database = (getattr(app, "spawned", {}) or {}).get("database")
    for item in spec.database:
        if database is None:
            return CheckResult(False, "the step reads the app's database, but the lesson gives it none", error=True), {}
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
        try:
            _, rows = run_query(connection, item.query)
        except sqlite3.Error as exc:
            return CheckResult(
                False,
                f"After your app stopped, the checker could not read {item.says} from its database: {exc}.",
            ), facts
        finally:
            connection.close()
        expected = [tuple(row) for row in item.expect]
        comparison = compare_rows(expected, rows, ordered=False, tolerance=1e-9)
        if not comparison.same:
            shown_rows = ", ".join(fmt_row(row) for row in rows[:3]) or "no rows"
            return CheckResult(
                False,
                f"Your app stopped in time, but its database does not hold {item.says}.",
                expected=", ".join(fmt_row(row) for row in expected[:3]) or "no rows",
                got=shown_rows,
                details=(
                    f"All {len(arrived)} requests in flight were answered and the process ended "
                    f"{outcome.exit_seconds:.1f} s after {spec.signal}: what is missing is what your app "
                    "still held in memory when it was told to stop.",
                    "What must be written before the process ends goes in its shutdown code: in FastAPI, "
                    "after the `yield` of the `lifespan` function.",
                ),
            ), facts
    return None, facts
