"""How the workbenches' new parts look, at 80x24 and 120x40: two responses side by side, a response being
searched, the request history, a row in full, saving a result, completion, one result tab per statement
(pytest-textual-snapshot; review the SVGs before updating)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.widgets import DataTable, Static, TabbedContent, TextArea

from sandboxes.sql.sandbox import SqlSandbox
from tests.api.workbench_host import FakeApi, FakeSession, WorkbenchHost
from tests.app.test_sql_workbench import SETTINGS, Host
from tutor.app.widgets.request_dialogs import DiffScreen
from tutor.app.widgets.request_workbench import RequestWorkbench
from tutor.app.widgets.sql_dialogs import CellScreen, ExportScreen
from tutor.http.history import HistoryEntry, RequestHistory
from tutor.http.request import RequestSpec
from tutor.http.response import ResponseRecord
from tutor.pack.sandbox_sql import SqlSettings
from tutor.paths import Home

SIZES = [(80, 24), (120, 40)]
BOOK = b'{"id": 7, "title": "Dune", "price": 9.99, "in_stock": true, "isbn": null}'


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def record(cache: str, status: int = 200, body: bytes = BOOK, ms: float = 1.0) -> ResponseRecord:
    headers = [
        ("content-type", "application/json"),
        ("cache-control", "max-age=30"),
        ("etag", '"06b2b91907"'),
        ("x-cache", cache),
        ("server-timing", f"total;dur={ms}"),
    ]
    if cache == "HIT":
        headers.append(("age", "4"))
    return ResponseRecord.build(status, "OK", headers, body, ms * 3)


MISS = HistoryEntry(1_700_000_000.0, RequestSpec("GET", "/v1/books/7"), record("MISS", ms=12.5))
HIT = HistoryEntry(1_700_000_004.0, RequestSpec("GET", "/v1/books/7"), record("HIT", ms=0.3))


class Dialog(App[None]):
    def __init__(self, screen: Any) -> None:
        super().__init__()
        self.dialog = screen

    def on_mount(self) -> None:
        self.push_screen(self.dialog)


@pytest.mark.parametrize("size", SIZES)
def test_two_responses_side_by_side(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(Dialog(DiffScreen(MISS, HIT)), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_a_row_in_full(snap_compare: Any, size: tuple[int, int]) -> None:
    values = [7, "The Left Hand of Darkness: " + "a long description of the book, " * 6, None, b"\x00\x01"]
    screen = CellScreen(["id", "title", "subtitle", "cover"], 7, values)
    assert snap_compare(Dialog(screen), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_saving_a_result(snap_compare: Any, size: tuple[int, int]) -> None:
    screen = ExportScreen(Path("/tmp/result-1.csv"), ["id", "title"], [(1, "Dune")] * 500, 1200)
    assert snap_compare(Dialog(screen), terminal_size=size)


@pytest.fixture
def history_home(tmp_path: Path) -> Path:
    folder = tmp_path / "sessions" / "workbench-test"
    history = RequestHistory(folder)
    history.add(MISS.request, MISS.response, at=MISS.at)
    history.add(HIT.request, HIT.response, at=HIT.at)
    history.add(
        RequestSpec("POST", "/auth/login", {"Content-Type": "application/json"}, "{}"),
        record("MISS", 401),
        at=1_700_000_010,
    )
    return tmp_path


@pytest.mark.parametrize("size", SIZES)
def test_the_history_tab(snap_compare: Any, history_home: Path, size: tuple[int, int]) -> None:
    async def open_history(pilot: Any) -> None:
        app = pilot.app
        app.query_one("#rw-tabs", TabbedContent).active = "rw-tab-history"
        app.query_one("#rw-history").focus()
        await pilot.pause()
        await pilot.press("down", "down", "d")  # the second newest is marked as A
        await pilot.pause()

    app = WorkbenchHost(FakeSession(FakeApi(), history_home))
    assert snap_compare(app, terminal_size=size, run_before=open_history)


@pytest.mark.parametrize("size", SIZES)
def test_searching_a_response(snap_compare: Any, size: tuple[int, int]) -> None:
    async def search(pilot: Any) -> None:
        app = pilot.app
        workbench = app.query_one(RequestWorkbench)
        workbench.show_response(RequestSpec("GET", "/v1/books/7"), record("HIT"))
        workbench.query_one("#rw-url").value = "/v1/books/7"  # type: ignore[attr-defined]
        await pilot.pause()
        workbench.focus_result()
        await pilot.pause()
        await pilot.press("slash", *"dune")
        await pilot.pause()
        for area in app.query(TextArea):
            area.cursor_blink = False

    assert snap_compare(WorkbenchHost(FakeSession(FakeApi())), terminal_size=size, run_before=search)


@pytest.fixture
def sandbox(tutor_home: Path, tmp_path: Path) -> Iterator[SqlSandbox]:
    box = SqlSandbox.open(
        SqlSettings.model_validate(SETTINGS), pack_root=tmp_path, home=Home(tutor_home), lesson_id="books"
    )
    yield box
    box.close()


async def _measured(pilot: Any) -> None:
    await pilot.app.workers.wait_for_complete()
    table = pilot.app.query_one("#sql-results", DataTable)
    for _ in range(200):
        await pilot.pause(0.02)
        if table.row_count and all(
            column.content_width >= max(len(str(cell)) for cell in table.get_column(key))
            for key, column in table.columns.items()
        ):
            break
    await pilot.pause()


def test_completion_under_the_cursor(snap_compare: Any, sandbox: SqlSandbox) -> None:
    async def complete(pilot: Any) -> None:
        app = pilot.app
        await app.workers.wait_for_complete()
        await pilot.pause()
        editor = app.query_one("#sql-editor", TextArea)
        editor.cursor_blink = False
        editor.focus()
        await pilot.press(*"SELECT * FROM books WHERE ", "ctrl+space")
        await pilot.pause()

    assert snap_compare(Host(sandbox), terminal_size=(80, 24), run_before=complete)


def test_a_result_tab_per_statement(snap_compare: Any, sandbox: SqlSandbox) -> None:
    async def run(pilot: Any) -> None:
        app = pilot.app
        editor = app.query_one("#sql-editor", TextArea)
        editor.cursor_blink = False
        editor.text = (
            "SELECT count(*) FROM books;\nUPDATE books SET year = year WHERE id < 4;\n"
            "SELECT id, year FROM books WHERE id < 4;"
        )
        editor.focus()
        await pilot.press("ctrl+r")
        await _measured(pilot)
        app.query_one("#sql-status", Static).update("2 rows changed. 3 statements in 12 ms.")

    assert snap_compare(Host(sandbox), terminal_size=(80, 24), run_before=run)
