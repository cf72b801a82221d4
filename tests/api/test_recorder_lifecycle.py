"""The traffic recorder (500s, unread bodies, sources, traces) and the server's start and stop."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import httpx
import pytest

from sandboxes.api.recorder import Receive, RecorderMiddleware, Scope, Send, TrafficRecorder, trace_of
from sandboxes.api.sandbox import ApiSandbox, SandboxStartError
from sandboxes.api.server import ThreadedServer
from tests.api.helpers import make_db, settings
from tutor.pack.actions import HttpRequest


async def tricky_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Crashes on /boom, crashes mid-response on /half, never reads the body elsewhere."""
    trace = trace_of(scope)
    assert trace is not None
    trace.add("handler", "tricky")
    if scope["path"] == "/boom":
        raise RuntimeError("kaboom")
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    if scope["path"] == "/half":
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        raise RuntimeError("died halfway")
    await send({"type": "http.response.body", "body": b"ok"})


def test_recorder_sees_500s_unread_bodies_and_sources() -> None:
    recorder = TrafficRecorder()
    server = ThreadedServer(RecorderMiddleware(tricky_app, recorder))
    server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        with httpx.Client(base_url=base, trust_env=False) as c:
            boom = c.post("/boom", json={"a": 1})
            assert boom.status_code == 500 and boom.headers["content-type"] == "application/problem+json"
            c.post("/unread?x=1", content=b"never read by the app", headers={"X-Backend-Tutor-Client": "workbench"})
            c.get("/plain", headers={"X-Backend-Tutor-Client": "tutor", "X-Other": "kept"})
            with pytest.raises(httpx.HTTPError):
                c.get("/half")
        log = recorder.all()
        assert [e.status for e in log] == [500, 200, 200, 500]
        crashed, unread, plain, half = log
        assert crashed.error == "RuntimeError: kaboom" and crashed.request_json() == {"a": 1}
        assert crashed.source == "outside"
        assert unread.request_body == b"never read by the app" and unread.source == "workbench"
        assert unread.query_value("x") == "1" and unread.response_body == b"ok"
        assert plain.source == "tutor"
        assert plain.request_header("x-backend-tutor-client") is None  # stripped
        assert plain.request_header("x-other") == "kept"
        assert half.error == "RuntimeError: died halfway" and half.response_body == b"part"
        kinds = [event.kind for event in crashed.trace]
        assert kinds == ["received", "handler", "error", "response"]
        assert all(a.at_ms <= b.at_ms for a, b in zip(crashed.trace, crashed.trace[1:], strict=False))
    finally:
        server.stop()


def test_log_is_bounded_and_mark_counts_from_now(tmp_path: Path) -> None:
    from sandboxes.api.recorder import Exchange

    recorder = TrafficRecorder(capacity=5)

    for i in range(8):
        recorder.append(Exchange(recorder.next_id(), 0.0, "outside", "GET", f"/{i}", "", [], b""))
    assert [e.path for e in recorder.all()] == ["/3", "/4", "/5", "/6", "/7"]
    recorder.mark()
    recorder.append(Exchange(recorder.next_id(), 0.0, "outside", "GET", "/new", "", [], b""))
    assert [e.path for e in recorder.since_mark()] == ["/new"]


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate()}


def test_start_stop_leaves_no_thread_or_socket(tmp_path: Path) -> None:
    db = make_db(tmp_path / "l.db", books=2)
    before = _threads()
    api = ApiSandbox.start(settings(), database=db)
    port = api.port
    assert api.base_url == f"http://127.0.0.1:{port}"
    exchange = api.send_as_learner(HttpRequest(method="GET", path="/v1/books", query={"limit": 1}))
    assert exchange.status == 200 and exchange.source == "outside" and exchange.query == "limit=1"
    assert "sandbox-api" in _threads()
    api.stop()
    assert not api.alive
    assert "sandbox-api" not in _threads()
    assert _threads() <= before | {t for t in _threads() if t.startswith("AnyIO")}  # worker pool may linger idle
    with socket.socket() as probe:  # the port is free again
        probe.bind(("127.0.0.1", port))
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health", trust_env=False, timeout=1)


def test_start_failures_are_clear() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(SandboxStartError, match="already in use"):
            ApiSandbox.start(settings(), database=None, port=port)
    with pytest.raises(SandboxStartError, match="loopback"):
        ApiSandbox.start(settings(), database=None, host="0.0.0.0")
    with pytest.raises(SandboxStartError, match=r"127\.0\.0\.1"):
        ApiSandbox.start(settings(), database=None, host="example.com")


def test_many_starts_and_stops_do_not_leak() -> None:
    before = threading.active_count()
    for _ in range(5):
        ApiSandbox.start(settings(), database=None).stop()
    assert threading.active_count() <= before + 1


def test_keep_alive_requests_are_not_delayed_by_nagle() -> None:
    """Responses go out in two writes; without TCP_NODELAY each keep-alive request waits ~40 ms."""
    import statistics
    import time

    api = ApiSandbox.start(settings(), database=None)
    try:
        with httpx.Client(base_url=api.base_url, trust_env=False) as c:
            c.get("/health")
            times = []
            for _ in range(10):
                begin = time.perf_counter()
                c.get("/health")
                times.append(time.perf_counter() - begin)
        assert statistics.median(times) < 0.02
    finally:
        api.stop()
