"""A small load tool: N requests at concurrency C against the sandbox, with p50/p95/p99, errors, the
cache hit ratio and a latency chart, next to the previous run for a before/after comparison."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, Static
from textual_plotext import PlotextPlot

from tutor.http.load import LoadStats, run_load
from tutor.http.request import SOURCE_HEADER

RequestGetter = Callable[[], tuple[str, str, dict[str, str], bytes | None]]
"""() -> (method, url, headers, body) of the request the workbench holds now."""


class LoadTool(Vertical):
    DEFAULT_CSS = """
    LoadTool { height: 1fr; }
    LoadTool Horizontal { height: 1; }
    LoadTool Input { width: 8; }
    LoadTool Label { padding: 0 1; }
    LoadTool #load-chart { height: 1fr; min-height: 6; }
    LoadTool .load-result { padding: 0 1; height: auto; }
    """

    def __init__(self, base_url: str, get_request: RequestGetter, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.base_url = base_url
        self.get_request = get_request
        self.last: LoadStats | None = None
        self.previous: LoadStats | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label("requests")
            yield Input("100", id="load-n", type="integer", compact=True)
            yield Label("concurrency")
            yield Input("5", id="load-c", type="integer", compact=True)
            yield Button("Run (F9)", id="load-run", variant="primary", compact=True)
        yield Static(
            "Sends the workbench's request N times, C at a time. Run it before and after a change.",
            id="load-now",
            classes="load-result",
        )
        yield PlotextPlot(id="load-chart")
        yield Static("", id="load-before", classes="load-result")

    def on_mount(self) -> None:
        self.draw(None)

    def draw(self, stats: LoadStats | None) -> None:
        """Latency of each request in the order they finished, with p50/p95/p99 as lines, and axes."""
        chart = self.query_one("#load-chart", PlotextPlot)
        plt = chart.plt
        plt.clear_figure()
        plt.xlabel("request (in the order they finished)")
        plt.ylabel("ms")
        if stats is None or not stats.latencies_ms:
            plt.title("latency per request: press F9 to run")
            chart.refresh()
            return
        hits = f"  cache hits {stats.hit_ratio:.0%}" if stats.hit_ratio is not None else ""
        percentiles = f"p50 {stats.p(0.5):.1f}  p95 {stats.p(0.95):.1f}  p99 {stats.p(0.99):.1f} ms"
        plt.title(f"latency per request: {percentiles}{hits}")
        xs = list(range(1, len(stats.latencies_ms) + 1))
        plt.scatter(xs, list(stats.latencies_ms), marker="dot", label="latency")
        for fraction, name in ((0.5, "p50"), (0.95, "p95"), (0.99, "p99")):
            plt.hline(stats.p(fraction))
            plt.text(name, x=len(xs), y=stats.p(fraction), alignment="right")
        plt.ylim(0, max(stats.latencies_ms) * 1.1)
        chart.refresh()

    @on(Button.Pressed, "#load-run")
    def start(self) -> None:
        try:
            n = max(1, min(5000, int(self.query_one("#load-n", Input).value or "0")))
            c = max(1, min(100, int(self.query_one("#load-c", Input).value or "0")))
        except ValueError:
            self.notify("requests and concurrency must be whole numbers", severity="error")
            return
        if not self.base_url:
            self.notify("The lesson's API is still starting.")
            return
        self.query_one("#load-now", Static).update(f"Running {n} requests, {c} at a time...")
        self.run_load(n, c)

    @dataclass
    class LoadFinished(Message):
        """A load run ended (posted by its worker): what it measured."""

        tool: LoadTool
        stats: LoadStats

    @work(exclusive=True, group="http-load", exit_on_error=False)
    async def run_load(self, requests: int, concurrency: int) -> LoadStats:
        method, url, headers, body = self.get_request()
        headers = {**headers, SOURCE_HEADER: "workbench"}
        stats = await run_load(self.base_url, method, url, headers, body, requests, concurrency)
        self.post_message(self.LoadFinished(self, stats))
        return stats

    def on_load_tool_load_finished(self, message: LoadFinished) -> None:
        self.show(message.stats)

    def show(self, stats: LoadStats) -> None:
        if self.last is not None:
            self.previous = self.last
        self.last = stats
        self.query_one("#load-now", Static).update("now:    " + stats.summary())
        self.draw(stats)
        if self.previous is not None:
            self.query_one("#load-before", Static).update("before: " + self.previous.summary())
