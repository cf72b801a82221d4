"""App tests: a small fixture pack of our own (the built-in pack changes as lessons are written)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tutor.app import make_app
from tutor.app.app import TutorApp
from tutor.paths import Home

FIXTURE_PACK = Path(__file__).resolve().parent / "fixtures" / "pack"


@pytest.fixture
def app_factory(tutor_home: Path):
    """Build the app the way the CLI does, on the fixture pack and the test's own home."""
    made: list[TutorApp] = []

    def make(pack: Path = FIXTURE_PACK) -> TutorApp:
        app = make_app(pack, Home(tutor_home))
        made.append(app)
        return app

    yield make
    for app in made:
        app.close_sessions()
        app.store.close()


async def _settle(pilot: Pilot) -> None:
    """Let workers (pack validation, session start, checks, progress writes) finish and the screen redraw."""
    for _ in range(5):
        await pilot.pause()
        workers = [w for w in pilot.app.workers if w.is_running]
        if not workers:
            break
        try:  # bounded: a worker stuck in I/O must fail the test's own assertions, not hang the suite
            await asyncio.wait_for(pilot.app.workers.wait_for_complete(), timeout=30)
        except TimeoutError:
            break
    await pilot.pause()


@pytest.fixture
def settle():
    return _settle


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
