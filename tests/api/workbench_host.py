"""A tiny host app for the request workbench, and a stand-in API with a fixed address for snapshots."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from textual.app import App, ComposeResult
from textual.message import Message

from sandboxes.api.recorder import Exchange, TrafficRecorder
from tutor.app.widgets.request_workbench import RequestWorkbench


class FakeApi:
    """What the workbench reads from `session.api`, at a fixed address (snapshots must not change)."""

    base_url = "http://127.0.0.1:8765"
    weak_auth_modes: list[str] = []

    def __init__(self) -> None:
        self.recorder = TrafficRecorder()
        samples = [
            ("outside", "GET", "/v1/books", "limit=5", 200, 3.2, [("x-cache", "MISS")]),
            ("workbench", "GET", "/v1/books/1", "", 200, 1.1, [("x-cache", "HIT"), ("etag", '"abc"')]),
            ("outside", "POST", "/v1/books", "", 422, 2.4, []),
            ("workbench", "DELETE", "/v1/books/7", "", 401, 0.8, []),
        ]
        for i, (source, method, path, query, status, ms, headers) in enumerate(samples):
            exchange = Exchange(self.recorder.next_id(), 1_700_000_000 + i, source, method, path, query, [], b"")  # type: ignore[arg-type]
            exchange.status, exchange.duration_ms, exchange.response_headers = status, ms, headers
            self.recorder.append(exchange)

    def curl_example(self) -> str:
        return f"curl -i {self.base_url}/v1/books"


class FakeSession:
    """What the workbench reads from a session: its API, and the tutor's home and lesson (for the
    request history kept per lesson) when `home` is given."""

    def __init__(self, api: Any, home: Path | None = None, lesson_id: str = "workbench-test") -> None:
        self.api = api
        self.home = SimpleNamespace(sessions=home / "sessions") if home is not None else None
        self.lesson = SimpleNamespace(id=lesson_id)


class WorkbenchHost(App[None]):
    def __init__(self, session: Any) -> None:
        super().__init__()
        self.session = session
        self.messages: list[Message] = []

    def compose(self) -> ComposeResult:
        yield RequestWorkbench(self.session)

    def on_workbench_acted(self, message: Message) -> None:
        self.messages.append(message)
