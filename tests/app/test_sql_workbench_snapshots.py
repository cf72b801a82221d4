"""How the SQL workbench looks: highlighted SQL, a result, a plan with a full scan, an error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import DataTable, TabbedContent, TextArea

from sandboxes.sql.sandbox import SqlSandbox
from tests.app.test_sql_workbench import QUERY, SETTINGS, Host
from tutor.pack.sandbox_sql import SqlSettings
from tutor.paths import Home


@pytest.fixture
def sandbox(tutor_home: Path, tmp_path: Path) -> Iterator[SqlSandbox]:
    box = SqlSandbox.open(
        SqlSettings.model_validate(SETTINGS), pack_root=tmp_path, home=Home(tutor_home), lesson_id="books"
    )
    yield box
    box.close()


def _runner(sql: str, tab: str | None = None):  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        editor = app.query_one("#sql-editor", TextArea)
        editor.text = sql
        editor.focus()
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        # the worker's QueryRan message is shown, and the grid measures its rows when the app is idle
        table = app.query_one("#sql-results", DataTable)
        for _ in range(200):
            await pilot.pause(0.02)
            if table.row_count and all(
                column.content_width >= max(len(str(cell)) for cell in table.get_column(key))
                for key, column in table.columns.items()
            ):
                break
        await pilot.pause()
        if tab is not None:
            app.query_one("#sql-tabs", TabbedContent).active = tab
            await pilot.pause()
        editor.cursor_blink = False
        await pilot.pause()

    return run_before


def test_result_120x40(snap_compare, sandbox: SqlSandbox) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(Host(sandbox), terminal_size=(120, 40), run_before=_runner(QUERY))


def test_plan_full_scan_80x24(snap_compare, sandbox: SqlSandbox) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(Host(sandbox), terminal_size=(80, 24), run_before=_runner(QUERY, "sql-tab-plan"))


def test_error_80x24(snap_compare, sandbox: SqlSandbox) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(
        Host(sandbox), terminal_size=(80, 24), run_before=_runner("SELECT title\nFROM bookz\nWHERE year > 2000;")
    )
