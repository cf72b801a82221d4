"""More screens a learner sees: F1 help, the solution confirmation, the pack-problems list, and a
hands-on lesson with its workbench (pytest-textual-snapshot; review the SVGs before updating)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.app.conftest import FIXTURE_PACK
from tests.app.test_app_snapshots import SIZES, runner
from tutor.app import make_app
from tutor.paths import Home


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(snap_compare, app_factory, settle, size) -> None:
    assert snap_compare(app_factory(), terminal_size=size, run_before=runner(settle, "f1"))


@pytest.mark.parametrize("size", SIZES)
def test_solution_confirmation(snap_compare, app_factory, settle, size) -> None:
    run_before = runner(settle, "enter", "f5", "f7", lesson="first", step="pick")  # one wrong try, then ask
    assert snap_compare(app_factory(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_pack_problems(snap_compare, app_factory, settle, size, fixed_paths_lock) -> None:
    pack = Path("/tmp/backend-tutor-snapshot-pack")  # the screen names the pack's folder: keep it fixed
    shutil.rmtree(pack, ignore_errors=True)
    shutil.copytree(FIXTURE_PACK, pack)
    lesson = pack / "basics" / "02-second.yaml"
    lesson.write_text(lesson.read_text(encoding="utf-8").replace("title:", "titel:", 1), encoding="utf-8")
    app = app_factory(pack)
    app.notify = lambda *args, **kwargs: None  # type: ignore[method-assign]  # a toast times out: keep it out
    try:
        assert snap_compare(app, terminal_size=size, run_before=runner(settle, "p"))
    finally:
        shutil.rmtree(pack, ignore_errors=True)


@pytest.fixture
def fixed_home(fixed_paths_lock):
    """The workbench shows the database's path: a fixed home keeps the picture the same on every run."""
    root = Path("/tmp/backend-tutor-snapshot-home")
    shutil.rmtree(root, ignore_errors=True)
    yield Home(root)
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("size", SIZES)
def test_hands_on_lesson_with_workbench(snap_compare, settle, fixed_home: Home, size) -> None:
    app = make_app(FIXTURE_PACK, fixed_home)
    try:
        assert snap_compare(app, terminal_size=size, run_before=runner(settle, lesson="make-table"))
    finally:
        app.close_sessions()
        app.store.close()
