"""Stop the learner's app while requests are in flight, as a deployment stops it, and see what was lost.

    outcome = stop_under_load(app, "POST", "/orders", {"json": {...}}, count=5, exit_within=5.0)

`count` copies of one request go out at once, each on a connection of its own. The harness says when each
reaches the app (`arrived` on the status pipe); once all have (or `arrive_within` has passed), the process
that serves the app gets the signal, as Kubernetes or a process manager sends it. Then: how long the whole
process tree took to end, and what each request got back (a whole answer, or nothing). A process still
running at `exit_within` is stopped as after any check (`LearnerApp.stop()`: its whole tree killed).
"""

from __future__ import annotations

import os
import signal as signals
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from tutor.code.harness import IN_FLIGHT_HEADER
from tutor.code.runner import REQUEST_ID, REQUEST_TIMEOUT, LearnerApp

ARRIVE_WITHIN = 5.0
"""Seconds for every copy to reach the app before the signal goes anyway."""


@dataclass
class InFlight:
    """One copy of the request: its answer, or why there was none."""

    number: int
    response: Any = None
    failure: str = ""
    started: float = 0.0
    ended: float = 0.0


@dataclass
class StopOutcome:
    requests: list[InFlight]
    arrived: set[str] = field(default_factory=set)
    """Which copies (their numbers, as text) had reached the app when the signal went."""
    signalled: bool = False
    exit_seconds: float | None = None
    """From the signal to the end of the whole process tree; None when it was still running at the limit."""
    exit_words: str = ""


def _send(app: LearnerApp, method: str, path: str, kwargs: dict[str, Any], one: InFlight, timeout: float) -> None:
    import httpx

    headers = {**kwargs.get("headers", {}), IN_FLIGHT_HEADER.decode(): str(one.number), REQUEST_ID: uuid.uuid4().hex}
    rest = {k: v for k, v in kwargs.items() if k != "headers"}
    one.started = time.monotonic()
    try:
        # a client of its own per copy: one connection each, as separate users would send them
        with httpx.Client(base_url=app.base_url, timeout=timeout, trust_env=False) as client:
            one.response = client.request(method, path, headers=headers, **rest)
    except httpx.TimeoutException:
        one.failure = f"no answer within {timeout:g} seconds"
    except httpx.HTTPError as exc:
        one.failure = _connection_words(exc)
    one.ended = time.monotonic()


def _connection_words(exc: Exception) -> str:
    text = str(exc).lower()
    if "refused" in text:
        return "the connection was refused"
    if "disconnected" in text or "reset" in text or "closed" in text or "eof" in text:
        return "the connection was closed before any answer"
    return f"the connection failed ({type(exc).__name__})"


def stop_under_load(
    app: LearnerApp,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    *,
    count: int,
    exit_within: float,
    signal_name: str = "SIGTERM",
    arrive_within: float = ARRIVE_WITHIN,
) -> StopOutcome:
    """Send `count` copies of a request, signal the app's server once they are in flight, and wait up to
    `exit_within` seconds for its process to end. The requests' answers are collected before returning."""
    child = app.child
    requests = [InFlight(number) for number in range(1, count + 1)]
    outcome = StopOutcome(requests)
    timeout = exit_within + REQUEST_TIMEOUT
    threads = [
        threading.Thread(target=_send, args=(app, method, path, kwargs, one, timeout), daemon=True) for one in requests
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + arrive_within
    while len(outcome.arrived) < count and time.monotonic() < deadline:
        event = child.wait_event({"arrived"}, max(0.01, deadline - time.monotonic()))
        if event is None or event["event"] != "arrived":
            break  # the time is up, or the app's process ended
        outcome.arrived.add(str(event.get("request")))
    pid = child.worker_pid
    if pid is not None and child.alive():
        signalled = time.monotonic()
        try:
            os.kill(pid, getattr(signals, signal_name))
            outcome.signalled = True
        except ProcessLookupError:
            pass
        try:
            child.process.wait(timeout=exit_within)
            outcome.exit_seconds = time.monotonic() - signalled
        except subprocess.TimeoutExpired:
            outcome.exit_seconds = None
            outcome.exit_words = child.exit_words()
            app.stop()  # killed, with everything it started, as after any check
    for thread in threads:
        thread.join(timeout=REQUEST_TIMEOUT + 1)
    if outcome.exit_seconds is not None:
        outcome.exit_words = child.exit_words()
    return outcome
