"""The load tool against a real lesson sandbox: concurrent requests complete out of order, and the
traffic table must take them in any order without a duplicate row (it used to crash the app)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from textual.widgets import DataTable, Input

from sandboxes.api.recorder import Exchange, TrafficRecorder
from tests.api.workbench_host import WorkbenchHost
from tests.conftest import BUILTIN
from tutor.app.widgets.load_tool import LoadTool
from tutor.app.widgets.request_workbench import RequestWorkbench
from tutor.app.widgets.traffic_view import MAX_ROWS, TrafficView
from tutor.pack.loader import load_pack_or_raise
from tutor.paths import Home
from tutor.session import Session

pytestmark = pytest.mark.anyio


def _exchange(recorder: TrafficRecorder, number: int) -> Exchange:
    exchange = Exchange(number, 1_700_000_000.0, "outside", "GET", "/v1/books", "", [], b"")
    exchange.status = 200
    return exchange


async def test_exchanges_logged_out_of_order_each_get_one_row() -> None:
    """Ids are given when a request arrives, the log is written when it ends: 2 may come before 1."""
    recorder = TrafficRecorder()
    first, second, third = (recorder.next_id() for _ in range(3))

    class Api:
        base_url = "http://127.0.0.1:9"
        weak_auth_modes: list[str] = []

        def __init__(self) -> None:
            self.recorder = recorder

        def curl_example(self) -> str:
            return "curl"

    class FakeSession:
        api = Api()

    app = WorkbenchHost(FakeSession())
    async with app.run_test(size=(80, 24)) as pilot:
        traffic = app.query_one(TrafficView)
        traffic.poll = 0
        recorder.append(_exchange(recorder, second))
        traffic.refresh_traffic()
        recorder.append(_exchange(recorder, first))  # finished later, lower id
        traffic.refresh_traffic()
        fourth, fifth = recorder.next_id(), recorder.next_id()
        recorder.append(_exchange(recorder, fifth))
        recorder.append(_exchange(recorder, fourth))  # the newest in the log has a lower id than one before it
        traffic.refresh_traffic()
        recorder.append(_exchange(recorder, third))
        traffic.refresh_traffic()
        traffic.refresh_traffic()
        await pilot.pause()
        table = traffic.query_one(DataTable)
        keys = sorted(int(k.value or 0) for k in table.rows)
        assert keys == [first, second, third, fourth, fifth]
        assert app.is_running


@pytest.fixture
def n_plus_one(tutor_home: Path) -> Iterator[Session]:
    pack = load_pack_or_raise(BUILTIN)
    lesson = pack.lesson("n-plus-one")
    assert lesson is not None
    with Session(pack, lesson, Home(tutor_home)) as session:
        session.start()
        yield session


@pytest.mark.slow
async def test_load_tool_on_the_n_plus_one_lesson_with_outside_traffic_and_a_full_table(
    n_plus_one: Session,
) -> None:
    api = n_plus_one.api
    assert api is not None
    app = WorkbenchHost(n_plus_one)
    async with app.run_test(size=(80, 24)) as pilot:
        wb = app.query_one(RequestWorkbench)
        async with httpx.AsyncClient(base_url=api.base_url, trust_env=False, timeout=30) as client:
            # a busy table first: more rows than it keeps
            for start in range(0, MAX_ROWS + 40, 20):
                await asyncio.gather(*(client.get(f"/v1/books/{1 + (start + i) % 50}") for i in range(20)))
            await pilot.pause(0.3)
            wb.query_one("#rw-url", Input).value = "/v1/books"
            load = wb.query_one(LoadTool)
            load.query_one("#load-n", Input).value = "60"
            load.query_one("#load-c", Input).value = "6"
            await pilot.press("f9")
            # outside traffic at the same time as the load run
            outside = [client.get("/v1/books", params={"limit": 3}) for _ in range(20)]
            await asyncio.gather(*outside)
            await app.workers.wait_for_complete()
            await pilot.pause(0.8)
        assert app.is_running and app.return_code is None
        assert load.last is not None and load.last.requests == 60 and load.last.errors == 0
        traffic = wb.query_one(TrafficView)
        table = traffic.query_one(DataTable)
        assert table.row_count == MAX_ROWS
        shown = [int(k.value or 0) for k in table.rows]
        assert len(shown) == len(set(shown))
        newest = {e.id for e in api.recorder.all()[-MAX_ROWS:]}
        assert newest <= set(shown) | {e.id for e in api.recorder.all()[:-MAX_ROWS]}
        # the load tool's own requests say where they came from
        assert sum(1 for e in api.recorder.all() if traffic.source_label(e) == "load") == 60
