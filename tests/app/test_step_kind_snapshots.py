"""A hands-on SQL step and an HTTP step at 80x24, failed and passed, with real sandboxes (a fixed home
and a fixed API port keep the pictures the same; timings are pinned). The concept kind's failed and
passed pictures are test_app_snapshots' test_failed_check_explains / test_passed_check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textual.widgets import Input, TabbedContent, TextArea

from tests.app.conftest import FIXTURE_PACK
from tutor.app import make_app
from tutor.app.screens.lesson import LessonScreen
from tutor.app.widgets.sql_workbench import SqlWorkbench
from tutor.paths import Home

SIZE = (80, 24)
PORT = 18765


@pytest.fixture
def fixed_home(monkeypatch: pytest.MonkeyPatch, fixed_paths_lock):
    root = Path("/tmp/backend-tutor-snapshot-home-kinds")
    shutil.rmtree(root, ignore_errors=True)
    (root / "sessions" / "list-books").mkdir(parents=True)
    (root / "sessions" / "list-books" / "api-port").write_text(f"{PORT}\n")  # the API keeps this port
    monkeypatch.setattr("tutor.http.response.format_ms", lambda ms: "1.0 ms")
    yield Home(root)
    shutil.rmtree(root, ignore_errors=True)


def runner(settle, lesson: str, keys: list[str]):
    async def run_before(pilot) -> None:
        app = pilot.app
        await settle(pilot)
        app.open_lesson(lesson)
        for _ in range(100):
            await settle(pilot)
            screen = app.screen
            if isinstance(screen, LessonScreen) and screen.session_ready:
                break
            await pilot.pause(0.1)
        screen = app.screen
        if screen.session.api is not None:
            screen.session.api.recorder.subscribe(lambda exchange: setattr(exchange, "duration_ms", 1.0))
        for widget in screen.query(Input):
            widget.cursor_blink = False
        for widget in screen.query(TextArea):
            widget.cursor_blink = False
            widget.text = widget.text  # clears a line TextArea cached without its cursor (see test_app_snapshots)
        for workbench in screen.query(SqlWorkbench):
            workbench.format_elapsed = lambda seconds: "12 ms"
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        await pilot.pause(0.3)
        await settle(pilot)
        for tabs in screen.query("#rw-tabs").results(TabbedContent):
            tabs.active = "rw-tab-request"  # the response shows Date headers: keep the picture stable
        for table in screen.query("#traffic-table"):
            table.display = False
        await settle(pilot)

    return run_before


API_PACK = FIXTURE_PACK.parent / "api-pack"


def _snap(snap_compare, home: Home, settle, lesson: str, keys: list[str]) -> bool:
    app = make_app(API_PACK if lesson == "list-books" else FIXTURE_PACK, home)
    try:
        return snap_compare(app, terminal_size=SIZE, run_before=runner(settle, lesson, keys))
    finally:
        app.close_sessions()
        app.store.close()


def test_sql_step_failed(snap_compare, settle, fixed_home: Home) -> None:
    keys = [*"CREATE TABLE authors (id INTEGER)", "ctrl+r", "f5"]
    assert _snap(snap_compare, fixed_home, settle, "make-table", keys)


def test_sql_step_passed(snap_compare, settle, fixed_home: Home) -> None:
    keys = [*"CREATE TABLE books (id INTEGER PRIMARY KEY)", "ctrl+r", "f5"]
    assert _snap(snap_compare, fixed_home, settle, "make-table", keys)


def test_http_step_failed(snap_compare, settle, fixed_home: Home) -> None:
    keys = [*"/v1/books?limit=3", "ctrl+r", "f5"]
    assert _snap(snap_compare, fixed_home, settle, "list-books", keys)


def test_http_step_passed(snap_compare, settle, fixed_home: Home) -> None:
    keys = [*"/v1/books?limit=2", "ctrl+r", "f5"]
    assert _snap(snap_compare, fixed_home, settle, "list-books", keys)
