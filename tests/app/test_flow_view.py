"""The flow view: Enter on a traffic row opens the request's flow; what it draws; Esc closes it."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App, ComposeResult

from sandboxes.api.recorder import Exchange, TraceEvent, TrafficRecorder
from tutor.app.widgets.flow_view import FlowScreen, FlowView
from tutor.app.widgets.traffic_view import TrafficView

pytestmark = pytest.mark.anyio


def _event(at: float, kind: str, label: str, duration: float | None = None, **data: Any) -> TraceEvent:
    return TraceEvent(at, kind, label, duration, dict(data))


def n_plus_one_exchange(exchange_id: int = 1, lookups: int = 20) -> Exchange:
    """GET /v1/books?author=7 by ada: auth allowed, cache MISS, a list query that scans, 20 lookups."""
    events = [
        _event(0.0, "received", "GET /v1/books", source="outside"),
        _event(0.2, "auth", "authenticated", user="ada", role="admin"),
        _event(0.3, "auth", "allowed", user="ada", role="admin", needs=None),
        _event(0.5, "cache", "MISS", key="/v1/books?author=7", ttl_left=None),
        _event(
            2.0,
            "sql",
            "list",
            18.0,
            sql='SELECT * FROM "books" WHERE "author_id" = ? ORDER BY "id" LIMIT ? OFFSET ?',
            params=["7", 20, 0],
            rows=lookups,
            vm_steps=31_000,
            vm_exact=True,
            plan=[[3, 0, "SCAN books"]],
            full_scans=["books"],
        ),
    ]
    for i in range(lookups):
        events.append(
            _event(
                21.0 + i * 4.0,
                "sql",
                "one",
                3.5,
                sql='SELECT * FROM "authors" WHERE id = ?',
                params=[i % 7 + 1],
                rows=1,
                vm_steps=10,
                vm_exact=True,
                plan=[[2, 0, "SEARCH authors USING INTEGER PRIMARY KEY (rowid=?)"]],
                full_scans=[],
            )
        )
    events.append(_event(101.0, "response", "200", status=200, bytes=5120))
    exchange = Exchange(exchange_id, 1_700_000_000, "outside", "GET", "/v1/books", "author=7", [], b"")
    exchange.status, exchange.duration_ms, exchange.trace = 200, 102.0, events
    return exchange


def cached_exchange(exchange_id: int = 2) -> Exchange:
    exchange = Exchange(exchange_id, 1_700_000_001, "workbench", "GET", "/v1/books", "author=7", [], b"")
    exchange.status, exchange.duration_ms = 200, 1.2
    exchange.trace = [
        _event(0.0, "received", "GET /v1/books", source="workbench"),
        _event(0.3, "cache", "HIT", key="/v1/books?author=7", ttl_left=41.7),
        _event(1.1, "response", "200", status=200, bytes=5120),
    ]
    return exchange


class TrafficHost(App[None]):
    def __init__(self, *exchanges: Exchange) -> None:
        super().__init__()
        self.recorder = TrafficRecorder()
        for exchange in exchanges:
            self.recorder.append(exchange)

    def compose(self) -> ComposeResult:
        yield TrafficView(self.recorder, poll=0, id="traffic")


class FlowHost(App[None]):
    def __init__(self, exchange: Exchange) -> None:
        super().__init__()
        self.exchange = exchange

    def on_mount(self) -> None:
        self.push_screen(FlowScreen(self.exchange))


async def test_enter_on_a_traffic_row_opens_its_flow_and_escape_closes_it() -> None:
    app = TrafficHost(n_plus_one_exchange(1), cached_exchange(2))
    async with app.run_test(size=(120, 40)) as pilot:
        from textual.widgets import DataTable

        table = app.query_one(DataTable)
        table.focus()
        table.move_cursor(row=0)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, FlowScreen) and app.screen.exchange.id == 1
        view = app.screen.query_one(FlowView)
        assert view.flow is not None and view.flow.statement_count == 21
        summary = str(view.query_one("#flow-summary").render())
        assert "21 SQL statements (20 alike: N+1; full scan of books)" in summary
        groups = str(view.query_one("#flow-groups").render())
        assert "N+1: the same query ran 20 times, once per item;" in groups
        assert "FULL SCAN of books" in groups
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, FlowScreen)
        table.move_cursor(row=1)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, FlowScreen) and app.screen.exchange.id == 2
        groups = str(app.screen.query_one("#flow-groups").render())
        assert "No SQL ran in this request: the cache answered it." in groups


async def test_flow_view_without_a_request_says_how_to_get_one() -> None:
    class Empty(App[None]):
        def compose(self) -> ComposeResult:
            yield FlowView()

    app = Empty()
    async with app.run_test(size=(80, 24)):
        assert "press Enter" in str(app.query_one("#flow-summary").render())


def test_every_kind_of_event_the_sandbox_traces_has_a_colour() -> None:
    """A new kind of trace event (an upstream call, a backoff, the job worker catching up) is drawn in a
    colour of its own, not as plain text among the others."""
    import re

    from tests.conftest import REPO
    from tutor.app.widgets.flow_view import KIND_STYLE

    source = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "sandboxes").rglob("*.py"))
    kinds = set(re.findall(r"\.(?:add|span)\(\s*\"([a-z_]+)\"", source))
    assert {"sql", "upstream", "jobs", "webhooks"} <= kinds
    assert sorted(kinds - KIND_STYLE.keys()) == []
