"""Upstreams that fail on purpose: second services of a lesson, each on its own port on 127.0.0.1
(docs/sandbox-api.md, "Upstreams").

A learner's build-it app calls one (its URL is `{{upstream_url_NAME}}`, handed to the app through
`build.env`), and the sandbox API's `route` calls one with a client policy (`sandboxes.api.upstream_client`)
that the load tool drives. Each call gets a number, 1, 2, 3, ... and its fault and latency follow from the
upstream's `seed` and that number alone (`plan`): the first calls follow `script`, then the rates decide.
An outage is a window of lesson time. So the same calls meet the same faults every time: `pack test`
and the learner's reset put the numbering back with the rest of the state (`UpstreamHub.memory`).

Faults, each after the call's latency (real time, meant to meet the caller's timeout):

- `ok`: 200 and a JSON body; `error`: `error_status` (503) as problem+json, with `Retry-After` if set;
- `reset`: the connection is reset (an RST, no answer); `hang`: no answer at all until the caller gives up;
- `drip`: the headers at once, then the body a few bytes at a time, `drip_bytes_per_second`.

The servers are a small HTTP/1.1 implementation on h11 (what uvicorn itself parses with) in one asyncio
loop on a daemon thread, since a reset and a half-sent body are beyond what an ASGI app can do. Every
call is recorded (`UpstreamCall`): when it came, its number, fault, status, how long it took, how many
calls were in flight, and whether the caller gave up before the answer was complete (`abandoned`: its
timeout). The calls go into the request log as well, with the upstream's name as `service`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import random
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import h11

if TYPE_CHECKING:
    from sandboxes.api.logs import RequestLog
    from sandboxes.api.state import Clock
    from tutor.pack.sandbox_api import Upstream

LOG_CAPACITY = 5000
"""Calls kept per upstream (the oldest go first)."""
HANG_LIMIT = 300.0
"""A hanging call is closed after this many real seconds, if its caller never gave up."""
MAX_BODY = 1024 * 1024
Z99 = 2.3263478740408408  # the standard normal's 99th percentile
RATE_FIELDS = ("error_rate", "reset_rate", "drip_rate", "hang_rate")
SWITCHES = (*RATE_FIELDS, "latency", "error_status", "retry_after")


# -- which fault a call meets ------------------------------------------------------------------------
def latency_of(latency: dict[str, Any] | None, rng: random.Random) -> float:
    """Milliseconds from the log-normal distribution with this median and 99th percentile."""
    draw = rng.gauss(0.0, 1.0)  # drawn whatever the settings, so the faults after it do not move
    if not latency:
        return 0.0
    median = float(latency["median_ms"])
    p99 = float(latency.get("p99_ms") or median)
    if median <= 0:
        return 0.0
    sigma = math.log(p99 / median) / Z99 if p99 > median else 0.0
    return round(min(median * math.exp(sigma * draw), float(latency.get("max_ms") or 30000)), 3)


def plan(name: str, seed: int, number: int, faults: dict[str, Any]) -> tuple[str, float]:
    """(fault, latency in ms) of call `number` (1, 2, ...): a pure function of these values, so a replay
    meets the same faults. `faults`: the rates, latency and script in force."""
    rng = random.Random(f"{name}:{seed}:{number}")  # noqa: S311 - a fault plan, not a secret; text seeds alike everywhere
    latency = latency_of(faults.get("latency"), rng)
    draw = rng.random()
    script = faults.get("script") or []
    if number <= len(script):
        return str(script[number - 1]), latency
    edge = 0.0
    for fault, rate in (
        ("reset", faults.get("reset_rate", 0)),
        ("error", faults.get("error_rate", 0)),
        ("hang", faults.get("hang_rate", 0)),
        ("drip", faults.get("drip_rate", 0)),
    ):
        edge += float(rate or 0)
        if draw < edge:
            return fault, latency
    return "ok", latency


@dataclass
class UpstreamCall:
    """One call an upstream received, as it saw it."""

    id: int  # across the lesson's upstreams, in order of arrival
    upstream: str
    number: int  # this upstream's call number: what its fault follows from
    arrived: float  # epoch seconds, real
    lesson_time: float  # epoch seconds, lesson clock
    method: str
    path: str
    request_id: str | None
    idempotency_key: str | None
    fault: str
    outage: bool  # the fault came from an outage window
    latency_ms: float
    in_flight: int  # calls in flight at this upstream when it arrived, itself included
    status: int = 0  # 0: no answer (reset, hang, or the caller left first)
    duration_ms: float = 0.0
    abandoned: bool = False  # the caller closed the connection before the answer was complete
    done: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["arrived"] = round(self.arrived, 3)
        data["lesson_time"] = round(self.lesson_time, 3)
        data["duration_ms"] = round(self.duration_ms, 1)
        return data


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def stats(calls: list[UpstreamCall]) -> dict[str, Any]:
    """What a set of calls shows: how many, their faults, the most in flight at once, how many the
    callers gave up on, and the retries (calls that share a request id or an idempotency key)."""
    faults: dict[str, int] = {}
    for call in calls:
        faults[call.fault] = faults.get(call.fault, 0) + 1
    attempts: dict[str, list[UpstreamCall]] = {}
    for call in calls:
        key = call.idempotency_key or call.request_id
        if key:
            attempts.setdefault(key, []).append(call)
    gaps = [
        round((b.arrived - a.arrived) * 1000, 1)
        for group in attempts.values()
        for a, b in itertools.pairwise(sorted(group, key=lambda c: c.arrived))
    ]
    done = [c.duration_ms for c in calls if c.done]
    return {
        "calls": len(calls),
        "faults": faults,
        "answered": sum(1 for c in calls if c.status),
        "abandoned": sum(1 for c in calls if c.abandoned),
        "max_in_flight": max((c.in_flight for c in calls), default=0),
        "in_outage": sum(1 for c in calls if c.outage),
        "most_attempts": max((len(g) for g in attempts.values()), default=0 if not calls else 1),
        "retried": sum(1 for g in attempts.values() if len(g) > 1),
        "retry_gaps_ms": gaps[-50:],
        "p50_ms": round(_percentile(done, 0.5), 1),
        "p99_ms": round(_percentile(done, 0.99), 1),
    }


# -- the lesson's upstreams: memory (in the snapshot) and the call log (history) --------------------
class UpstreamHub:
    """The upstreams of one lesson. `memory` is theirs in the state snapshot: each one's call count,
    switched faults, outages started by hand, and its route client's switched policy and breaker."""

    def __init__(self, settings: list[Upstream], clock: Clock, started: float, lock: threading.RLock) -> None:
        self.settings = {u.name: u for u in settings}
        self.clock = clock
        self.started = started
        self.lock = lock
        self.memory: dict[str, dict[str, Any]] = {name: self.fresh_memory() for name in self.settings}
        self.calls: dict[str, deque[UpstreamCall]] = {name: deque(maxlen=LOG_CAPACITY) for name in self.settings}
        self.in_flight: dict[str, int] = dict.fromkeys(self.settings, 0)
        self.route_in_flight: dict[str, int] = dict.fromkeys(self.settings, 0)
        self._ids = itertools.count(1)
        self._mark = 0
        self.urls: dict[str, str] = {}
        self.log: RequestLog | None = None

    @staticmethod
    def fresh_memory() -> dict[str, Any]:
        return {
            "count": 0,
            "switched": {},
            "outages": [],  # [start, end, behaviour] in lesson time, started through the control
            "client": {},  # the route client's switched policy
            "breaker": {"failures": 0, "opened_at": None, "trial": False},
            "route_calls": 0,
        }

    # -- faults in force ------------------------------------------------------------------------
    def faults(self, name: str) -> dict[str, Any]:
        upstream = self.settings[name]
        data = {key: getattr(upstream, key) for key in SWITCHES}
        data["latency"] = upstream.latency.model_dump() if upstream.latency else None
        data["script"] = list(upstream.script)
        data.update(self.memory[name]["switched"])
        return data

    def outage_at(self, name: str, now: float) -> str | None:
        """The behaviour of the outage in force at lesson time `now`, if any (the latest to start wins)."""
        windows: list[tuple[float, float, str]] = [
            (self.started + o.start, self.started + o.start + o.seconds, o.behaviour)
            for o in self.settings[name].outages
        ]
        windows += [(float(a), float(b), str(c)) for a, b, c in self.memory[name]["outages"]]
        current = [w for w in windows if w[0] <= now < w[1]]
        return max(current)[2] if current else None

    def outages(self, name: str, now: float) -> list[dict[str, Any]]:
        windows: list[tuple[float, float, str]] = [
            (self.started + o.start, self.started + o.start + o.seconds, o.behaviour)
            for o in self.settings[name].outages
        ]
        windows += [(float(a), float(b), str(c)) for a, b, c in self.memory[name]["outages"]]
        return [
            {"start": a, "end": b, "behaviour": c, "now": a <= now < b, "ends_in": round(max(b - now, 0), 3)}
            for a, b, c in windows
            if b > now
        ]

    # -- a call's life ----------------------------------------------------------------------------
    def begin(self, name: str, method: str, path: str, headers: dict[str, str]) -> UpstreamCall:
        with self.lock:
            memory = self.memory[name]
            memory["count"] += 1
            number = memory["count"]
            now = self.clock.now()
            fault, latency = plan(name, self.settings[name].seed, number, self.faults(name))
            outage = self.outage_at(name, now)
            if outage is not None:
                fault = outage
            self.in_flight[name] += 1
            call = UpstreamCall(
                id=next(self._ids),
                upstream=name,
                number=number,
                arrived=time.time(),
                lesson_time=now,
                method=method,
                path=path[:300],
                request_id=headers.get("x-request-id"),
                idempotency_key=headers.get("idempotency-key"),
                fault=fault,
                outage=outage is not None,
                latency_ms=latency,
                in_flight=self.in_flight[name],
            )
            self.calls[name].append(call)
        return call

    def end(self, call: UpstreamCall, status: int, started: float, abandoned: bool) -> None:
        with self.lock:
            self.in_flight[call.upstream] -= 1
            call.status = status
            call.duration_ms = (time.perf_counter() - started) * 1000
            call.abandoned = abandoned
            call.done = True
        log = self.log
        if log is not None:
            from sandboxes.api.logs import iso_time, level_of

            log.write(
                {
                    "time": iso_time(call.lesson_time),
                    "level": level_of(status) if not abandoned else "warn",
                    "service": call.upstream,
                    "request_id": call.request_id,
                    "method": call.method,
                    "path": call.path,
                    "status": status,
                    "duration_ms": round(call.duration_ms, 1),
                    "call": call.number,
                    "fault": call.fault,
                    "abandoned": abandoned,
                }
            )

    # -- reading ------------------------------------------------------------------------------------
    def mark(self) -> None:
        with self.lock:
            self._mark = max((c.id for calls in self.calls.values() for c in calls), default=self._mark)

    def since_mark(self, name: str) -> list[UpstreamCall]:
        with self.lock:
            return [c for c in self.calls[name] if c.id > self._mark]

    def all_calls(self, name: str) -> list[UpstreamCall]:
        with self.lock:
            return list(self.calls[name])

    def restart_numbering(self) -> None:
        """Number the calls from 1 again (a build-it check does before it starts the learner's app), so
        every check meets the same faults in the same order."""
        with self.lock:
            for memory in self.memory.values():
                memory["count"] = 0


# -- the servers -------------------------------------------------------------------------------------
class _Peer:
    """The reading side of one connection: at most one read outstanding, which may find the caller gone."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader
        self.task: asyncio.Future[bytes] | None = None

    def pending(self) -> asyncio.Future[bytes]:
        if self.task is None:
            self.task = asyncio.ensure_future(self.reader.read(65536))
        return self.task

    async def take(self) -> bytes:
        data = await self.pending()
        self.task = None
        return data

    def gone(self) -> bool:
        """The caller closed its side (the read in flight ended with nothing)."""
        task = self.task
        if task is None or not task.done():
            return False
        if task.cancelled() or task.exception() is not None:
            return True
        return task.result() == b""

    def close(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()


class UpstreamServers:
    """The lesson's upstreams, served from one asyncio loop on a daemon thread."""

    def __init__(self, hub: UpstreamHub, host: str = "127.0.0.1") -> None:
        self.hub = hub
        self.host = host
        self.ports: dict[str, int] = {}
        self._sockets: dict[str, socket.socket] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.failure: BaseException | None = None

    def start(self, timeout: float = 10.0) -> None:
        for name in self.hub.settings:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.host, 0))
                sock.listen(128)
            except OSError:
                sock.close()
                self._close_sockets()
                raise
            self._sockets[name] = sock
            self.ports[name] = sock.getsockname()[1]
            self.hub.urls[name] = f"http://{self.host}:{self.ports[name]}"
        ready = threading.Event()
        loop = asyncio.new_event_loop()
        self._loop = loop

        async def main() -> None:
            self._stopping = asyncio.Event()
            servers = []
            for name, sock in self._sockets.items():
                servers.append(await asyncio.start_server(self._handler(name), sock=sock, limit=MAX_BODY))
            ready.set()
            await self._stopping.wait()
            for server in servers:
                server.close()
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=2)

        def run() -> None:
            try:
                loop.run_until_complete(main())
            except BaseException as exc:
                self.failure = exc
            finally:
                loop.close()
                ready.set()

        self._thread = threading.Thread(target=run, name="sandbox-upstreams", daemon=True)
        self._thread.start()
        if not ready.wait(timeout) or self.failure is not None:
            self.stop()
            raise RuntimeError(f"the lesson's upstreams did not start: {self.failure or 'timed out'}")

    def _close_sockets(self) -> None:
        for sock in self._sockets.values():
            with contextlib.suppress(OSError):
                sock.close()

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(lambda: self._stopping.set() if self._stopping else None)
            thread.join(5)
        self._close_sockets()
        self._thread = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- one connection ---------------------------------------------------------------------------
    def _handler(self, name: str) -> Any:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)
            peer = _Peer(reader)
            try:
                await self._serve(name, peer, writer)
            except (asyncio.CancelledError, ConnectionError, h11.ProtocolError, OSError):
                pass
            finally:
                peer.close()
                self._tasks.discard(task)
                with contextlib.suppress(Exception):
                    writer.close()

        return handle

    async def _next_event(self, conn: h11.Connection, peer: _Peer) -> Any:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await peer.take())
                continue
            return event

    async def _serve(self, name: str, peer: _Peer, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
        while True:
            try:
                event = await self._next_event(conn, peer)
            except h11.RemoteProtocolError:
                with contextlib.suppress(Exception):
                    writer.write(conn.send(h11.Response(status_code=400, headers=[("connection", "close")])))
                    writer.write(conn.send(h11.EndOfMessage()))
                    await writer.drain()
                return
            if isinstance(event, h11.ConnectionClosed) or not isinstance(event, h11.Request):
                return
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in event.headers}
            size = 0
            while True:
                part = await self._next_event(conn, peer)
                if isinstance(part, h11.Data):
                    size += len(part.data)
                    if size > MAX_BODY:
                        return
                elif isinstance(part, h11.EndOfMessage):
                    break
                else:
                    return
            keep_open = await self._answer(name, event, headers, conn, peer, writer)
            if not keep_open or conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                return
            try:
                conn.start_next_cycle()
            except h11.LocalProtocolError:
                return

    async def _wait(self, seconds: float, peer: _Peer) -> bool:
        """Sleep `seconds` unless the caller leaves first; True when it left."""
        deadline = time.monotonic() + seconds
        while True:
            if peer.gone():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            read = peer.pending()
            if read.done():  # the caller sent more (a pipelined request): it is still there
                await asyncio.sleep(left)
                return False
            await asyncio.wait({read}, timeout=left)

    async def _answer(
        self,
        name: str,
        request: h11.Request,
        headers: dict[str, str],
        conn: h11.Connection,
        peer: _Peer,
        writer: asyncio.StreamWriter,
    ) -> bool:
        hub = self.hub
        method = request.method.decode("ascii", "replace")
        target = request.target.decode("latin-1")
        path = target.split("?", 1)[0]
        call = hub.begin(name, method, target, headers)
        started = time.perf_counter()
        status = 0
        abandoned = False
        try:
            if await self._wait(call.latency_ms / 1000, peer):
                abandoned = True
                return False
            fault = call.fault
            if fault == "reset":
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return False
            if fault == "hang":
                abandoned = await self._wait(HANG_LIMIT, peer)
                return False
            faults = hub.faults(name)
            settings = hub.settings[name]
            extra: list[tuple[str, str]] = [("x-upstream-call", str(call.number))]
            if call.request_id:
                extra.append(("x-request-id", call.request_id))
            if fault == "error":
                status = int(faults.get("error_status") or 503)
                payload: dict[str, Any] = {
                    "type": "about:blank",
                    "title": _phrase(status),
                    "status": status,
                    "detail": f"{name} is failing on purpose (call {call.number}"
                    + (", an outage)" if call.outage else ")"),
                }
                media = "application/problem+json"
                if faults.get("retry_after") is not None:
                    extra.append(("retry-after", str(int(faults["retry_after"]))))
            else:
                status = 200
                payload = {"service": name, "call": call.number, "path": path, **settings.body}
                media = "application/json"
            body = json.dumps(payload, separators=(",", ":")).encode()
            head = h11.Response(
                status_code=status,
                headers=[("content-type", media), ("content-length", str(len(body))), *extra],
            )
            writer.write(conn.send(head))
            if fault == "drip":
                rate = max(1, int(settings.drip_bytes_per_second))
                step = max(1, rate // 20)
                for offset in range(0, len(body), step):
                    writer.write(conn.send(h11.Data(data=body[offset : offset + step])))
                    await writer.drain()
                    if await self._wait(step / rate, peer):
                        abandoned = True
                        return False
            else:
                writer.write(conn.send(h11.Data(data=body)))
            writer.write(conn.send(h11.EndOfMessage()))
            await writer.drain()
            return True
        except (ConnectionError, OSError):
            abandoned = True
            return False
        finally:
            hub.end(call, status, started, abandoned)


def _phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
