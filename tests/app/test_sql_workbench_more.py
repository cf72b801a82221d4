"""The SQL workbench by keys: completion from the lesson's schema, a row's long values in full, a
result saved as CSV or JSON, and workers that post messages a test can wait for."""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, OptionList, TextArea

from sandboxes.sql.sandbox import SqlSandbox
from tests.app.test_sql_workbench import SETTINGS, Host
from tutor.app.widgets.sql_dialogs import CellScreen, ExportScreen
from tutor.app.widgets.sql_workbench import SqlWorkbench
from tutor.pack.sandbox_sql import SqlSettings
from tutor.paths import Home

pytestmark = pytest.mark.anyio


@pytest.fixture
def sandbox(tutor_home: Path, tmp_path: Path) -> Iterator[SqlSandbox]:
    box = SqlSandbox.open(
        SqlSettings.model_validate(SETTINGS), pack_root=tmp_path, home=Home(tutor_home), lesson_id="books"
    )
    yield box
    box.close()


async def ran(pilot: Any) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


async def test_completion_offers_the_lesson_s_tables_and_columns(sandbox: SqlSandbox) -> None:
    app = Host(sandbox)
    async with app.run_test(size=(80, 24)) as pilot:
        await ran(pilot)  # the schema is read
        editor = app.query_one("#sql-editor", TextArea)
        editor.focus()
        await pilot.press(*"SELECT ti", "ctrl+space")  # one candidate: put in at once
        assert editor.text == "SELECT title"
        await pilot.press(*" FROM bo", "ctrl+space")
        assert editor.text == "SELECT title FROM books"
        await pilot.press(*" WHERE ", "ctrl+space")  # several: a menu under the cursor
        menu = app.query_one("#sql-complete", OptionList)
        assert menu.display and app.focused is menu
        labels = [str(menu.get_option_at_index(i).prompt) for i in range(menu.option_count)]
        assert labels[0] == "books" and "author_id" in labels
        menu.highlighted = labels.index("author_id")
        await pilot.press("enter")
        assert editor.text == "SELECT title FROM books WHERE author_id" and app.focused is editor
        assert not menu.display
        await pilot.press(*" = 7 ORD", "ctrl+space")
        assert editor.text.endswith("= 7 ORDER")


async def test_a_row_in_full_and_a_result_saved_as_csv_and_json(sandbox: SqlSandbox, tmp_path: Path) -> None:
    long_title = "A title far longer than the sixty characters the grid shows of any value, " * 3
    with sqlite3.connect(sandbox.path) as outside:  # as the learner's own sqlite3 would
        outside.execute("UPDATE books SET title = ? WHERE id = 1", (long_title,))
    messages: list[Any] = []
    app = Host(sandbox)
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        editor = app.query_one("#sql-editor", TextArea)
        editor.text = "SELECT id, title FROM books WHERE id <= 3 ORDER BY id"
        editor.focus()
        await pilot.press("ctrl+r")
        await ran(pilot)
        assert any(isinstance(m, SqlWorkbench.QueryRan) and m.result.last_rows is not None for m in messages)
        table = app.query_one("#sql-results", DataTable)
        assert str(table.get_row_at(0)[1]).endswith("…")  # cut in the grid
        table.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CellScreen)
        assert long_title.strip() in app.screen.query_one("#cell-value", TextArea).text
        await pilot.press("escape")
        await pilot.pause()
        target = tmp_path / "out" / "three.csv"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        box = app.screen.query_one("#export-path", Input)
        box.value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        rows = list(csv.reader(target.open(encoding="utf-8")))
        assert rows[0] == ["id", "title"] and rows[1] == ["1", long_title] and len(rows) == 4
        await pilot.press("ctrl+s")
        await pilot.pause()
        app.screen.query_one("#export-path", Input).value = str(tmp_path / "three.json")
        await pilot.press("enter")
        await pilot.pause()
        assert json.loads((tmp_path / "three.json").read_text())[2]["id"] == 3
