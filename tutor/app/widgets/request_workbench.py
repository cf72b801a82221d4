"""The request workbench: compose a request to the lesson's sandbox API (or paste a whole curl command),
send it with one key, read and search the response; the lesson's request history (kept on disk,
searchable, replayable, two responses side by side), requests kept by name, copy as curl, the live
traffic view and a small load tool.

Mounted by the lesson screen as `RequestWorkbench(session)` as soon as the lesson opens (`session` is None
while the API starts: the URL box takes text at once and Send waits for the API); `attach(session)` once
it runs. It uses `session.api` (base_url, recorder, curl_example(), weak_auth_modes) and the lesson's
folder in the tutor's home for the history. Request building, curl and responses live in tutor/http.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Input, OptionList, Select, Static, TabbedContent, TabPane, TextArea

from tutor.app.keys import focus_now, when_typed
from tutor.app.widgets.load_tool import LoadTool
from tutor.app.widgets.response_view import ResponseView
from tutor.app.widgets.traffic_view import TrafficView
from tutor.http.curl import CurlError, looks_like_curl, parse_curl, to_curl
from tutor.http.history import HistoryEntry, RequestHistory, SavedRequests
from tutor.http.request import (
    METHODS,
    SOURCE_HEADER,
    RequestSpec,
    format_headers,
    parse_headers,
    relative_url,
)
from tutor.http.response import ResponseRecord
from tutor.keymap import keys


class UrlInput(Input):
    """The URL box. A pasted curl command (one line or several) becomes that request instead of text in
    the box: Textual's Input keeps only a paste's first line, which cut a multi-line curl in half."""

    @dataclass
    class CurlPasted(Message):
        text: str

    def _on_paste(self, event: events.Paste) -> None:
        if looks_like_curl(event.text):
            event.stop()
            event.prevent_default()
            self.post_message(self.CurlPasted(event.text))
            return
        super()._on_paste(event)


def split_method(line: str) -> tuple[str | None, str]:
    """'POST /v1/books' -> ('POST', '/v1/books'): a request line typed in the URL box sets the method."""
    word, _, rest = line.strip().partition(" ")
    if word.upper() in METHODS and rest.strip():
        return word.upper(), rest.strip()
    return None, line


class RequestWorkbench(Vertical):
    """Send requests to the lesson's sandbox API and see exactly what comes back."""

    DEFAULT_CSS = """
    RequestWorkbench { height: 1fr; }
    RequestWorkbench #rw-base, RequestWorkbench #rw-curl { text-wrap: nowrap; text-overflow: ellipsis; }
    RequestWorkbench #rw-base { height: 1; padding: 0 1; color: $text-muted; }
    RequestWorkbench #rw-weak { height: auto; padding: 0 1; color: $warning; text-style: bold; }
    RequestWorkbench #rw-line { height: 1; margin: 0 1 0 0; }
    RequestWorkbench #rw-method { width: 12; }
    RequestWorkbench #rw-url { width: 1fr; }
    RequestWorkbench #rw-url:focus { text-style: bold; }
    RequestWorkbench #rw-send { min-width: 8; }
    RequestWorkbench TabbedContent { height: 1fr; }
    RequestWorkbench #rw-headers { height: 1fr; min-height: 1; max-height: 4; border-bottom: hkey $foreground 20%; }
    RequestWorkbench #rw-body { height: 2fr; min-height: 1; }
    RequestWorkbench TextArea:focus { background: $boost; }
    RequestWorkbench #rw-status { height: auto; padding: 0 1; text-style: bold; }
    RequestWorkbench #rw-response { height: 1fr; }
    RequestWorkbench #rw-history-search, RequestWorkbench #rw-history-note { height: 1; }
    RequestWorkbench #rw-history-note { color: $text-muted; padding: 0 1; }
    RequestWorkbench #rw-curl { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        # F5-F8 belong to the lesson (check, hint, solution, next); Ctrl+Enter reaches most terminals as Ctrl+J
        # priority: taken when the key arrives, in order with the keys around it (see keys.when_typed)
        Binding(keys("workbench.send"), "send", "Send", id="workbench.send", priority=True, tooltip="Send the request"),
        Binding(
            keys("workbench.copy_curl"),
            "copy_curl",
            "Copy as curl",
            id="workbench.copy_curl",
            show=False,
            tooltip="Copy this request as a curl command (with the cookies the workbench sends)",
        ),
        Binding(
            keys("workbench.save"),
            "save_request",
            "Keep request",
            id="workbench.save",
            show=False,
            priority=True,
            tooltip="Keep this request under a name (Saved tab)",
        ),
        Binding(
            keys("workbench.use_token"),
            "use_token",
            "Use token",
            id="workbench.use_token",
            show=False,
            priority=True,
            tooltip="Put the last response's access token in an Authorization: Bearer header",
        ),
        Binding(
            keys("workbench.clear"),
            "clear",
            "Clear",
            id="workbench.clear",
            show=False,
            priority=True,
            tooltip="Clear the request",
        ),
        Binding(
            keys("workbench.load"),
            "run_load",
            "Load test",
            id="workbench.load",
            show=False,
            tooltip="Run the load tool on this request",
        ),
        Binding("tab", "next_field(1)", "Next field", show=False, priority=True, id="workbench.next_field"),
        Binding(
            "shift+tab", "next_field(-1)", "Previous field", show=False, priority=True, id="workbench.previous_field"
        ),
        Binding(
            keys("workbench.clock"),
            "advance_clock",
            "Clock +60 s",
            id="workbench.clock",
            show=False,
            tooltip="Move the sandbox's lesson clock 60 s forward (POST /_sandbox/clock)",
        ),
    ]
    # Tab and Shift+Tab between the URL, the headers and the body are priority bindings: the keys typed
    # right after them (a burst, a paste, tmux send-keys) already go where the focus went.
    _ORDER = ("rw-url", "rw-headers", "rw-body")

    def action_next_field(self, step: int) -> None:
        focused = self.app.focused
        here = self._ORDER.index(focused.id) if focused is not None and focused.id in self._ORDER else 0
        self.query_one("#rw-tabs", TabbedContent).active = "rw-tab-request"
        focus_now(self.query_one(f"#{self._ORDER[here + step]}"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next_field":  # only inside the request; elsewhere Tab moves on as usual
            focused = self.app.focused
            if focused is None or focused.id not in self._ORDER:
                return False
            position = self._ORDER.index(focused.id) + int(str(parameters[0]))
            return 0 <= position < len(self._ORDER)
        return True

    HELP: ClassVar[str] = """\
## Request workbench
Type a path relative to the sandbox (`/v1/books?limit=5`), or a request line (`POST /v1/books`) to set the
method too, or paste a whole curl command: it becomes that request (method, headers, body, cookies).
Add headers as `Name: value` lines and a JSON body (**Tab** from the URL goes to the headers, then the
body), then **{workbench.send}** to send. The response shows the round trip (what this screen waited)
and the server's own time (its `Server-Timing` header); **{workbench.search}** searches it.
- **{focus_workbench}** the URL box · **{focus_result}** the response · **{next_tab}** next tab (Request, Response,
  History, Saved, Traffic, Load), focused
- **{workbench.copy_curl}** copies the request as a curl command, with the cookies the workbench sends
- **{workbench.save}** keeps the request under a name (Saved tab: **Enter** loads it)
- History: every request of this lesson, kept between runs. Type to filter; **Enter** loads one,
  **r** sends it again, **d** on two of them shows their responses side by side
- **{workbench.use_token}** puts the last response's `access_token` into an `Authorization: Bearer` header
- **{workbench.clear}** clears the request; **{workbench.load}** runs the load tool on it
- **{workbench.clock}** moves the sandbox's lesson clock 60 s forward (tokens expire, cached answers age,
  rate limits refill) by sending `POST /_sandbox/clock` with `{"advance": 60}`
- Traffic: every request the sandbox received, yours and your terminal's (**↑/↓**, **Enter** opens
  its flow). Load: the request many times, with a latency chart, p50/p95/p99 and the cache hit ratio.
"""

    @dataclass
    class ResponseReceived(Message):
        """A request the learner sent was answered (or failed: `record` None, `error` says why)."""

        workbench: RequestWorkbench
        spec: RequestSpec
        record: ResponseRecord | None
        error: str | None = None

    def __init__(self, session: Any = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.last_response: Any = None
        self.last_record: ResponseRecord | None = None
        self.history: RequestHistory | None = None
        self.saved: SavedRequests | None = None
        self.entries: list[HistoryEntry] = []  # the history list as shown (newest first, filtered)
        self.marked: HistoryEntry | None = None  # the first response picked for a side-by-side diff
        self._client: Any = None  # one keep-alive client: a fresh one per request measured its own setup
        self._pending: RequestSpec | None = None  # sent before the API was up
        self._saved_names: list[str] = []
        self._send_lock: Any = None  # asyncio.Lock, made in the worker's loop: one request at a time, in order

    @property
    def api(self) -> Any:
        return getattr(self.session, "api", None)

    @property
    def base_url(self) -> str:
        return str(getattr(self.api, "base_url", ""))

    def compose(self) -> ComposeResult:
        yield Static(self._base_text(), id="rw-base")
        yield Static("", id="rw-weak")
        with Horizontal(id="rw-line"):
            yield Select([(m, m) for m in METHODS], value="GET", allow_blank=False, id="rw-method", compact=True)
            yield UrlInput(placeholder="a path, e.g. /v1/books, or paste a curl command", id="rw-url", compact=True)
            send = Button("Send", id="rw-send", variant="primary", compact=True)
            send.can_focus = False  # Enter or Ctrl+R send; Tab goes from the URL straight to the headers
            yield send
        with TabbedContent(id="rw-tabs"):
            with TabPane("Request", id="rw-tab-request"):
                yield TextArea(
                    "",
                    id="rw-headers",
                    show_line_numbers=False,
                    soft_wrap=False,
                    placeholder="Headers, one per line:  Authorization: Bearer ...",
                    compact=True,
                    tab_behavior="focus",
                )
                yield TextArea(
                    "",
                    id="rw-body",
                    show_line_numbers=False,
                    placeholder='JSON body, e.g. {"title": "Dune"}',
                    compact=True,
                    tab_behavior="focus",
                )
            with TabPane("Response", id="rw-tab-response"):
                yield Static("Nothing sent yet.", id="rw-status")
                yield ResponseView(id="rw-response")
            with TabPane("History", id="rw-tab-history"):
                yield Input(
                    placeholder="filter: any text in a request or its response", id="rw-history-search", compact=True
                )
                yield Static(
                    "Enter loads · r sends again · d on two: their responses side by side", id="rw-history-note"
                )
                yield OptionList(id="rw-history")
            with TabPane("Saved", id="rw-tab-saved"):
                yield OptionList(id="rw-saved")
            with TabPane("Traffic", id="rw-tab-traffic"):
                yield TrafficView(getattr(self.api, "recorder", None), id="rw-traffic")
            with TabPane("Load", id="rw-tab-load"):
                yield LoadTool(self.base_url, self._request_for_load, id="rw-load")
        yield Static("", id="rw-curl")

    def on_mount(self) -> None:
        self.query_one("#rw-tabs", TabbedContent).query_one("Tabs").can_focus = False  # Ctrl+N moves between tabs
        self.query_one("#rw-weak").display = False
        if self.session is not None:
            self.attach(self.session)

    def _base_text(self) -> str:
        if self.api is None:
            return "The lesson's API is starting: type your request now; Send waits for it."
        example = self.api.curl_example() if hasattr(self.api, "curl_example") else f"curl -i {self.base_url}/"
        return f"API {self.base_url}   try: {example}   docs: {self.base_url}/docs"

    def _show_weak(self) -> None:
        """The deliberately weak auth modes on now (a lesson switches them with POST /_sandbox/auth)."""
        weak = list(getattr(self.api, "weak_auth_modes", []) or []) if self.api is not None else []
        weak_line = self.query_one("#rw-weak", Static)
        weak_line.display = bool(weak)
        weak_line.update(f"Deliberately weak auth in this lesson: {', '.join(weak)}" if weak else "")

    def on_traffic_view_sandbox_changed(self) -> None:
        self._show_weak()

    def attach(self, session: Any) -> None:
        """The API runs: its address, its traffic, this lesson's history; a request sent meanwhile goes now."""
        self.session = session
        client = self._client
        if client is not None and str(client.base_url).rstrip("/") != self.base_url:
            self._client = None  # the API came back on another port: a new client for it
            self.run_worker(client.aclose(), group="http-close", exit_on_error=False)
        self.query_one("#rw-base", Static).update(self._base_text())
        self._show_weak()
        traffic = self.query_one("#rw-traffic", TrafficView)
        traffic.recorder = getattr(self.api, "recorder", None)
        traffic.refresh_traffic()
        self.query_one("#rw-load", LoadTool).base_url = self.base_url
        folder = self._folder()
        if folder is not None:
            self.history, self.saved = RequestHistory(folder), SavedRequests(folder)
            self._show_history()
            self._show_saved()
        if self._pending is not None:
            spec, self._pending = self._pending, None
            self._send(spec)

    def _folder(self) -> Path | None:
        home, lesson = getattr(self.session, "home", None), getattr(self.session, "lesson", None)
        if home is None or lesson is None:
            return None
        return Path(home.sessions) / lesson.id

    # -- where the learner types and reads (the lesson screen's focus keys) ------------------------
    def place_of(self, widget: Widget) -> str | None:
        if widget.id in ("rw-url", "rw-method") or self.query_one("#rw-tab-request") in widget.ancestors_with_self:
            return "editor"
        if self.query_one("#rw-tab-response") in widget.ancestors_with_self:
            return "result"
        return None

    def focus_result(self) -> None:
        self.query_one("#rw-tabs", TabbedContent).active = "rw-tab-response"
        focus_now(self.query_one("#rw-response", ResponseView).area)

    def on_key(self, event: events.Key) -> None:
        focused = self.app.focused
        if event.key in ("r", "d") and focused is self.query_one("#rw-history"):
            entry = self._highlighted_entry()
            if entry is None:
                return
            event.stop()
            event.prevent_default()
            if event.key == "r":  # replay
                self.load_request(entry.request)
                self._send(entry.request)
            else:
                self.diff_with(entry)

    # -- reading the editor ----------------------------------------------------------------------
    def current_request(self, typed: dict[str, str] | None = None) -> RequestSpec:
        """The request in the editor; `typed`: the fields as they were when a key asked for them."""
        fields = typed if typed is not None else self._read_fields()
        method = str(self.query_one("#rw-method", Select).value)
        typed_method, line = split_method(fields["url"])
        url = relative_url(line.removeprefix("curl "), self.base_url)
        headers, _ = parse_headers(fields["headers"])
        return RequestSpec(typed_method or method, url, headers, fields["body"])

    def _read_fields(self) -> dict[str, str]:
        return {name: self._field_text(name, widget) for name, widget in self._field_widgets().items()}

    @staticmethod
    def _field_text(name: str, widget: Widget) -> str:
        return widget.value if isinstance(widget, Input) else widget.text  # type: ignore[attr-defined]

    def _field_widgets(self) -> dict[str, Widget]:
        return {
            "url": self.query_one("#rw-url"),
            "headers": self.query_one("#rw-headers"),
            "body": self.query_one("#rw-body"),
        }

    def _when_typed(self, then: Any) -> None:
        """`then(fields)` with the URL, headers and body as typed before the key that asked (see when_typed)."""
        when_typed(self._field_widgets(), self._field_text, then)

    def load_request(self, spec: RequestSpec) -> None:
        self.query_one("#rw-method", Select).value = spec.method if spec.method in METHODS else "GET"
        self.query_one("#rw-url", Input).value = spec.url
        self.query_one("#rw-headers", TextArea).text = format_headers(spec.headers)
        self.query_one("#rw-body", TextArea).text = spec.body

    def _request_for_load(self) -> tuple[str, str, dict[str, str], bytes | None]:
        spec = self.current_request()
        self.query_one("#rw-curl", Static).update(self._curl(spec))  # the curl line says what the load run sends
        headers, body = spec.prepared()
        return spec.method, spec.url, headers, body

    def _curl(self, spec: RequestSpec) -> str:
        """The request as curl, with the cookies this workbench's client would send with it."""
        cookie = None
        if self._client is not None and self.base_url:
            cookie = self._client.build_request(spec.method, spec.url).headers.get("cookie")
        return to_curl(spec, self.base_url or "http://127.0.0.1:PORT", cookie=cookie)

    # -- a pasted or typed curl command ------------------------------------------------------------
    @on(UrlInput.CurlPasted)
    def _curl_pasted(self, event: UrlInput.CurlPasted) -> None:
        self.take_curl(event.text)

    def take_curl(self, command: str, *, announce: bool = True) -> bool:
        """Fill the editor with the request a curl command sends; say why when it cannot. `announce`: say
        what was taken and which key sends it (not when the command was typed and sent in one go: the
        status line says what is being sent, and a toast telling to send it would lie over the response)."""
        base = self.base_url or "http://127.0.0.1"
        try:
            spec = parse_curl(command, base)
        except CurlError as exc:
            self.notify(str(exc), title="curl", severity="warning", timeout=12)
            return False
        self.load_request(spec)
        parts = [spec.label()]
        if spec.headers:
            parts.append(f"{len(spec.headers)} header{'s' if len(spec.headers) != 1 else ''}")
        if spec.body:
            parts.append("a body")
        if announce:
            self.notify(f"From curl: {', '.join(parts)}. {self._send_key()} sends it.", title="curl")
        return True

    def _send_key(self) -> str:
        from tutor.app.keys import key_name

        return key_name(self, "workbench.send")

    # -- actions ---------------------------------------------------------------------------------
    @on(Button.Pressed, "#rw-send")
    @on(Input.Submitted, "#rw-url")
    def action_send(self) -> None:
        self._when_typed(self._send_typed)  # what was typed before the key, all of it and nothing after

    def _send_typed(self, fields: dict[str, str]) -> None:
        typed = fields["url"]
        if looks_like_curl(typed):
            if not self.take_curl(typed, announce=False):
                return
            fields = self._read_fields()
        if not fields["url"].strip():
            # an empty box is not "/": sending the API's index by accident taught learners nothing
            self._show_status(f"Type a path first, for example /v1/books, then {self._send_key()}.")
            self.query_one("#rw-response", ResponseView).show("", json_body=False)
            self.query_one("#rw-tabs", TabbedContent).active = "rw-tab-response"
            focus_now(self.query_one("#rw-url", Input))
            return
        _, bad = parse_headers(fields["headers"])
        if bad:
            self.notify(f"Not a header line (use 'Name: value'): {bad[0][:60]}", severity="warning")
        self._send(self.current_request(fields))

    def _send(self, spec: RequestSpec) -> None:
        if self.api is None:
            self._pending = spec
            self._show_status(f"{spec.label()} goes as soon as the lesson's API runs (it is starting).")
            return
        self._show_status(f"Sending {spec.label()} ...")
        self.query_one("#rw-curl", Static).update(self._curl(spec))
        self.send_request(spec)

    def _show_status(self, text: str) -> None:
        self.query_one("#rw-status", Static).update(text)

    @work(group="http", exit_on_error=False)
    async def send_request(self, spec: RequestSpec) -> None:
        """Every request sent goes, in the order sent: a login then a request that needs its cookie, typed
        one after the other, must not have the first cancelled by the second (an exclusive worker did)."""
        import asyncio

        import httpx

        if self._send_lock is None:
            self._send_lock = asyncio.Lock()
        async with self._send_lock:
            headers, body = spec.prepared()
            headers[SOURCE_HEADER] = "workbench"
            if self._client is None:
                self._client = httpx.AsyncClient(base_url=self.base_url, trust_env=False, timeout=30)
            begin = time.perf_counter()
            try:
                response = await self._client.request(spec.method, spec.url, headers=headers, content=body)
            except httpx.HTTPError as exc:
                self.post_message(self.ResponseReceived(self, spec, None, f"{type(exc).__name__}: {exc}"))
                return
        elapsed = (time.perf_counter() - begin) * 1000
        self.last_response = response
        record = ResponseRecord.build(
            response.status_code, response.reason_phrase, list(response.headers.items()), response.content, elapsed
        )
        self.post_message(self.ResponseReceived(self, spec, record))

    def on_request_workbench_response_received(self, message: ResponseReceived) -> None:
        spec, record = message.spec, message.record
        if record is None:
            self._show_status(f"{spec.label()} failed: {message.error}")
            self.notify(f"The request failed: {message.error}. Is the sandbox still running?", severity="error")
            return
        self.show_response(spec, record)
        self.remember(spec, record)
        self.query_one("#rw-traffic", TrafficView).refresh_traffic()
        from tutor.app.messages import WorkbenchActed

        self.post_message(WorkbenchActed("api", f"sent: {spec.label()} -> {record.status}"))

    async def on_unmount(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def show_response(self, spec: RequestSpec, record: ResponseRecord) -> None:
        self.last_record = record
        self._show_status(f"{spec.label()}  ->  {record.status_text()}")
        self.query_one("#rw-response", ResponseView).show(record.text(), json_body=record.language == "json")
        focused = self.app.focused
        request_pane = self.query_one("#rw-tab-request")
        self.query_one("#rw-tabs", TabbedContent).active = "rw-tab-response"
        if focused is not None and request_pane in focused.ancestors_with_self:
            # sent from the headers or body: the response is what to read now, wherever Send came from
            focus_now(self.query_one("#rw-response", ResponseView).area)

    # -- history, kept per lesson on disk ------------------------------------------------------------
    def remember(self, spec: RequestSpec, record: ResponseRecord | None) -> None:
        if self.history is None:
            return
        try:
            self.history.add(spec, record)
        except OSError as exc:
            self.notify(f"The request history could not be saved: {exc}", severity="warning")
        self._show_history()

    def _show_history(self) -> None:
        if self.history is None:
            return
        note = self.query_one("#rw-history-note", Static)
        if self.marked is None:
            note.update("Enter loads · r sends again · d on two: their responses side by side")
        else:
            note.update(f"A is {self.marked.label()}: d on another request compares their responses")
        text = self.query_one("#rw-history-search", Input).value
        self.entries = list(reversed(self.history.search(text)))
        options = self.query_one("#rw-history", OptionList)
        options.clear_options()
        for entry in self.entries:
            mark = "A " if self.marked is not None and entry == self.marked else "  "
            cache = entry.response.header("x-cache") if entry.response is not None else None
            options.add_option(f"{mark}{entry.label()}{f'  {cache}' if cache else ''}")

    @on(Input.Changed, "#rw-history-search")
    def _filter_history(self, event: Input.Changed) -> None:
        event.stop()
        self._show_history()

    @on(Input.Submitted, "#rw-history-search")
    def _to_list(self, event: Input.Submitted) -> None:
        event.stop()
        focus_now(self.query_one("#rw-history", OptionList))

    @on(OptionList.OptionSelected, "#rw-history")
    def _recall(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self.entries):
            entry = self.entries[event.option_index]
            self.load_request(entry.request)
            if entry.response is not None:
                self.show_response(entry.request, entry.response)
            self.query_one("#rw-tabs", TabbedContent).active = "rw-tab-request"
            focus_now(self.query_one("#rw-url", Input))

    def _highlighted_entry(self) -> HistoryEntry | None:
        index = self.query_one("#rw-history", OptionList).highlighted
        return self.entries[index] if index is not None and 0 <= index < len(self.entries) else None

    def diff_with(self, entry: HistoryEntry) -> None:
        """The first `d` marks a response; the second shows the two side by side."""
        if self.marked is None or self.marked == entry:
            self.marked = None if self.marked == entry else entry
            self._show_history()
            return
        from tutor.app.widgets.request_dialogs import DiffScreen

        first, self.marked = self.marked, None
        self._show_history()
        self.app.push_screen(DiffScreen(first, entry))

    # -- requests kept by name -------------------------------------------------------------------------
    def action_save_request(self) -> None:
        if self.saved is None:
            self.notify("The lesson's API is still starting: keep it in a moment.")
            return
        from tutor.app.widgets.request_dialogs import NameScreen

        spec = self.current_request()

        def named(name: str | None) -> None:
            if name and self.saved is not None:
                try:
                    self.saved.save(name, spec)
                except OSError as exc:
                    self.notify(f"Could not keep it: {exc}", severity="error")
                    return
                self._show_saved()
                self.notify(f"Kept as '{name}' (Saved tab).")

        self.app.push_screen(NameScreen(spec.label()), named)

    def _show_saved(self) -> None:
        if self.saved is None:
            return
        saved = self.saved.all()
        self._saved_names = list(saved)
        options = self.query_one("#rw-saved", OptionList)
        options.clear_options()
        for name, spec in saved.items():
            options.add_option(f"{name}   ({spec.label()})" if name != spec.label() else name)

    @on(OptionList.OptionSelected, "#rw-saved")
    def _load_saved(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.saved is None or not (0 <= event.option_index < len(self._saved_names)):
            return
        spec = self.saved.all().get(self._saved_names[event.option_index])
        if spec is not None:
            self.load_request(spec)
            self.query_one("#rw-tabs", TabbedContent).active = "rw-tab-request"
            focus_now(self.query_one("#rw-url", Input))

    # -- more actions --------------------------------------------------------------------------------
    def action_advance_clock(self) -> None:
        """Time passes in the lesson without waiting: the clock request, filled in and sent."""
        # Sent as it is, without touching the request being composed; the curl line shows it.
        self._send(RequestSpec("POST", "/_sandbox/clock", {}, '{"advance": 60}'))

    def action_copy_curl(self) -> None:
        self._when_typed(self._copy_curl)

    def _copy_curl(self, fields: dict[str, str]) -> None:
        command = self._curl(self.current_request(fields))
        self.query_one("#rw-curl", Static).update(command)
        self.app.copy_to_clipboard(command)
        shown = command if len(command) <= 300 else command[:299] + "…"
        self.notify(shown, title="Copied as curl", timeout=10)  # the curl line is hidden on a short screen

    def action_use_token(self) -> None:
        response = self.last_response
        token = None
        if response is not None:
            try:
                data = response.json()
            except ValueError:
                data = None
            if isinstance(data, dict):
                token = data.get("access_token") or data.get("token")
        if not isinstance(token, str) or not token:
            self.notify("The last response has no access_token. Log in first (POST /auth/login).", severity="warning")
            return
        box = self.query_one("#rw-headers", TextArea)
        kept = [line for line in box.text.splitlines() if not line.lower().startswith("authorization:")]
        box.text = "\n".join([*kept, f"Authorization: Bearer {token}"])
        self.query_one("#rw-tabs", TabbedContent).active = "rw-tab-request"
        self.notify("Authorization: Bearer <token> is in the headers now.")

    def action_clear(self) -> None:
        """Each field is emptied behind the keys typed into it before Ctrl+L, not those typed after."""
        focus_now(self.query_one("#rw-url", Input))  # at once: the next keys typed belong to the new request
        self.query_one("#rw-method", Select).value = "GET"
        for widget in self._field_widgets().values():
            widget.call_later(self._empty, widget)

    @staticmethod
    def _empty(widget: Widget) -> None:
        if isinstance(widget, Input):
            widget.value = ""
        elif isinstance(widget, TextArea):
            widget.text = ""

    def action_run_load(self) -> None:
        if self.api is None:
            self.notify("The lesson's API is still starting.")
            return
        self.query_one("#rw-tabs", TabbedContent).active = "rw-tab-load"
        self.query_one("#rw-load", LoadTool).start()
