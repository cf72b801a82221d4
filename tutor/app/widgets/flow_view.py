"""The flow of one sandbox request: a waterfall of what happened inside it, drawn to scale, the
summary line, and its SQL statements grouped by shape with N+1 and full scans said in words.

The facts come from `sandboxes.api.flow` (no Textual); this widget only draws them. Every mark has a
text label as well as a colour: spans are `=`, instants `|`, and problems are spelled out
(`<- N+1`, `<- FULL SCAN`, `<- refused`).

    FlowView(exchange)          # a widget, e.g. in a split panel
    FlowScreen(exchange)        # a modal: Enter on a traffic row opens it, Esc closes it
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from sandboxes.api.flow import Flow, bar_cells, bars

KIND_STYLE = {
    "received": "cyan",
    "rate_limit": "magenta",
    "auth": "yellow",
    "cache": "blue",
    "latency": "grey50",
    "sql": "green",
    "handler": "white",
    "response": "cyan",
    "error": "bold red",
    "truncated": "grey50",
    "upstream": "magenta",  # a call to one of the lesson's upstreams, and what its client policy did
    "backoff": "grey50",
    "breaker": "yellow",
    "bulkhead": "yellow",
    "jobs": "blue",  # the job worker caught up before this request
    "webhooks": "blue",
}
FLAG_STYLE = "bold red"


def waterfall_text(flow: Flow, width: int) -> Text:
    """The waterfall as Rich text `width` cells wide: a label column, a track drawn to scale, timings."""
    label_width = max(16, min(40, width // 3))
    timing_width, flag_width = 13, 15  # " 21.0+79.5 ms", "  <- FULL SCAN"
    track = max(8, width - label_width - 1 - timing_width - flag_width)
    rows = bars(flow)
    total = max(flow.duration_ms, max((b.start_ms + b.duration_ms for b in rows), default=0.0), 0.001)
    text = Text(no_wrap=True, overflow="ellipsis")
    header = f"{'step':<{label_width}} 0 ms".ljust(label_width + 1 + track) + f" {total:.1f} ms total"
    text.append(header + "\n", style="bold")
    for bar in rows:
        label = bar.label if len(bar.label) <= label_width else bar.label[: label_width - 1] + "…"
        start, cells = bar_cells(bar, total, track)
        glyph = "=" if bar.duration_ms else "|"
        style = KIND_STYLE.get(bar.kind, "")
        text.append(f"{label:<{label_width}} ", style=style)
        text.append(" " * start)
        text.append(glyph * cells, style=f"reverse {style}" if bar.duration_ms else style)
        text.append(" " * (track - start - cells))
        timing = f" {bar.start_ms:.1f}+{bar.duration_ms:.1f} ms" if bar.duration_ms else f" {bar.start_ms:.1f} ms"
        text.append(f"{timing:<{timing_width}}", style="dim")
        if bar.flag:
            text.append(f"  <- {bar.flag}", style=FLAG_STYLE)
        text.append("\n")
    text.append("a+b ms: began a ms after the request arrived, took b ms", style="dim")
    text.rstrip()
    return text


def groups_text(flow: Flow, width: int) -> Text:
    text = Text()
    if not flow.groups:
        text.append("No SQL ran in this request", style="bold")
        if flow.cache == "HIT":
            text.append(": the cache answered it.")
        return text
    text.append(f"SQL statements, grouped by shape ({flow.statement_count} in all, ", style="bold")
    text.append(f"{flow.total_vm_steps:,} VM steps{'' if flow.vm_steps_exact else ', approx.'})\n", style="bold")
    for group in flow.groups:
        shape = group.shape if len(group.shape) <= width - 8 else group.shape[: width - 9] + "…"
        text.append(f"{group.count:>4} x ", style="bold")
        text.append(shape + "\n", style=KIND_STYLE["sql"])
        rows = f"{group.rows} row{'s' if group.rows != 1 else ''}"
        text.append(f"       {rows}, {group.vm_steps:,} VM steps, {group.total_ms:.2f} ms\n", style="dim")
        if group.is_n_plus_one:
            text.append(f"       N+1: the same query ran {group.count} times, once per item;\n", style=FLAG_STYLE)
            text.append("       one query for the whole list (WHERE id IN (...)) would do\n", style=FLAG_STYLE)
        first = group.statements[0]
        for line in first.plan_text().splitlines():
            style = FLAG_STYLE if "FULL SCAN" in line else "dim"
            text.append(f"       plan: {line}\n", style=style)
        if first.error:
            text.append(f"       error: {first.error}\n", style=FLAG_STYLE)
    for note in flow.notes:
        text.append(note + "\n", style="italic")
    text.append("VM steps: the instructions SQLite ran, its work whatever the machine's speed\n", style="dim")
    text.rstrip()
    return text


class FlowView(Vertical):
    """What happened inside one request."""

    DEFAULT_CSS = """
    FlowView { height: 1fr; }
    FlowView #flow-summary { height: auto; padding: 0 1; text-style: bold; background: $boost; }
    FlowView VerticalScroll { height: 1fr; }
    FlowView #flow-waterfall { height: auto; padding: 0 1; margin-bottom: 1; }
    FlowView #flow-groups { height: auto; padding: 0 1; }
    """
    HELP: ClassVar[str] = (
        "The flow of one request: each step inside it on a timeline drawn to scale, and its SQL grouped "
        "by shape. N+1 (the same query once per item) and full scans are spelled out. `a+b ms` on a row: the "
        "step began a ms after the request arrived and took b ms. VM steps: how many instructions of SQLite's "
        "bytecode a statement ran, a measure of its work that does not depend on the machine's speed."
    )

    def __init__(self, exchange: Any = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.exchange = exchange
        self.flow: Flow | None = Flow.of(exchange) if exchange is not None else None

    def compose(self) -> ComposeResult:
        yield Static(id="flow-summary")
        with VerticalScroll():
            yield Static(id="flow-waterfall")
            yield Static(id="flow-groups")

    def on_mount(self) -> None:
        self.render_flow()

    def on_resize(self) -> None:
        self.render_flow()

    def show(self, exchange: Any) -> None:
        """Show another exchange's flow."""
        self.exchange = exchange
        self.flow = Flow.of(exchange)
        self.render_flow()

    def render_flow(self) -> None:
        if not self.is_mounted:
            return
        summary = self.query_one("#flow-summary", Static)
        waterfall = self.query_one("#flow-waterfall", Static)
        groups = self.query_one("#flow-groups", Static)
        if self.flow is None:
            summary.update("Pick a request in the traffic view and press Enter to see its flow.")
            waterfall.update("")
            groups.update("")
            return
        width = max(self.size.width - 4, 40)
        summary.update(Text(self.flow.summary()))
        waterfall.update(waterfall_text(self.flow, width))
        groups.update(groups_text(self.flow, width))


class FlowScreen(ModalScreen[None]):
    """The flow of one request, over the lesson screen."""

    DEFAULT_CSS = """
    FlowScreen { align: center middle; }
    FlowScreen > Vertical { width: 96%; height: 92%; border: round $accent; background: $surface; }
    FlowScreen #flow-title { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="close_flow", tooltip="Back to the traffic view"),
        Binding("q", "close", "Close", id="close_flow_q", show=False, tooltip="Back to the traffic view"),
    ]

    def __init__(self, exchange: Any) -> None:
        super().__init__()
        self.exchange = exchange

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Flow of request #{self.exchange.id} ({self.exchange.source})", id="flow-title")
            yield FlowView(self.exchange, id="flow-view")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
