"""More of what a learner's walkthrough ran into, each driven as the learner did it (keys, at 80x24
where it happened) and each failing before its fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import Input, Markdown, Static

from tests.app.test_learner_keys import DESK, check, opened
from tests.conftest import BUILTIN
from tutor.app.lesson.texts import solution_text
from tutor.app.widgets.result_panel import ResultPanel
from tutor.checks.base import CheckResult
from tutor.pack.loader import load_pack_or_raise

pytestmark = pytest.mark.anyio
SIZE = (80, 24)


async def test_the_map_help_at_80x24_scrolls_and_says_how_to_close(app_factory: Any, settle: Any) -> None:
    """F1 on the map was cut at the dialog's edge: Ctrl+Q and "Esc closes this help" were never seen,
    and PageDown did nothing."""
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)
        screen = app.screen
        hint = screen.query_one(".dialog-hint", Static)
        assert "Esc closes this help" in str(hint.render())
        assert Region(0, 0, *SIZE).contains_region(hint.region) and hint.region.height >= 1
        text = screen.query_one("#help-text")
        assert app.focused is text
        quit_line = next(
            block for block in screen.query("MarkdownBlock") if "Ctrl+Q" in str(getattr(block, "_content", ""))
        )
        seen = False
        for _ in range(12):  # PageDown scrolls the text until the quit key is in view
            await pilot.press("pagedown")
            await pilot.pause()
            region = quit_line.region
            if text.region.contains_region(Region(region.x, region.y, 1, 1)):
                seen = True
                break
        assert seen, quit_line.region


class PanelHost(App[None]):
    def compose(self) -> ComposeResult:
        yield ResultPanel(id="result")


async def test_the_verdict_gives_the_author_s_note_first_in_words_not_markup() -> None:
    """At 80x24 the box holds about eight lines: the note for the mistake came last, twenty lines down;
    backticks and asterisks showed as typed; a YAML line break split a sentence."""
    result = CheckResult(
        False,
        "Not yet: run the INSERT between `BEGIN;` and `ROLLBACK;` (a rollback\nkeeps the table as it was).",
        got="INSERT INTO books SELECT ...",
        first_difference="rows: expected 250000, got 270000",
        details=("you sent:  INSERT ...", "            (20,000 rows)"),
        feedback="Without BEGIN the copies were *committed*: press F4.",
    )
    app = PanelHost()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(ResultPanel)
        panel.show_result(result, 1, "", "next")
        await pilot.pause()
        text = str(panel.query_one("#verdict", Static).render())
        lines = text.splitlines()
        assert lines[2].startswith("Without BEGIN the copies were committed")  # right after the summary
        assert "`" not in text and "*" not in text
        assert "(a rollback keeps the table as it was)" in text
        assert "            (20,000 rows)" in lines  # laid-out detail lines keep their indent


async def test_a_passed_step_s_explanation_never_shows_on_the_next_one(app_factory: Any, settle: Any) -> None:
    app = app_factory(DESK)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, settle, "desk", "pick")
        await pilot.press("down", "enter")
        assert "✓ Passed" in await check(pilot, settle)
        await pilot.press("f8")
        await settle(pilot)
        explanation = screen.query_one("#explanation", Markdown)
        assert not explanation.display and explanation.source == ""


async def test_f8_opens_the_next_step_split_and_a_zoom_keeps_the_focus_in_view(app_factory: Any, settle: Any) -> None:
    app = app_factory(DESK)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, settle, "desk", "pick")
        main = screen.query_one("#lesson-main")
        await pilot.press("f3")  # the workbench alone: the answer is hidden, the focus goes to the editor
        await pilot.pause()
        assert main.has_class("-zoom-workbench") and app.focused is not None and app.focused.id == "sql-editor"
        await pilot.press("f3")  # the text alone: back to the answer
        await pilot.pause()
        assert main.has_class("-zoom-reading") and app.focused is not None and app.focused.id == "answer-choice"
        await pilot.press("f8")
        await settle(pilot)
        assert not main.has_class("-zoom-reading") and not main.has_class("-zoom-workbench")


async def test_the_reset_advice_shows_only_when_rows_changed(app_factory: Any, settle: Any) -> None:
    """A DROP INDEX or a plain BEGIN got three lines of "an earlier attempt changed the data"."""
    app = app_factory(DESK)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, settle, "desk", "cheap")
        for sql, advised in (
            ("CREATE INDEX ix ON books(price); DROP INDEX ix;", False),
            ("UPDATE books SET price = 100 WHERE id = 1;", True),
        ):
            await pilot.press("ctrl+w", "ctrl+l", *sql, "ctrl+r")
            await settle(pilot)
            text = await check(pilot, settle)
            assert "✗ Not yet" in text
            assert ("puts the step's data back" in text) is advised, text


async def test_the_curl_line_follows_a_load_run_and_an_empty_url_clears_the_old_response(
    app_factory: Any, settle: Any
) -> None:
    app = app_factory(DESK)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, settle, "desk", "two")
        await pilot.press(*"/v1/books/7", "ctrl+r")
        await settle(pilot)
        assert "Book 7" in screen.query_one("#response-text").text
        screen.query_one("#load-n", Input).value = "5"
        await pilot.press("ctrl+l", *"/v1/books/11", "f9")
        await settle(pilot)
        assert "/v1/books/11" in str(screen.query_one("#rw-curl", Static).render())
        await pilot.press("ctrl+w", "ctrl+l", "ctrl+r")
        await settle(pilot)
        assert "Type a path first" in str(screen.query_one("#rw-status", Static).render())
        assert screen.query_one("#response-text").text == ""


async def test_continue_goes_back_to_the_lesson_in_progress_after_rereading_a_finished_one(
    app_factory: Any, settle: Any, tutor_home: Path
) -> None:
    from tutor.progress import ProgressStore

    with ProgressStore.open(tutor_home / "progress.db") as store:
        for step in ("pick", "type-it", "count", "many"):
            store.record_attempt("test-pack", "1.0.0", "first", step, passed=True)
        store.visit("test-pack", "1.0.0", "second", "only")  # started, not finished
        store.visit("test-pack", "1.0.0", "first", "pick")  # then looked back at the finished lesson
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.next_place() == ("second", "only")
        course = app.screen.query_one("#course-list")
        assert course.highlighted_option.id == "second"  # type: ignore[attr-defined]


def test_the_solution_of_a_load_step_says_how_many_times_and_how_many_at_once() -> None:
    pack = load_pack_or_raise(BUILTIN)
    lesson = pack.lesson("stampede")
    assert lesson is not None
    burst = next(s for s in lesson.steps if s.id == "burst")
    text = solution_text(burst)
    assert "GET /v1/books/7  (20 times, 10 at a time: the Load tab, F9)" in text
    pages = pack.lesson("pages-and-status")
    assert pages is not None
    listed = "\n".join(solution_text(s) for s in pages.steps)
    assert " ?" not in listed and "?limit=" in listed
