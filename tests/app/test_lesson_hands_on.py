"""A hands-on SQL step inside the real lesson screen: the workbench runs SQL (Ctrl+R) and the lesson's
F5 checks what was done. Proves the workbench keys and the lesson keys don't shadow each other."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Static, TextArea

from tutor.app.screens.lesson import LessonScreen
from tutor.app.widgets.sql_workbench import SqlWorkbench

pytestmark = pytest.mark.anyio
SIZE = (120, 40)


def verdict(app: Any) -> str:
    return str(app.screen.query_one("#verdict", Static).render())


async def run_sql(pilot: Any, settle: Any, sql: str) -> None:
    editor = pilot.app.screen.query_one(SqlWorkbench).query_one(TextArea)
    editor.text = sql
    editor.focus()
    await pilot.press("ctrl+r")
    await settle(pilot)


async def test_sql_step_in_the_lesson_screen_wrong_then_right(app_factory: Any, settle: Any) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_lesson("make-table")
        await settle(pilot)
        assert isinstance(app.screen, LessonScreen)
        assert app.screen.query(SqlWorkbench), "the SQL workbench is mounted once the session has started"

        await run_sql(pilot, settle, "CREATE TABLE book (id INTEGER PRIMARY KEY);")
        await pilot.press("f5")
        await settle(pilot)
        wrong = verdict(app)
        assert "Not yet" in wrong and "books" in wrong

        await run_sql(pilot, settle, "CREATE TABLE books (id INTEGER PRIMARY KEY);")
        await pilot.press("f5")
        await settle(pilot)
        assert "Passed" in verdict(app)


async def test_database_build_shows_a_progress_bar() -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import ProgressBar

    from tutor.app.widgets.workbench_area import WorkbenchArea

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield WorkbenchArea()

    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        area = app.query_one(WorkbenchArea)
        area.set_progress("Building table books (1,000,000 rows)", 0.25)
        await pilot.pause()
        assert app.query_one(ProgressBar).percentage == 0.25
        assert "Building table books" in str(app.query_one("#workbench-status", Static).render())
        area.set_progress("Copying the database", 1.0)
        await pilot.pause()
        assert app.query_one(ProgressBar).percentage == 1.0


async def test_a_lesson_reopened_after_a_passed_step_has_the_database_the_learner_left(
    app_factory: Any, settle: Any
) -> None:
    """Leaving a lesson and coming back does not undo what its passed steps made: the table the learner
    created is still in the database (before, every open copied the lesson's data afresh)."""
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_lesson("make-table")
        await settle(pilot)
        await run_sql(pilot, settle, "CREATE TABLE books (id INTEGER PRIMARY KEY); INSERT INTO books VALUES (7);")
        await pilot.press("f5")
        await settle(pilot)
        assert "Passed" in verdict(app)
        await pilot.press("escape")
        await settle(pilot)
        for _ in range(50):  # the old session is closed on a thread of its own
            if not app.sessions:
                break
            await pilot.pause(0.1)

        app.open_lesson("make-table")
        await settle(pilot)
        session = app.screen.session
        assert session is not None and session.sql is not None and session.sql.kept
        assert session.sql.connect().execute("SELECT id FROM books").fetchall() == [(7,)]
