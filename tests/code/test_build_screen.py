"""The build-it panel in the real app: a save re-runs the check and the verdict follows it; a pack that is
not the built-in one is asked about first (Pilot tests and snapshots; review the SVGs before updating)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.app.test_app_snapshots import SIZES
from tutor.app import make_app
from tutor.app.widgets.build_panel import BuildPanel
from tutor.app.widgets.result_panel import ResultPanel
from tutor.code import trust
from tutor.pack.loader import load_pack_or_raise
from tutor.paths import Home

pytestmark = pytest.mark.anyio

PACK = Path(__file__).resolve().parent / "fixtures" / "buildpack"
RIGHT = (PACK / "http" / "hello" / "right" / "app.py").read_text()
BROKEN = "from fastapi import FastAPI\n\napp = FastAPI(\n"


@pytest.fixture
def fixed_home(fixed_paths_lock):
    """The panel shows the workspace's path: a fixed home keeps the picture the same on every run."""
    root = Path("/tmp/backend-tutor-buildit-snapshot-home")
    shutil.rmtree(root, ignore_errors=True)
    yield Home(root).ensure()
    shutil.rmtree(root, ignore_errors=True)


def workspace_file(home: Home) -> Path:
    return home.workspace / "build-fixture" / "hello" / "app.py"


async def wait_for(pilot, condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the screen did not get there in time"
        await pilot.pause(0.1)
    # then let the check's own follow-ups (progress saved, step list redrawn, scroll) finish
    settled = time.monotonic() + 30
    while time.monotonic() < settled and any(w.is_running and w.name != "watch_workspace" for w in pilot.app.workers):
        await pilot.pause(0.1)
    await pilot.pause(0.5)
    await pilot.pause(0.5)


def verdict(pilot) -> str:
    panel = pilot.app.screen.query_one(ResultPanel)
    return str(panel.query_one("#verdict").render()) if panel.display else ""


def saver(home: Home, source: str, expect: str):
    async def run_before(pilot) -> None:
        pilot.app.open_lesson("hello", "hello")
        await wait_for(
            pilot, lambda: pilot.app.screen.query(BuildPanel) and pilot.app.screen.query_one(BuildPanel).display
        )
        await pilot.pause(0.5)  # the watcher is up
        workspace_file(home).write_text(source)
        await wait_for(pilot, lambda: expect in verdict(pilot))

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_a_save_with_a_syntax_error_shows_its_line(snap_compare, fixed_home: Home, size) -> None:
    trust.trust(fixed_home, load_pack_or_raise(PACK))
    app = make_app(PACK, fixed_home)
    try:
        assert snap_compare(app, terminal_size=size, run_before=saver(fixed_home, BROKEN, "app.py:3"))
    finally:
        app.close_sessions()
        app.store.close()


@pytest.mark.parametrize("size", SIZES)
def test_a_save_that_passes(snap_compare, fixed_home: Home, size) -> None:
    trust.trust(fixed_home, load_pack_or_raise(PACK))
    app = make_app(PACK, fixed_home)
    try:
        assert snap_compare(app, terminal_size=size, run_before=saver(fixed_home, RIGHT, "Passed"))
    finally:
        app.close_sessions()
        app.store.close()


async def test_each_save_updates_the_verdict_and_progress(fixed_home: Home) -> None:
    trust.trust(fixed_home, load_pack_or_raise(PACK))
    app = make_app(PACK, fixed_home)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await saver(fixed_home, BROKEN, "could not read your code")(pilot)
            workspace_file(fixed_home).write_text(RIGHT)
            await wait_for(pilot, lambda: "Passed" in verdict(pilot))
            status = str(app.screen.query_one("#build-status").render())
            assert "✓ passes" in status and "app.py" in status
            assert app.store.step("build-fixture", "hello", "hello").passed
    finally:
        app.close_sessions()
        app.store.close()


async def test_a_pack_that_runs_code_is_asked_about_first(fixed_home: Home) -> None:
    from tutor.app.screens.confirm import ConfirmScreen

    app = make_app(PACK, fixed_home)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            app.open_lesson("hello", "hello")
            await wait_for(pilot, lambda: app.screen.query(BuildPanel) and app.screen.query_one(BuildPanel).display)
            await pilot.press("f5")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert "runs code on this computer" in str(app.screen.query_one("#confirm-question").render())
            await pilot.press("n")
            await pilot.pause(0.3)
            assert not trust.is_trusted(fixed_home, load_pack_or_raise(PACK))
            assert "chose not to run" in str(app.screen.query_one("#build-status").render())
            await pilot.press("f5")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await wait_for(pilot, lambda: "Not yet" in verdict(pilot))  # the starter: no /hello yet
            assert trust.is_trusted(fixed_home, load_pack_or_raise(PACK))
    finally:
        app.close_sessions()
        app.store.close()


async def test_reset_asks_first_and_keeps_a_backup(fixed_home: Home) -> None:
    from textual.widgets import Button

    from tutor.app.screens.confirm import ConfirmScreen

    trust.trust(fixed_home, load_pack_or_raise(PACK))
    app = make_app(PACK, fixed_home)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await saver(fixed_home, RIGHT, "Passed")(pilot)
            app.screen.query_one("#build-reset", Button).focus()
            await pilot.press("enter")  # keyboard only
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert "app.py changed" in str(app.screen.query_one("#confirm-question").render())
            await pilot.press("n")
            await pilot.pause(0.3)
            assert workspace_file(fixed_home).read_text() == RIGHT  # "no" keeps the learner's files
            app.screen.query_one("#build-reset", Button).focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await pilot.pause(0.5)
            assert workspace_file(fixed_home).read_text() == (PACK / "http/hello/starter/app.py").read_text()
            (backup,) = (workspace_file(fixed_home).parent / ".backups").iterdir()
            assert (backup / "app.py").read_text() == RIGHT
    finally:
        app.close_sessions()
        app.store.close()
