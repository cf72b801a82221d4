"""How the screens look, at 80x24 and 120x40 (pytest-textual-snapshot; review the SVGs before updating)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import TextArea

from tutor.progress import ProgressStore

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def seed(home: Path) -> None:
    """Some history, so the course map shows every status: a lesson started, one step done."""
    with ProgressStore.open(home / "progress.db") as store:
        store.record_attempt("test-pack", "1.0.0", "first", "pick", passed=True)
        store.visit("test-pack", "1.0.0", "first", "type-it")


def runner(settle, *keys: str, lesson: str | None = None, step: str | None = None):
    async def run_before(pilot) -> None:
        await settle(pilot)
        if lesson is not None:
            pilot.app.open_lesson(lesson, step)
            for _ in range(200):  # the lesson loads and its sandboxes start in workers
                await settle(pilot)
                if getattr(pilot.app.screen, "session_ready", False):
                    break
                await pilot.pause(0.05)
            await settle(pilot)
        for widget in pilot.app.screen.query("Input, TextArea"):
            widget.cursor_blink = False  # type: ignore[attr-defined]
            if isinstance(widget, TextArea):
                # TextArea caches a rendered line without its cursor state when blinking is off: a line drawn
                # before it had the focus stayed cursorless. Setting the text again clears that cache.
                widget.text = widget.text
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_course_map(snap_compare, app_factory, settle, tutor_home: Path, size) -> None:
    seed(tutor_home)
    assert snap_compare(app_factory(), terminal_size=size, run_before=runner(settle))


@pytest.mark.parametrize("size", SIZES)
def test_lesson_step(snap_compare, app_factory, settle, size) -> None:
    assert snap_compare(app_factory(), terminal_size=size, run_before=runner(settle, lesson="first", step="pick"))


@pytest.mark.parametrize("size", SIZES)
def test_failed_check_explains(snap_compare, app_factory, settle, size) -> None:
    run_before = runner(settle, "enter", "f5", lesson="first", step="pick")  # "4xx" is wrong
    assert snap_compare(app_factory(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_passed_check(snap_compare, app_factory, settle, size) -> None:
    run_before = runner(settle, "down", "enter", "f5", lesson="first", step="pick")
    assert snap_compare(app_factory(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_hints_after_a_recognised_mistake(snap_compare, app_factory, settle, size) -> None:
    """120 is a declared wrong answer with a hint of its own: F6 gives it first (Hint 1/2), then the step's."""
    run_before = runner(settle, "1", "2", "0", "enter", "f6", "f6", lesson="first", step="count")
    assert snap_compare(app_factory(), terminal_size=size, run_before=run_before)
