"""The traffic recorder: a pure ASGI middleware around the whole sandbox app, and its bounded log.

It sits outside everything else (error handlers included), so it sees every response the client
got, 500s too; middleware added with `add_middleware` does not. It reads the request body up front
(capped: a bigger body is answered 413 here) and replays it to the app, so a body the handler never
read is still recorded.

Each exchange carries a `trace`: the ordered events inside the request, with timings. The sandbox
adds a few (received, rate limit, auth, cache, response); the request-flow issue adds SQL
statements through the same `Trace.add`/`Trace.span` calls. Handlers reach the trace through
`trace_of(scope)`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

Source = Literal["workbench", "outside", "tutor"]
SOURCE_HEADER = b"x-backend-tutor-client"
REF_HEADER = b"x-backend-tutor-ref"
"""Request headers the tutor's own clients add; recorded as `source`/`ref` then removed from the request."""

REQUEST_ID_HEADER = b"x-request-id"
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(value: bytes) -> str | None:
    """A client's request id as it is, when it is 1 to 128 of `A-Z a-z 0-9 . _ : -`; else None, and the
    sandbox makes its own: an id with spaces, quotes or a line break could forge a line of the log."""
    return value.decode("ascii") if _REQUEST_ID.fullmatch(value) else None


TRACE_KEY = "backend_tutor.trace"
MAX_REQUEST_BODY = 1024 * 1024
"""Bigger request bodies are refused with 413 before the app sees them."""
BODY_CAP = 64 * 1024
"""How much of each body the log keeps."""
MAX_TRACE_EVENTS = 500
ALWAYS_KEPT = frozenset({"response", "error", "truncated"})


@dataclass(frozen=True)
class TraceEvent:
    """One step inside a request. `at_ms`: since the request arrived; `duration_ms`: for spans."""

    at_ms: float
    kind: str  # received | rate_limit | auth | cache | sql | handler | response | error ...
    label: str
    duration_ms: float | None = None
    data: dict[str, Any] = field(default_factory=dict)


class Trace:
    """The events of one request, in order. Bounded; appending is cheap and thread-safe enough
    (list.append under the GIL), since a handler's thread-pool work adds events too."""

    __slots__ = ("dropped", "dropped_kinds", "events", "start")

    def __init__(self, start: float) -> None:
        self.start = start
        self.events: list[TraceEvent] = []
        self.dropped = 0
        self.dropped_kinds: dict[str, int] = {}

    def add(self, kind: str, label: str, duration_ms: float | None = None, **data: Any) -> None:
        # Past the bound, only the events that close a request (response, error) are still kept;
        # what was dropped is counted by kind, and said in a final `truncated` event.
        if len(self.events) >= MAX_TRACE_EVENTS and kind not in ALWAYS_KEPT:
            self.dropped += 1
            self.dropped_kinds[kind] = self.dropped_kinds.get(kind, 0) + 1
            return
        at = (time.perf_counter() - self.start) * 1000 - (duration_ms or 0.0)
        self.events.append(TraceEvent(round(max(at, 0.0), 3), kind, label, duration_ms, data))

    @contextmanager
    def span(self, kind: str, label: str, **data: Any) -> Iterator[dict[str, Any]]:
        """Time a block; the yielded dict may be filled with more data before the block ends."""
        begin = time.perf_counter()
        try:
            yield data
        finally:
            self.add(kind, label, round((time.perf_counter() - begin) * 1000, 3), **data)


def trace_of(scope: Scope) -> Trace | None:
    trace = scope.get(TRACE_KEY)
    return trace if isinstance(trace, Trace) else None


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    name = name.lower()
    for key, value in headers:
        if key == name:
            return value
    return None


def moves_sandbox(method: str, path: str) -> bool:
    """A request to the sandbox's own controls that changes it (`POST /_sandbox/clock`, `PUT
    /_sandbox/caching`, a weak mode switched), not a look at them and not a write of the lesson's data."""
    return path.startswith("/_sandbox/") and method.upper() not in {"GET", "HEAD", "OPTIONS"}


@dataclass
class Exchange:
    """One request and its response, as the sandbox saw them."""

    id: int
    time: float  # epoch seconds when the request arrived
    source: Source
    method: str
    path: str
    query: str  # the raw query string, without '?'
    request_headers: list[tuple[str, str]]  # lower-case names, in order
    request_body: bytes
    status: int = 0
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes = b""
    duration_ms: float = 0.0
    request_body_truncated: bool = False
    response_body_truncated: bool = False
    request_body_size: int = 0
    response_body_size: int = 0
    error: str | None = None  # an exception the app raised (the client got a 500)
    ref: str | None = None  # the tutor client's own id for this request
    trace: list[TraceEvent] = field(default_factory=list)
    lesson_time: float = 0.0  # the lesson clock when the request arrived (epoch seconds, lesson time)
    caller: str = ""  # who called, as a rate limit sees callers: `caller_key`
    request_id: str | None = None  # X-Request-Id, the client's or one the sandbox made (lessons with `logs`)

    # -- reading helpers used by checks and views -------------------------------------------------
    @property
    def target(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")

    @property
    def query_params(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)

    def query_value(self, name: str) -> str | None:
        for key, value in self.query_params:
            if key == name:
                return value
        return None

    def request_header(self, name: str) -> str | None:
        return _header(self.request_headers, name)

    def header(self, name: str) -> str | None:
        """A response header."""
        return _header(self.response_headers, name)

    def headers_all(self, name: str) -> list[str]:
        """Every value of a response header that may come more than once (Set-Cookie)."""
        name = name.lower()
        return [value for key, value in self.response_headers if key == name]

    def _json(self, body: bytes) -> Any:
        if not body:
            return None
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            return None

    def request_json(self) -> Any:
        return self._json(self.request_body)

    def json(self) -> Any:
        """The response body parsed as JSON, or None."""
        return self._json(self.response_body)

    def text(self) -> str:
        return self.response_body.decode("utf-8", "replace")

    def summary(self) -> str:
        return f"{self.method} {self.target} -> {self.status} ({self.duration_ms:.1f} ms)"


Listener = Callable[[Exchange], None]


class TrafficRecorder:
    """A bounded, thread-safe log of exchanges. The server thread appends; checks and views read."""

    def __init__(self, capacity: int = 2000) -> None:
        self._log: deque[Exchange] = deque(maxlen=capacity)
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._mark = 0  # exchanges with id > mark count as evidence
        self._listeners: list[Listener] = []
        self.log_path: Any = None
        """The request log's file (`sandboxes.api.logs`) when the lesson has `logs`: what the flow view reads."""

    def next_id(self) -> int:
        return next(self._ids)

    def append(self, exchange: Exchange) -> None:
        with self._cond:
            self._log.append(exchange)
            self._cond.notify_all()
        for listener in list(self._listeners):
            try:
                listener(exchange)
            except Exception:  # noqa: S112 - a broken view must not break the server
                continue

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` (from the server thread) for every new exchange; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def mark(self) -> None:
        with self._cond:
            # The highest id, not the last logged: concurrent requests finish out of order.
            self._mark = max((e.id for e in self._log), default=self._mark)

    @property
    def last_id(self) -> int:
        with self._cond:
            return self._log[-1].id if self._log else 0

    def all(self) -> list[Exchange]:
        with self._cond:
            return list(self._log)

    def since(self, after_id: int) -> list[Exchange]:
        with self._cond:
            return [e for e in self._log if e.id > after_id]

    def since_mark(self) -> list[Exchange]:
        return self.since(self._mark)

    def clear(self) -> None:
        with self._cond:
            self._log.clear()

    def wait_for_ref(self, ref: str, timeout: float = 5.0) -> Exchange | None:
        """The exchange the tutor's client sent with `ref` (the log is written just after the
        response's last byte, so a client may see the response a moment before the log does)."""

        def find() -> Exchange | None:
            for exchange in reversed(self._log):
                if exchange.ref == ref:
                    return exchange
            return None

        with self._cond:
            found = find()
            deadline = time.monotonic() + timeout
            while found is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
                found = find()
            return found


def caller_key(headers: list[tuple[bytes, bytes]], client: tuple[str, int] | None) -> str:
    """Who is calling, as the API tells callers apart: by their credentials (the Authorization header),
    or with none by their address. The tool they used (curl, the workbench, the load tool) does not
    matter: a rate limit belongs to the caller, not to the client program."""
    for key, value in headers:
        if key == b"authorization" and value.strip():
            return "credentials " + hashlib.sha256(value.strip()).hexdigest()[:16]
    return f"address {client[0] if client else '?'}"


def _problem(status: int, title: str, detail: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    return [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())], body


class RecorderMiddleware:
    """Wrap the whole app: record every HTTP exchange into `recorder`."""

    def __init__(
        self,
        app: ASGIApp,
        recorder: TrafficRecorder,
        *,
        max_body: int = MAX_REQUEST_BODY,
        tracing: bool = True,
        clock: Callable[[], float] | None = None,
        request_ids: bool = False,
    ) -> None:
        self.app = app
        self.request_ids = request_ids
        """Honour a client's `X-Request-Id` (a new one when absent or unfit), pass it to the app and return it."""
        self.recorder = recorder
        self.max_body = max_body
        self.clock = clock or time.time
        """The lesson clock: each exchange records when it arrived in lesson time (waits are judged by it)."""
        self.tracing = tracing
        """Off: no trace in the scope, so handlers record nothing (what `benchmarks/api_tracing.py` compares)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        arrived = time.time()
        source: Source = "outside"
        ref: str | None = None
        request_id: str | None = None
        kept: list[tuple[bytes, bytes]] = []
        for key, value in scope["headers"]:
            if key == SOURCE_HEADER:
                text = value.decode("latin-1").strip().lower()
                source = "workbench" if text == "workbench" else "tutor" if text == "tutor" else "outside"
            elif key == REF_HEADER:
                ref = value.decode("latin-1")
            else:
                if key == REQUEST_ID_HEADER and self.request_ids and request_id is None:
                    request_id = accepted_request_id(value)
                kept.append((key, value))
        scope["headers"] = kept
        if self.request_ids:
            # The app sees one id, the client's when fit, else ours; the exchange records what the client sent.
            if request_id is None:
                request_id = new_request_id()
            scope["headers"] = [(k, v) for k, v in kept if k != REQUEST_ID_HEADER]
            scope["headers"].append((REQUEST_ID_HEADER, request_id.encode()))
        trace = Trace(start)
        if self.tracing:
            scope[TRACE_KEY] = trace
            trace.add("received", f"{scope['method']} {scope['path']}", source=source)
        exchange = Exchange(
            id=self.recorder.next_id(),
            time=arrived,
            source=source,
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            request_headers=[(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in kept],
            request_body=b"",
            ref=ref,
            trace=trace.events,
            lesson_time=self.clock(),
            caller=caller_key(kept, scope.get("client")),
            request_id=request_id,
        )

        # Read the body up front (capped), then replay it to the app.
        chunks: list[bytes] = []
        size = 0
        too_big = False
        declared = exchange.request_header("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            too_big = True
        else:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_body:
                    too_big = True
                    break
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
        body = b"".join(chunks)
        exchange.request_body_size = size
        exchange.request_body = body[:BODY_CAP]
        exchange.request_body_truncated = len(body) > BODY_CAP

        response_chunks: list[bytes] = []
        kept_size = 0
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started, kept_size
            if message["type"] == "http.response.start":
                started = True
                if request_id is not None:
                    message["headers"] = [
                        *(h for h in message.get("headers", []) if h[0].lower() != REQUEST_ID_HEADER),
                        (REQUEST_ID_HEADER, request_id.encode()),
                    ]
                exchange.status = message["status"]
                exchange.response_headers = [
                    (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in message.get("headers", [])
                ]
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                exchange.response_body_size += len(chunk)
                if kept_size < BODY_CAP:
                    response_chunks.append(chunk[: BODY_CAP - kept_size])
                    kept_size += len(response_chunks[-1])
            await send(message)

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        try:
            if too_big:
                headers, payload = _problem(
                    413, "Content Too Large", f"request bodies are limited to {self.max_body} bytes"
                )
                await send_wrapper({"type": "http.response.start", "status": 413, "headers": headers})
                await send_wrapper({"type": "http.response.body", "body": payload})
            else:
                await self.app(scope, replay, send_wrapper)
        except Exception as exc:
            exchange.error = f"{type(exc).__name__}: {exc}"
            trace.add("error", exchange.error)
            if not started:
                headers, payload = _problem(500, "Internal Server Error", "the sandbox failed on this request")
                try:
                    await send_wrapper({"type": "http.response.start", "status": 500, "headers": headers})
                    await send_wrapper({"type": "http.response.body", "body": payload})
                except Exception:  # noqa: S110 - the client went away; the log still gets the entry
                    pass
            elif exchange.status < 500:
                exchange.status = 500
        finally:
            exchange.duration_ms = round((time.perf_counter() - start) * 1000, 3)
            exchange.response_body = b"".join(response_chunks)
            exchange.response_body_truncated = exchange.response_body_size > len(exchange.response_body)
            if self.tracing:
                trace.add("response", str(exchange.status), status=exchange.status, bytes=exchange.response_body_size)
                if trace.dropped:
                    trace.add("truncated", f"{trace.dropped} more events not kept", dropped=dict(trace.dropped_kinds))
            else:
                trace.events.clear()
            self.recorder.append(exchange)
