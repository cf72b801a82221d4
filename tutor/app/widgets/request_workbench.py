"""The request workbench: compose a request to the lesson's sandbox API, send it with one key, read
the response; history, copy as curl, the live traffic view and a small load tool.

Mounted by the lesson screen as `RequestWorkbench(session)` (see tutor/app/workbenches.py). It uses
only `session.api` (base_url, recorder, curl_example(), weak_auth_modes).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, OptionList, Select, Static, TabbedContent, TabPane, TextArea

from tutor.app.widgets.load_tool import LoadTool
from tutor.app.widgets.traffic_view import TrafficView
from tutor.http.curl import to_curl
from tutor.http.request import METHODS, SOURCE_HEADER, RequestSpec, parse_headers, relative_url
from tutor.http.response import ResponseRecord


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
    RequestWorkbench #rw-curl { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        # F5-F8 belong to the lesson (check, hint, solution, next); Ctrl+Enter reaches most terminals as Ctrl+J
        Binding("ctrl+r,ctrl+j", "send", "Send", id="workbench.send", tooltip="Send the request"),
        Binding(
            "ctrl+s",
            "copy_curl",
            "Copy as curl",
            id="workbench.copy_curl",
            show=False,
            tooltip="Copy this request as a curl command",
        ),
        Binding(
            "ctrl+u",
            "use_token",
            "Use token",
            id="workbench.use_token",
            show=False,
            priority=True,
            tooltip="Put the last response's access token in an Authorization: Bearer header",
        ),
        Binding(
            "ctrl+l", "clear", "Clear", id="workbench.clear", show=False, priority=True, tooltip="Clear the request"
        ),
        Binding(
            "f9", "run_load", "Load test", id="workbench.load", show=False, tooltip="Run the load tool on this request"
        ),
        Binding(
            "f10",
            "advance_clock",
            "Clock +60 s",
            id="workbench.clock",
            show=False,
            tooltip="Move the sandbox's lesson clock 60 s forward (POST /_sandbox/clock)",
        ),
    ]
    HELP: ClassVar[str] = """\
## Request workbench
Type a path relative to the sandbox (`/v1/books?limit=5`), pick a method, add headers as
`Name: value` lines and a JSON body, then **Ctrl+R** (or Ctrl+Enter) to send. The response shows the
round trip (what this screen waited) and the server's own time (its `Server-Timing` header).
- **Ctrl+N** next tab (Request, Response, History, Traffic, Load), focused; **Ctrl+O** back to the URL
- **Ctrl+S** copies the request as a curl command (also shown under the tabs)
- **Ctrl+U** puts the last response's `access_token` into an `Authorization: Bearer` header
- **Ctrl+L** clears the request; **F9** runs the load tool on it
- **F10** moves the sandbox's lesson clock 60 s forward (tokens expire, cached answers age, rate limits
  refill) by sending `POST /_sandbox/clock` with `{"advance": 60}`; send that request yourself for another
  amount
- Traffic: every request the sandbox received, yours and your terminal's (**↑/↓**, **Enter** opens
  its flow). Load: the request many times, with a latency chart, p50/p95/p99 and the cache hit ratio.
"""

    def __init__(self, session: Any, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.api = getattr(session, "api", None)
        self.history: list[RequestSpec] = []
        self.last_response: Any = None
        self._client: Any = None  # one keep-alive client: a fresh one per request measured its own setup

    @property
    def base_url(self) -> str:
        return str(getattr(self.api, "base_url", ""))

    def compose(self) -> ComposeResult:
        if self.api is None:
            yield Static("This lesson has no sandbox API.", id="rw-base")
            return
        example = self.api.curl_example() if hasattr(self.api, "curl_example") else f"curl -i {self.base_url}/"
        yield Static(f"API {self.base_url}   try: {example}   docs: {self.base_url}/docs", id="rw-base")
        weak = list(getattr(self.api, "weak_auth_modes", []) or [])
        if weak:
            yield Static(f"Deliberately weak auth in this lesson: {', '.join(weak)}", id="rw-weak")
        with Horizontal(id="rw-line"):
            yield Select([(m, m) for m in METHODS], value="GET", allow_blank=False, id="rw-method", compact=True)
            yield Input(placeholder="type a path here, e.g. /v1/books", id="rw-url", compact=True)
            yield Button("Send", id="rw-send", variant="primary", compact=True)
        with TabbedContent(id="rw-tabs"):
            with TabPane("Request", id="rw-tab-request"):
                yield TextArea(
                    "",
                    id="rw-headers",
                    show_line_numbers=False,
                    soft_wrap=False,
                    placeholder="Headers, one per line:  Authorization: Bearer ...",
                    compact=True,
                )
                # No language="json": tree-sitter-json 0.24.8 with tree-sitter 0.26.1 segfaults in Textual 8.2.8.
                yield TextArea(
                    "",
                    id="rw-body",
                    show_line_numbers=False,
                    placeholder='JSON body, e.g. {"title": "Dune"}',
                    compact=True,
                )
            with TabPane("Response", id="rw-tab-response"):
                yield Static("Nothing sent yet.", id="rw-status")
                yield TextArea(
                    "", id="rw-response", read_only=True, show_line_numbers=False, soft_wrap=True, compact=True
                )
            with TabPane("History", id="rw-tab-history"):
                yield OptionList(id="rw-history")
            with TabPane("Traffic", id="rw-tab-traffic"):
                yield TrafficView(getattr(self.api, "recorder", None), id="rw-traffic")
            with TabPane("Load", id="rw-tab-load"):
                yield LoadTool(self.base_url, self._request_for_load, id="rw-load")
        yield Static("", id="rw-curl")

    # -- reading the editor ----------------------------------------------------------------------
    def current_request(self) -> RequestSpec:
        method = self.query_one("#rw-method", Select).value
        url = relative_url(self.query_one("#rw-url", Input).value.removeprefix("curl "), self.base_url)
        headers, _ = parse_headers(self.query_one("#rw-headers", TextArea).text)
        body = self.query_one("#rw-body", TextArea).text
        return RequestSpec(str(method), url, headers, body)

    def load_request(self, spec: RequestSpec) -> None:
        self.query_one("#rw-method", Select).value = spec.method
        self.query_one("#rw-url", Input).value = spec.url
        self.query_one("#rw-headers", TextArea).text = "\n".join(f"{k}: {v}" for k, v in spec.headers.items())
        self.query_one("#rw-body", TextArea).text = spec.body

    def _request_for_load(self) -> tuple[str, str, dict[str, str], bytes | None]:
        spec = self.current_request()
        headers, body = spec.prepared()
        return spec.method, spec.url, headers, body

    # -- actions ---------------------------------------------------------------------------------
    @on(Button.Pressed, "#rw-send")
    @on(Input.Submitted, "#rw-url")
    def action_send(self) -> None:
        if self.api is None:
            return
        if not self.query_one("#rw-url", Input).value.strip():
            # an empty box is not "/": sending the API's index by accident taught learners nothing
            self.query_one("#rw-status", Static).update("Type a path first, for example /v1/books, then Ctrl+R.")
            self.query_one("#rw-tabs", TabbedContent).active = "rw-tab-response"
            self.query_one("#rw-url", Input).focus()
            return
        _, bad = parse_headers(self.query_one("#rw-headers", TextArea).text)
        if bad:
            self.notify(f"Not a header line (use 'Name: value'): {bad[0][:60]}", severity="warning")
        spec = self.current_request()
        self.query_one("#rw-status", Static).update(f"Sending {spec.label()} ...")
        self.query_one("#rw-curl", Static).update(to_curl(spec, self.base_url))
        self.send_request(spec)

    @work(exclusive=True, group="http", exit_on_error=False)
    async def send_request(self, spec: RequestSpec) -> None:
        import httpx

        headers, body = spec.prepared()
        headers[SOURCE_HEADER] = "workbench"
        if self._client is None:
            self._client = httpx.AsyncClient(base_url=self.base_url, trust_env=False, timeout=30)
        begin = time.perf_counter()
        try:
            response = await self._client.request(spec.method, spec.url, headers=headers, content=body)
        except httpx.HTTPError as exc:
            self.query_one("#rw-status", Static).update(f"{spec.label()} failed: {type(exc).__name__}: {exc}")
            self.notify(f"The request failed: {exc}. Is the sandbox still running?", severity="error")
            return
        elapsed = (time.perf_counter() - begin) * 1000
        self.last_response = response
        self.show_response(spec, response, elapsed)
        self.remember(spec)
        self.query_one("#rw-traffic", TrafficView).refresh_traffic()
        try:
            from tutor.app.messages import WorkbenchActed
        except ImportError:  # pragma: no cover - the app's messages module is optional here
            return
        self.post_message(WorkbenchActed("api", f"sent: {spec.label()} -> {response.status_code}"))

    async def on_unmount(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def show_response(self, spec: RequestSpec, response: Any, elapsed_ms: float) -> None:
        record = ResponseRecord.build(
            response.status_code, response.reason_phrase, list(response.headers.items()), response.content, elapsed_ms
        )
        self.query_one("#rw-status", Static).update(f"{spec.label()}  ->  {record.status_text()}")
        self.query_one("#rw-response", TextArea).text = record.text()
        focused = self.app.focused
        request_pane = self.query_one("#rw-tab-request")
        self.query_one("#rw-tabs", TabbedContent).active = "rw-tab-response"
        if focused is not None and request_pane in focused.ancestors_with_self:
            # sent from the headers or body: the response is what to read now, wherever Send came from
            self.query_one("#rw-response", TextArea).focus()

    def remember(self, spec: RequestSpec) -> None:
        if self.history and self.history[-1] == spec:
            return
        self.history.append(spec)
        self.query_one("#rw-history", OptionList).add_option(spec.label())

    @on(OptionList.OptionSelected, "#rw-history")
    def _recall(self, event: OptionList.OptionSelected) -> None:
        self.load_request(self.history[event.option_index])
        self.query_one("#rw-tabs", TabbedContent).active = "rw-tab-request"

    def action_advance_clock(self) -> None:
        """Time passes in the lesson without waiting: the clock request, filled in and sent."""
        if self.api is None:
            return
        spec = RequestSpec("POST", "/_sandbox/clock", {}, '{"advance": 60}')
        # Sent as it is, without touching the request being composed; the curl line shows it.
        self.query_one("#rw-status", Static).update(f"Sending {spec.label()} ...")
        self.query_one("#rw-curl", Static).update(to_curl(spec, self.base_url))
        self.send_request(spec)

    def action_copy_curl(self) -> None:
        if self.api is None:
            return
        command = to_curl(self.current_request(), self.base_url)
        self.query_one("#rw-curl", Static).update(command)
        self.app.copy_to_clipboard(command)
        self.notify("Copied as curl (also shown below the tabs).")

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
        self.query_one("#rw-url", Input).value = ""
        self.query_one("#rw-headers", TextArea).text = ""
        self.query_one("#rw-body", TextArea).text = ""
        self.query_one("#rw-method", Select).value = "GET"
        self.query_one("#rw-url", Input).focus()

    def action_run_load(self) -> None:
        if self.api is None:
            return
        self.query_one("#rw-tabs", TabbedContent).active = "rw-tab-load"
        self.query_one("#rw-load", LoadTool).start()
