"""How the request workbench and its traffic view look, at 80x24 and 120x40."""

from __future__ import annotations

import time

import pytest

from tests.api.workbench_host import FakeApi, FakeSession, WorkbenchHost


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_workbench_request_tab(snap_compare, size) -> None:
    async def fill(pilot) -> None:
        from textual.widgets import Input, TextArea

        pilot.app.query_one("#rw-url", Input).value = "/v1/books?limit=5"
        pilot.app.query_one("#rw-headers", TextArea).text = "Authorization: Bearer abc.def.ghi"
        pilot.app.query_one("#rw-body", TextArea).text = '{"title": "Dune"}'
        pilot.app.set_focus(None)
        await pilot.pause()

    assert snap_compare(WorkbenchHost(FakeSession(FakeApi())), terminal_size=size, run_before=fill)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_traffic_view(snap_compare, size) -> None:
    async def open_traffic(pilot) -> None:
        from textual.widgets import TabbedContent

        pilot.app.query_one("#rw-tabs", TabbedContent).active = "rw-tab-traffic"
        pilot.app.set_focus(None)
        await pilot.pause()

    assert snap_compare(WorkbenchHost(FakeSession(FakeApi())), terminal_size=size, run_before=open_traffic)
