"""The SQL workbench on its own, in a tiny host app (the lesson screen mounts it the same way)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Static, TextArea, Tree

from sandboxes.sql.sandbox import SqlSandbox
from tutor.app.messages import WorkbenchActed
from tutor.app.widgets.sql_workbench import SqlWorkbench
from tutor.pack.sandbox_sql import SqlSettings
from tutor.paths import Home

SETTINGS = {
    "time_limit": 1.0,
    "tables": [
        {
            "name": "books",
            "rows": 3000,
            "seed": 5,
            "primary_key": "id",
            "columns": [
                {"name": "id", "gen": "sequence"},
                {"name": "title", "gen": "words", "min": 1, "max": 3},
                {"name": "author_id", "gen": "int", "min": 1, "max": 100},
                {"name": "year", "gen": "int", "min": 1950, "max": 2024},
            ],
        }
    ],
}
pytestmark = pytest.mark.anyio

QUERY = "SELECT id, title, year\nFROM books\nWHERE author_id = 42\nORDER BY year, id;"


class Host(App[None]):
    def __init__(self, sandbox: SqlSandbox) -> None:
        super().__init__()
        self.session = SimpleNamespace(sql=sandbox)
        self.acted: list[WorkbenchActed] = []

    def compose(self) -> ComposeResult:
        workbench = SqlWorkbench(self.session, id="wb")
        workbench.format_elapsed = lambda seconds: "12 ms"  # stable snapshots
        yield workbench

    def on_mount(self) -> None:
        self.query_one("#sql-path", Static).update("Database: HOME/sessions/books/live.db")
        self.query_one("#sql-editor", TextArea).cursor_blink = False

    def on_workbench_acted(self, message: WorkbenchActed) -> None:
        self.acted.append(message)


@pytest.fixture
def sandbox(tutor_home: Path, tmp_path: Path) -> Iterator[SqlSandbox]:
    box = SqlSandbox.open(
        SqlSettings.model_validate(SETTINGS), pack_root=tmp_path, home=Home(tutor_home), lesson_id="books"
    )
    yield box
    box.close()


async def _run(app: Host, pilot, sql: str) -> None:  # type: ignore[no-untyped-def]
    app.query_one("#sql-editor", TextArea).text = sql
    app.query_one("#sql-editor", TextArea).focus()
    await pilot.press("ctrl+r")
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_run_shows_rows_plan_and_posts_message(sandbox: SqlSandbox) -> None:
    app = Host(sandbox)
    async with app.run_test(size=(120, 40)) as pilot:
        await _run(app, pilot, QUERY)
        table = app.query_one("#sql-results", DataTable)
        assert [str(c.label) for c in table.columns.values()] == ["id", "title", "year"]
        expected = sandbox.connect().execute("SELECT count(*) FROM books WHERE author_id = 42").fetchone()[0]
        assert table.row_count == expected
        assert f"{expected} rows in 12 ms" in str(app.query_one("#sql-status", Static).render())
        plan = app.query_one("#sql-plan", Tree)
        labels = [str(node.label) for node in plan.root.children]
        assert any("FULL SCAN of books" in label for label in labels)
        assert app.acted and app.acted[-1].workbench == "sql"
        assert sandbox.evidence().last_query() is not None
        assert sandbox.history()[-1] == QUERY


async def test_errors_ddl_history_and_reset(sandbox: SqlSandbox) -> None:
    app = Host(sandbox)
    async with app.run_test(size=(120, 40)) as pilot:
        await _run(app, pilot, "SELECT 1;\nSELEC 2;")
        status = app.query_one("#sql-status", Static)
        assert "Error in statement 2, line 2, column 1" in str(status.render())
        assert status.has_class("-error")
        await _run(app, pilot, "CREATE INDEX ix_books_author ON books(author_id)")
        schema = app.query_one("#sql-schema", Tree)
        books = schema.root.children[0]
        assert any("ix_books_author" in str(n.label) for n in books.children)
        sandbox.reset()  # F4 is the lesson screen's: it resets the step, then tells the workbench
        app.query_one(SqlWorkbench).after_external_reset()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not any("ix_books_author" in str(n.label) for n in schema.root.children[0].children)


async def test_results_and_plan_never_show_rows_from_before_a_change(sandbox: SqlSandbox) -> None:
    """After an UPDATE or CREATE INDEX the grid and the plan of an earlier SELECT would be out of date."""
    app = Host(sandbox)
    async with app.run_test(size=(80, 24)) as pilot:
        await _run(app, pilot, QUERY)
        assert app.query_one("#sql-results", DataTable).row_count > 0
        await _run(app, pilot, "BEGIN; UPDATE books SET year = year + 1 WHERE author_id = 42")
        table = app.query_one("#sql-results", DataTable)
        assert [str(c.label) for c in table.columns.values()] == ["(no rows)"]
        assert "run a SELECT" in str(table.get_row_at(0)[0])
        assert "run a SELECT" in str(app.query_one("#sql-plan", Tree).root.label)
        status = str(app.query_one("#sql-status", Static).render())
        assert "changed" in status and "transaction open" in status  # U10: an open transaction shows
        await _run(app, pilot, "ROLLBACK")
        assert "transaction open" not in str(app.query_one("#sql-status", Static).render())


async def test_ctrl_l_clears_the_editor(sandbox: SqlSandbox) -> None:
    app = Host(sandbox)
    async with app.run_test(size=(80, 24)) as pilot:
        editor = app.query_one("#sql-editor", TextArea)
        editor.text = "SELECT a very long query that wraps over several visual lines " * 3
        editor.focus()
        await pilot.press("ctrl+l")
        assert editor.text == "" and app.focused is editor


async def test_cancel_stops_a_runaway_query(sandbox: SqlSandbox) -> None:
    sandbox.settings = sandbox.settings.model_copy(update={"time_limit": 30})
    app = Host(sandbox)
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(
            "#sql-editor", TextArea
        ).text = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
        await pilot.press("ctrl+r")
        await pilot.pause(0.3)
        await pilot.press("f9")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "interrupted: cancelled" in str(app.query_one("#sql-status", Static).render())
