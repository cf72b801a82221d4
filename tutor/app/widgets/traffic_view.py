"""Live view of the sandbox API's traffic: every request, from the workbench or from outside (curl,
a browser), with who sent it. Reads the recorder on a short timer (no cross-thread calls)."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from sandboxes.api.recorder import moves_sandbox

MAX_ROWS = 300
STATUS_STYLE = {2: "green", 3: "cyan", 4: "yellow", 5: "bold red"}


def describe(exchange: Any) -> str:
    """A few lines about one exchange, for the detail line under the table."""
    lines = [
        f"{exchange.method} {exchange.target}  ->  {exchange.status}  ({exchange.duration_ms:.1f} ms, "
        f"{TrafficView.source_label(exchange)})"
    ]
    for name in ("x-cache", "etag", "cache-control", "server-timing", "retry-after", "location"):
        value = exchange.header(name)
        if value:
            lines.append(f"  {name}: {value}")
    if exchange.error:
        lines.append(f"  server error: {exchange.error}")
    return "\n".join(lines)


class TrafficView(Vertical):
    class SandboxChanged(Message):
        """A request to the sandbox's own controls arrived (from anywhere, curl too): a weak mode may have
        been switched, so what the workbench says about the sandbox is read again."""

    """Requests the sandbox API received, newest last."""

    DEFAULT_CSS = """
    TrafficView { height: 1fr; }
    TrafficView DataTable { height: 1fr; }
    TrafficView #traffic-detail { height: auto; max-height: 6; color: $text-muted; }
    """
    HELP: ClassVar[str] = """\
## Traffic
Every request the sandbox received, newest last, and who sent it: **outside** (curl, a browser),
**workbench**, **load** (the load tool), **tutor** (a check). **↑/↓** picks one (its headers show
below), **Enter** opens its flow: the SQL it ran, in order, with timings and plans. `ms` is the
server's own time for the request.
"""

    def __init__(self, recorder: Any, *, poll: float = 0.25, id: str | None = None) -> None:
        super().__init__(id=id)
        self.recorder = recorder
        self.poll = poll
        self.last_id = 0  # the highest exchange id shown so far
        self._by_key: dict[str, Any] = {}
        # Ids are given when a request arrives and the log is written when it ends, so under concurrent
        # traffic the log is not in id order: remember what was shown, not just the last id.
        self._seen: set[int] = set()

    def compose(self) -> ComposeResult:
        table: DataTable[Any] = DataTable(id="traffic-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("#", "time", "from", "method", "path", "status", "ms")
        yield table
        yield Static(
            "Requests appear here as they arrive (from this workbench and from curl). Enter: the request's flow.",
            id="traffic-detail",
        )

    def on_mount(self) -> None:
        self.refresh_traffic()
        if self.poll > 0:
            self.set_interval(self.poll, self.refresh_traffic)

    @staticmethod
    def source_label(exchange: Any) -> str:
        """Who sent it: outside (curl, a browser), workbench, load (the load tool), tutor (a check)."""
        if exchange.source == "workbench" and str(getattr(exchange, "ref", "") or "").startswith("load-"):
            return "load"
        return str(exchange.source)

    def refresh_traffic(self) -> int:
        """Add rows for exchanges the recorder got since the last look; returns how many."""
        if self.recorder is None:
            return 0
        logged = self.recorder.all()
        new = [e for e in logged if e.id not in self._seen]
        if not new:
            return 0
        if len(new) > MAX_ROWS:
            self._seen.update(e.id for e in new[:-MAX_ROWS])
            new = new[-MAX_ROWS:]
        table = self.query_one(DataTable)
        for exchange in new:
            self._seen.add(exchange.id)
            status = Text(str(exchange.status), style=STATUS_STYLE.get(exchange.status // 100, ""))
            label = self.source_label(exchange)
            source = Text(label, style="bold" if label == "outside" else "")
            path = exchange.target if len(exchange.target) <= 60 else exchange.target[:59] + "…"
            key = str(exchange.id)
            table.add_row(
                str(exchange.id),
                time.strftime("%H:%M:%S", time.localtime(exchange.time)),
                source,
                exchange.method,
                path,
                status,
                f"{exchange.duration_ms:.1f}",
                key=key,
            )
            self._by_key[key] = exchange
            self.last_id = max(self.last_id, exchange.id)
        while table.row_count > MAX_ROWS:
            first = next(iter(table.rows))
            table.remove_row(first)
            self._by_key.pop(first.value or "", None)
        # forget ids the recorder itself no longer holds (its log is bounded too)
        if logged and len(self._seen) > 2 * len(logged):
            oldest = min(e.id for e in logged)
            self._seen = {i for i in self._seen if i >= oldest}
        table.move_cursor(row=table.row_count - 1)
        if any(moves_sandbox(e.method, e.path) for e in new):
            self.post_message(self.SandboxChanged())
        return len(new)

    @on(DataTable.RowHighlighted)
    def _show(self, event: DataTable.RowHighlighted) -> None:
        exchange = self._by_key.get(event.row_key.value or "")
        if exchange is not None:
            self.query_one("#traffic-detail", Static).update(describe(exchange))

    # -- issue 7: Enter on a row opens that request's flow (tutor.app.widgets.flow_view) ------------
    @on(DataTable.RowSelected)
    def _open_flow(self, event: DataTable.RowSelected) -> None:
        exchange = self._by_key.get(event.row_key.value or "")
        if exchange is not None:
            from tutor.app.widgets.flow_view import FlowScreen

            self.app.push_screen(FlowScreen(exchange))
