"""The sandbox API's own calls to an upstream: `GET {route}` answers what the upstream answered, called
with the lesson's client policy (`upstreams[].client`): a timeout per attempt, retries with exponential
backoff and jitter, a circuit breaker on the lesson clock, and a bulkhead. It is what the load tool
drives, so "what a retry storm does to p99" is measured, and the policy is switchable
(`PUT /_sandbox/upstreams/{name}/client`) as a stand-in for the code a learner would change.

Each attempt, each wait and each breaker decision is an event of the request's trace, so the flow view
draws them. Waits between attempts are real time (they are felt, and make p99); the breaker's open time
is lesson time (`wait: 31` in a solution lets it try again). The jitter follows from the upstream's
seed and the route's request number, so a replay waits the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from typing import Any

import h11
from starlette.requests import Request
from starlette.responses import Response

from sandboxes.api.problems import ApiError
from sandboxes.api.recorder import trace_of
from sandboxes.api.state import State
from sandboxes.api.upstream import UpstreamHub

CLIENT_FIELDS = ("timeout_ms", "retries", "backoff_ms", "max_backoff_ms", "jitter", "breaker", "bulkhead")


class AttemptFailed(Exception):
    def __init__(self, outcome: str, status: int = 0) -> None:
        super().__init__(outcome)
        self.outcome = outcome  # timeout | reset | status
        self.status = status


def policy(hub: UpstreamHub, name: str) -> dict[str, Any]:
    """The client policy in force: the lesson's, with what the learner switched over it."""
    client = hub.settings[name].client
    data = {key: getattr(client, key) for key in CLIENT_FIELDS}
    data["breaker"] = client.breaker.model_dump() if client.breaker else None
    data.update(hub.memory[name]["client"])
    return data


def backoff_ms(pol: dict[str, Any], retry: int, rng: random.Random) -> float:
    """The wait before retry `retry` (1, 2, ...): base * 2^(retry-1), capped, with the policy's jitter."""
    ceiling = min(float(pol["max_backoff_ms"]), float(pol["backoff_ms"]) * 2 ** (retry - 1))
    draw = rng.random()
    if pol["jitter"] == "full":
        return round(ceiling * draw, 3)
    if pol["jitter"] == "equal":
        return round(ceiling / 2 + ceiling / 2 * draw, 3)
    return ceiling


async def call_once(port: int, path: str, headers: list[tuple[str, str]], timeout: float) -> tuple[int, bytes]:
    """One GET over a new connection (`Connection: close`); AttemptFailed on a timeout, a reset or a cut."""

    async def exchange() -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            conn = h11.Connection(h11.CLIENT)
            request = h11.Request(
                method="GET",
                target=path,
                headers=[("host", f"127.0.0.1:{port}"), ("connection", "close"), *headers],
            )
            writer.write(conn.send(request) + conn.send(h11.EndOfMessage()))
            await writer.drain()
            status, body = 0, b""
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await reader.read(65536))
                elif isinstance(event, h11.Response):
                    status = event.status_code
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage):
                    return status, body
                elif isinstance(event, h11.ConnectionClosed):
                    raise AttemptFailed("reset")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    try:
        return await asyncio.wait_for(exchange(), timeout)
    except TimeoutError:
        raise AttemptFailed("timeout") from None
    except (ConnectionError, OSError, h11.ProtocolError):
        raise AttemptFailed("reset") from None


def route_handler(state: State, name: str) -> Any:
    hub = state.upstreams
    assert isinstance(hub, UpstreamHub)
    upstream = hub.settings[name]

    async def handle(request: Request) -> Response:
        trace = trace_of(request.scope)
        pol = policy(hub, name)
        memory = hub.memory[name]
        breaker = memory["breaker"]
        bulkhead = pol.get("bulkhead")
        trial = False
        with hub.lock:
            memory["route_calls"] += 1
            number = memory["route_calls"]
            if bulkhead and hub.route_in_flight[name] >= bulkhead:
                if trace:
                    trace.add("bulkhead", "full", in_flight=hub.route_in_flight[name], limit=bulkhead)
                raise ApiError(
                    503, f"the bulkhead for {name} is full: {bulkhead} calls are in flight already; refused at once"
                )
            settings = pol.get("breaker")
            now = state.clock.now()
            if settings and breaker["opened_at"] is not None:
                reopen = breaker["opened_at"] + float(settings["open_seconds"])
                if now < reopen or breaker["trial"]:
                    wait = max(1, int(reopen - now + 0.999)) if now < reopen else 1
                    if trace:
                        trace.add("breaker", "open: refused", opens_in=round(reopen - now, 3))
                    raise ApiError(
                        503,
                        f"the circuit breaker for {name} is open after {breaker['failures']} failures in a row; "
                        f"it lets one call try again in {wait} s (lesson clock)",
                        headers={"Retry-After": str(wait)},
                    )
                breaker["trial"] = trial = True
                if trace:
                    trace.add("breaker", "half-open: one trial call")
            hub.route_in_flight[name] += 1
        rng = random.Random(f"{name}:{upstream.seed}:route:{number}")  # noqa: S311 - jitter, not a secret
        attempts = 0
        failure: AttemptFailed | None = None
        begin = time.perf_counter()
        headers = (
            [("x-request-id", request.headers.get("x-request-id", ""))] if "x-request-id" in request.headers else []
        )
        port = int(hub.urls[name].rsplit(":", 1)[1])
        target = request.url.path  # the upstream answers any path; the same one keeps the logs readable
        if request.url.query:
            target += "?" + request.url.query
        try:
            while True:
                attempts += 1
                start = time.perf_counter()
                try:
                    status, body = await call_once(port, target, headers, float(pol["timeout_ms"]) / 1000)
                    if status >= 500 or status == 429:
                        raise AttemptFailed("status", status)
                    failure = None
                except AttemptFailed as exc:
                    failure = exc
                spent = round((time.perf_counter() - start) * 1000, 3)
                if trace:
                    outcome = "ok" if failure is None else failure.outcome
                    label = f"{name} attempt {attempts}: " + (
                        str(status) if failure is None else (str(failure.status) if failure.status else outcome)
                    )
                    trace.add("upstream", label, spent, attempt=attempts, outcome=outcome)
                opened = _count(hub, name, settings, failure is None, state.clock.now(), trace)
                if failure is None or opened or attempts > int(pol["retries"]):
                    break
                pause = backoff_ms(pol, attempts, rng)
                if trace:
                    with trace.span("backoff", f"wait {pause:.0f} ms before retry {attempts}"):
                        await asyncio.sleep(pause / 1000)
                else:
                    await asyncio.sleep(pause / 1000)
        finally:
            with hub.lock:
                hub.route_in_flight[name] -= 1
                if trial:
                    breaker["trial"] = False
        timing = f"upstream;dur={(time.perf_counter() - begin) * 1000:.1f}"
        extra = {"X-Upstream-Attempts": str(attempts), "Server-Timing": timing}
        if failure is None:
            return Response(body, status_code=200, media_type="application/json", headers=extra)
        if failure.outcome == "timeout":
            raise ApiError(
                504,
                f"{name} did not answer within {pol['timeout_ms']} ms "
                f"({attempts} attempt{'s' if attempts != 1 else ''})",
                headers=extra,
            )
        what = f"answered {failure.status}" if failure.status else "reset the connection"
        raise ApiError(502, f"{name} {what} ({attempts} attempt{'s' if attempts != 1 else ''})", headers=extra)

    return handle


def _count(hub: UpstreamHub, name: str, settings: dict[str, Any] | None, ok: bool, now: float, trace: Any) -> bool:
    """Count an attempt for the breaker; True when this failure opened it."""
    if not settings:
        return False
    with hub.lock:
        breaker = hub.memory[name]["breaker"]
        if ok:
            if breaker["opened_at"] is not None and trace:
                trace.add("breaker", "closed: the trial call succeeded")
            breaker.update(failures=0, opened_at=None)
            return False
        breaker["failures"] += 1
        if breaker["opened_at"] is not None or breaker["failures"] >= int(settings["failures"]):
            breaker["opened_at"] = now
            if trace:
                trace.add("breaker", f"open after {breaker['failures']} failures in a row")
            return True
        return False
