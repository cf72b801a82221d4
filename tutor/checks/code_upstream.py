"""`code_http`'s `max_ms` and `upstream`: how the learner's app treated a failing upstream while it
answered one of the checker's requests.

The upstream (`sandboxes.api.upstream`) records each call as it saw it; the calls of one request are
those that arrived between the request and its answer. Whether the app's own timeout fired is what the
upstream saw (the caller closed the connection before the answer was complete), its retries are the
calls' count, its backoff the gaps between them, its bulkhead the calls in flight at once.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from tutor.checks.base import CheckResult
from tutor.pack.specs_code import CodeProbeStep

SLACK = 0.05
"""Seconds after the answer in which a call still counts as the request's (the log is written just after)."""


def _within(value: float, bounds: Any) -> bool:
    return (bounds.at_least is None or value >= bounds.at_least) and (bounds.at_most is None or value <= bounds.at_most)


def _bounds_text(bounds: Any, unit: str) -> str:
    if bounds.at_least is not None and bounds.at_most is not None:
        return f"{bounds.at_least:g} to {bounds.at_most:g} {unit}"
    if bounds.at_least is not None:
        return f"at least {bounds.at_least:g} {unit}"
    return f"at most {bounds.at_most:g} {unit}"


def judge(
    step: CodeProbeStep, label: str, method: str, target: str, seconds: float, calls: list[Any]
) -> CheckResult | None:
    """None when the step's `max_ms` and `upstream` hold; else the failure, in the learner's words."""
    if step.max_ms is not None and seconds * 1000 > step.max_ms:
        return CheckResult(
            False,
            f"{label}: your app took {seconds * 1000:.0f} ms to answer {method} {target}; this step needs an "
            f"answer within {step.max_ms:g} ms.",
            expected=f"an answer within {step.max_ms:g} ms",
            got=f"{seconds * 1000:.0f} ms",
            details=(
                "A call to another service without a timeout waits as long as that service does. Give the "
                "call a timeout, and answer (503 or 504) when it fires.",
            ),
        )
    expect = step.upstream
    if expect is None:
        return None
    name = expect.name
    count = len(calls)
    seen = ", ".join(f"#{c.number} {c.fault}" + (" (gave up)" if c.abandoned else "") for c in calls[:8]) or "none"
    if expect.calls is not None and not _within(count, expect.calls):
        return CheckResult(
            False,
            f"{label}: while answering {method} {target}, your app called {name} {count} time"
            f"{'s' if count != 1 else ''}; this step needs {_bounds_text(expect.calls, 'calls')}.",
            expected=_bounds_text(expect.calls, "calls"),
            got=f"{count} calls ({seen})",
        )
    gave_up = sum(1 for c in calls if c.abandoned)
    if expect.abandoned is not None and not _within(gave_up, expect.abandoned):
        return CheckResult(
            False,
            f"{label}: {name} saw your app give up on {gave_up} of its calls while it answered {method} {target}; "
            f"this step needs {_bounds_text(expect.abandoned, 'given up')}.",
            expected=_bounds_text(expect.abandoned, "calls given up"),
            got=f"{gave_up} ({seen})",
            details=("A call given up on is one your app closed before the answer was complete: its timeout fired.",),
        )
    if expect.max_in_flight is not None:
        most = max((c.in_flight for c in calls), default=0)
        if most > expect.max_in_flight:
            return CheckResult(
                False,
                f"{label}: {name} had {most} of your app's calls in flight at once; at most "
                f"{expect.max_in_flight} may be.",
                expected=f"at most {expect.max_in_flight} in flight",
                got=f"{most} in flight",
            )
    if expect.min_gap_ms is not None:
        ordered = sorted(calls, key=lambda c: c.arrived)
        gaps = [(b.arrived - a.arrived) * 1000 for a, b in itertools.pairwise(ordered)]
        short = [g for g in gaps if g < expect.min_gap_ms]
        if short:
            return CheckResult(
                False,
                f"{label}: your app called {name} again {min(short):.0f} ms after a failed call; this step "
                f"needs at least {expect.min_gap_ms:g} ms between them.",
                expected=f"at least {expect.min_gap_ms:g} ms between calls",
                got=", ".join(f"{g:.0f} ms" for g in gaps),
                details=("Retrying at once hits a struggling service again at once: wait, longer each time.",),
            )
    return None


def calls_between(ctx: Any, name: str, start: float, end: float) -> list[Any]:
    """The calls upstream `name` received from wall time `start` to `end` (plus a little slack)."""
    if ctx.http is None:
        return []
    deadline = time.monotonic() + 1.0
    while True:  # a call the app gave up on is known as such a moment after its answer
        calls = [c for c in ctx.http.upstream_calls(name) if start <= c.arrived <= end + SLACK]
        if all(c.done for c in calls) or time.monotonic() > deadline:
            return calls
        time.sleep(0.01)
