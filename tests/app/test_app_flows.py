"""What a learner does, driven with Pilot: open, answer wrong, hint, answer right, solution, resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, RadioSet, Static

from tutor.app.screens.confirm import ConfirmScreen
from tutor.app.screens.course_map import CourseMapScreen
from tutor.app.screens.lesson import LessonScreen
from tutor.app.widgets.choice_buttons import ChoiceBox
from tutor.app.widgets.course_list import CourseList
from tutor.app.widgets.result_panel import ResultPanel
from tutor.progress import PASSED, ProgressStore

pytestmark = pytest.mark.anyio
SIZE = (120, 40)


def text_of(app: Any, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def open_first(pilot, settle) -> LessonScreen:
    await settle(pilot)
    await pilot.press("enter")  # the first lesson is highlighted
    await settle(pilot)
    assert isinstance(pilot.app.screen, LessonScreen)
    return pilot.app.screen


async def test_course_map_lists_tracks_lessons_and_status(app_factory, settle) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, CourseMapScreen)
        prompts = [str(o.prompt) for o in app.screen.query_one(CourseList).options]
        assert prompts[0].startswith("Basics") and "0%" in prompts[0]
        assert "○ new" in prompts[1] and "First lesson" in prompts[1]
        assert any("Hands on" in p for p in prompts)
        card = text_of(app, "#lesson-card")
        assert "First lesson" in card and "Pick one" in card
        await pilot.press("down")
        assert "Best after: First lesson (not done yet)" in text_of(app, "#lesson-card")


async def test_wrong_answer_hint_right_answer_and_next_step(app_factory, settle, tutor_home: Path) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first(pilot, settle)
        assert "Pick one" in text_of(app, "#step-title")
        assert isinstance(app.focused, RadioSet)
        await pilot.press("enter")  # picks "4xx": wrong
        await pilot.press("f5")
        await settle(pilot)
        verdict = text_of(app, "#verdict")
        assert "Not yet" in verdict and "attempt 1" in verdict
        assert "4xx means the request was wrong" in verdict  # the option's own explanation
        await pilot.press("f6")
        await settle(pilot)
        assert "Hint 1/2: Look at the first digit." in str(screen.query(".hint").first().render())
        await pilot.press("down", "enter", "f5")
        await settle(pilot)
        assert "Passed" in text_of(app, "#verdict") and "F8" in text_of(app, "#verdict")
        assert screen.query_one(ResultPanel).has_class("-passed")
        await pilot.press("f8")
        await settle(pilot)
        assert "Type it" in text_of(app, "#step-title")
        assert isinstance(app.focused, Input)
    with ProgressStore.open(tutor_home / "progress.db") as store:
        step = store.step("test-pack", "first", "pick")
        assert (step.status, step.attempts, step.hints_used, step.solution_viewed) == (PASSED, 2, 1, False)
        assert store.position("test-pack").step_id == "type-it"  # type: ignore[union-attr]
        (evidence,) = store.evidence("test-pack", "first", "pick")  # what passed, kept with the pass
        assert evidence["action"] == {"answer": "five"} and (evidence["attempts"], evidence["hints_used"]) == (2, 1)


async def test_text_answer_shows_expected_got_and_the_authors_feedback(app_factory, settle) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_lesson("first", "type-it")
        await settle(pilot)
        await pilot.press("4", "2", "2", "enter")
        await settle(pilot)
        verdict = text_of(app, "#verdict")
        assert "got:" in verdict and "422" in verdict
        assert "422 is for values that are invalid by themselves" in verdict
        app.screen.query_one(Input).value = "409"
        await pilot.press("enter")
        await settle(pilot)
        assert "Passed" in text_of(app, "#verdict")


async def test_number_and_multiple_choice_steps(app_factory, settle) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_lesson("first", "count")
        await settle(pilot)
        assert "minutes" in " ".join(str(w.render()) for w in app.screen.query(".answer-unit"))
        await pilot.press("1", "2", "0", "enter")
        await settle(pilot)
        assert "too high" in text_of(app, "#verdict")
        await pilot.press("f8")
        await settle(pilot)
        boxes = {box.name: box for box in app.screen.query(ChoiceBox)}
        boxes["a"].focus()
        await pilot.press("space")
        boxes["b"].focus()
        await pilot.press("space")
        assert boxes["a"].BUTTON_INNER == "✓" and boxes["c"].BUTTON_INNER == " "  # the state shows without colour
        await pilot.press("f5")
        await settle(pilot)
        assert "Passed" in text_of(app, "#verdict")


async def test_empty_answer_is_not_counted(app_factory, settle, tutor_home: Path) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_lesson("first", "type-it")
        await settle(pilot)
        await pilot.press("f5")
        await settle(pilot)
        assert not app.screen.query_one(ResultPanel).display
    with ProgressStore.open(tutor_home / "progress.db") as store:
        assert store.step("test-pack", "first", "type-it").attempts == 0


async def test_solution_needs_an_attempt_and_a_confirmation(app_factory, settle, tutor_home: Path) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first(pilot, settle)
        await pilot.press("f7")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)  # no attempt yet
        assert not screen.query_one("#solution").display
        await pilot.press("enter", "f5")
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot)
        assert not screen.query_one("#solution").display
        await pilot.press("f7")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert screen.query_one("#solution").display
        assert "5xx" in str(screen.query_one("#solution", Static).render())
    with ProgressStore.open(tutor_home / "progress.db") as store:
        assert store.step("test-pack", "first", "pick").solution_viewed


async def test_resume_after_restart_lands_on_the_same_step(app_factory, settle) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot, settle)
        await pilot.press("down", "enter", "f5")
        await settle(pilot)
        await pilot.press("f8")
        await settle(pilot)
        await pilot.press("ctrl+q")
    again = app_factory()
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Press c to continue: First lesson: Type it" in text_of(again, "#continue-bar")
        assert "◐ started" in str(again.screen.query_one(CourseList).get_option("first").prompt)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(again.screen, LessonScreen)
        assert "Type it" in text_of(again, "#step-title")
        steps = [str(o.prompt) for o in again.screen.query_one("#steps").options]
        assert "✓ done" in steps[0] and "○ new" in steps[2]


async def test_progress_reset_shows_on_the_course_map(app_factory, settle, tutor_home: Path) -> None:
    with ProgressStore.open(tutor_home / "progress.db") as store:
        for step in ("pick", "type-it", "count", "many"):
            store.record_attempt("test-pack", "1.0.0", "first", step, passed=True)
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        course = app.screen.query_one(CourseList)
        assert "✓ done" in str(course.get_option("first").prompt)
        assert app.store.reset("test-pack", "first") == 4
        app.screen.load_progress()
        await settle(pilot)
        assert "○ new" in str(course.get_option("first").prompt)


async def test_escape_goes_back_and_the_session_is_closed(app_factory, settle) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot, settle)
        assert len(app.sessions) == 1
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CourseMapScreen)
        assert app.sessions == set()


async def test_f1_explains_the_focused_area(app_factory, settle) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot, settle)
        await pilot.press("f1")
        await settle(pilot)
        from tutor.app.screens.help import HelpScreen

        assert isinstance(app.screen, HelpScreen)
        assert "Your answer" in app.screen.text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, LessonScreen)


async def test_command_palette_opens_a_lesson_by_title(app_factory, settle) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"second lesson")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LessonScreen)
        assert app.screen.outline.id == "second"


async def test_every_binding_has_an_id_a_description_and_a_tooltip(app_factory, settle) -> None:
    from tutor.app.app import TutorApp
    from tutor.app.screens.help import HelpScreen
    from tutor.app.screens.problems import PackProblemsScreen

    for owner in (TutorApp, CourseMapScreen, LessonScreen, ConfirmScreen, HelpScreen, PackProblemsScreen):
        for binding in owner.BINDINGS:
            assert binding.id and binding.description and binding.tooltip, (owner, binding)  # type: ignore[union-attr]


async def test_a_broken_lesson_is_marked_and_the_rest_still_work(app_factory, settle, tmp_path: Path) -> None:
    import shutil

    from tutor.app.screens.problems import PackProblemsScreen

    pack = tmp_path / "pack"
    shutil.copytree(Path(__file__).resolve().parent / "fixtures" / "pack", pack)
    second = pack / "basics" / "02-second.yaml"
    second.write_text(second.read_text().replace("minutes: 3", "minutes: lots"))
    app = app_factory(pack)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        course = app.screen.query_one(CourseList)
        assert "✗ has errors" in str(course.get_option("second").prompt)
        assert "○ new" in str(course.get_option("first").prompt)
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, PackProblemsScreen)
        assert any("basics/02-second.yaml:4:" in str(p) for p in app.screen.load.errors)
        await pilot.press("escape")
        await pilot.press("down", "enter")  # the broken lesson does not open
        await settle(pilot)
        assert isinstance(app.screen, CourseMapScreen)
        await pilot.press("up", "enter")
        await settle(pilot)
        assert isinstance(app.screen, LessonScreen)


async def test_no_color_turns_the_app_monochrome(app_factory, settle, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.no_color
        assert "○ new" in str(app.screen.query_one(CourseList).get_option("first").prompt)


async def test_the_chosen_theme_is_remembered(app_factory, settle) -> None:
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.theme = "nord"
        await settle(pilot)
    again = app_factory()
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert again.theme == "nord"


async def test_usable_at_80x24(app_factory, settle) -> None:
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_first(pilot, settle)
        assert screen.query_one("#answer").region.height > 0
        assert not screen.query_one("#steps").display  # at 80 columns the step list starts hidden
        await pilot.press("f2")
        assert screen.query_one("#steps").display
        await pilot.press("f2")
        assert not screen.query_one("#steps").display
        await pilot.press("enter", "f5")
        await settle(pilot)
        assert "Not yet" in text_of(app, "#verdict")


async def test_continue_goes_to_the_next_lesson_after_a_finished_one(app_factory, settle, tutor_home) -> None:
    """Finishing a lesson's last step and going back: `c` opens the next lesson, not the finished one."""
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        index = app.index
        first, second = index.lessons[0], index.lessons[1]
        for step_id in first.step_ids:
            app.store.record_attempt(index.id, index.version, first.id, step_id, passed=True)
        app.store.visit(index.id, index.version, first.id, first.step_ids[-1])
        assert app.next_place() == (second.id, second.step_ids[0])
        app.screen.load_progress()
        await settle(pilot)
        assert f"Press c to continue: {second.title}" in text_of(app, "#continue-bar")
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, LessonScreen) and app.screen.outline.id == second.id


def test_next_unfinished_resumes_inside_a_lesson_then_wraps() -> None:
    from tutor.app.app import next_unfinished
    from tutor.progress import Position

    class Outline:
        def __init__(self, id: str, steps: list[str]) -> None:
            self.id, self.step_ids = id, steps

    class Index:
        lessons = [Outline("a", ["1", "2", "3"]), Outline("b", ["1"])]

    class Done:
        passed = True
        last_activity = 1.0

    progress = {"a": {"1": Done(), "3": Done()}}
    assert next_unfinished(Index(), progress, None) == ("a", "2")  # type: ignore[arg-type]
    assert next_unfinished(Index(), progress, Position("a", "3", 0)) == ("a", "2")  # type: ignore[arg-type]
    progress["a"]["2"] = Done()
    assert next_unfinished(Index(), progress, Position("a", "3", 0)) == ("b", "1")  # type: ignore[arg-type]
    progress["b"] = {"1": Done()}
    assert next_unfinished(Index(), progress, Position("b", "1", 0)) is None  # type: ignore[arg-type]


async def test_the_collector_the_launcher_paused_is_back_after_the_first_frame(tutor_home: Path, settle) -> None:
    """`backend-tutor` starts with the garbage collector off (tutor.launch); the app turns it back on
    once the first frame is drawn, and only then. A run that did not pause it leaves it alone."""
    import gc

    from tests.app.conftest import FIXTURE_PACK
    from tutor.app import make_app
    from tutor.paths import Home

    gc.disable()
    app = make_app(FIXTURE_PACK, Home(tutor_home), collector_paused=True)
    try:
        assert not gc.isenabled()
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert gc.isenabled()
            assert gc.get_freeze_count() > 0  # what the start made is kept out of later collections
    finally:
        gc.unfreeze()
        gc.enable()
        app.close_sessions()
        app.store.close()
