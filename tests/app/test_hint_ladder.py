"""F6 follows the mistake just made: a recognised wrong answer's own hints come first, then the step's; the
"Hint n/m" label counts that ladder; the hints shown come back, in the order shown, when the step is
opened again. Driven by keys at 80x24 on a real lesson (SQLite and the API on 127.0.0.1)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from tests.app.test_learner_keys import DESK, SIZE, check, footer, opened
from tutor.app.lesson.hints import HintsSeen, restore
from tutor.pack.models import Step
from tutor.progress import ProgressStore

pytestmark = pytest.mark.anyio

MISTAKE_HINT = "Read the index's columns in order, left to right."
STEP_HINT = "Which column is first in the index?"


def hints_on(screen: Any) -> list[str]:
    return [" ".join(str(hint.render()).split()) for hint in screen.query(".hint")]


async def test_after_a_recognised_mistake_f6_gives_its_own_hint_first_and_reopening_shows_the_same(
    app_factory: Any, settle: Any, tutor_home: Path
) -> None:
    app = app_factory(DESK)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, settle, "desk", "pick")
        assert any("Hint" in key for key in footer(app))
        await pilot.press("enter")  # the first option, the declared wrong answer "scan"
        await check(pilot, settle)
        assert screen.last_result is not None and screen.last_result.mistake == 0
        await pilot.press("f6")
        await settle(pilot)
        assert hints_on(screen) == [f"Hint 1/2: {MISTAKE_HINT}"]  # the mistake's own, then the step's: two
        await pilot.press("f6")
        await settle(pilot)
        assert hints_on(screen) == [f"Hint 1/2: {MISTAKE_HINT}", f"Hint 2/2: {STEP_HINT}"]
        assert not any("Hint" in key for key in footer(app))  # none left: the footer stops offering F6
        await pilot.press("f6")  # one more: nothing new, nothing counted
        await settle(pilot)
        assert len(hints_on(screen)) == 2
        await app.workers.wait_for_complete()
        await pilot.press("escape")
        await settle(pilot)
        screen = await opened(pilot, settle, "desk", "pick")
        assert hints_on(screen) == [f"Hint 1/2: {MISTAKE_HINT}", f"Hint 2/2: {STEP_HINT}"]
    with ProgressStore.open(tutor_home / "progress.db") as store:
        assert store.step("workbench-pack", "desk", "pick").hints_used == 2
    kept = json.loads((tutor_home / "sessions" / "desk" / HintsSeen.FILE).read_text())
    assert kept == {"pick": [MISTAKE_HINT, STEP_HINT]}


async def test_a_hint_asked_before_any_mistake_is_the_steps_and_the_mistake_adds_its_own(
    app_factory: Any, settle: Any
) -> None:
    app = app_factory(DESK)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, settle, "desk", "pick")
        await pilot.press("f6")
        await settle(pilot)
        assert hints_on(screen) == [f"Hint 1/1: {STEP_HINT}"]
        await pilot.press("enter")
        await check(pilot, settle)
        assert any("Hint" in key for key in footer(app))  # the mistake brought a hint of its own
        await pilot.press("f6")
        await settle(pilot)
        assert hints_on(screen) == [f"Hint 1/1: {STEP_HINT}", f"Hint 2/2: {MISTAKE_HINT}"]


def _step(hints: list[str], wrong: list[list[str]]) -> Step:
    """What restore reads of a step: its hints and each wrong answer's."""
    return cast(Step, SimpleNamespace(hints=hints, wrong_answers=[SimpleNamespace(hints=h) for h in wrong]))


def test_restore_keeps_the_order_shown_and_falls_back_to_the_steps_own() -> None:
    step = _step(["a", "b"], [["x"], ["y", "a"]])
    assert restore(step, 2, ["x", "a"]) == ["x", "a"]
    assert restore(step, 3, ["y"]) == ["y", "a", "b"]  # the count is the store's; missing texts are filled
    assert restore(step, 1, ["gone from the lesson", "b"]) == ["b"]
    assert restore(step, 2, None) == ["a", "b"]
    assert restore(step, 0, ["x"]) == []


def test_hints_seen_survive_a_damaged_file(tmp_path: Path) -> None:
    seen = HintsSeen(tmp_path)
    seen.save("s", ["x", "a"])
    assert HintsSeen(tmp_path).get("s") == ["x", "a"]
    (tmp_path / HintsSeen.FILE).write_text("{not json")
    assert HintsSeen(tmp_path).get("s") == []
    seen.save("s", ["a"])
    assert HintsSeen(tmp_path).all() == {"s": ["a"]}
