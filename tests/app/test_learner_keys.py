"""A learner at the keyboard, at 80x24 where it happened: typing as the lesson opens, one key to each
place, the footer, options read in full, a request and its response beside the verdict, hints that fit
the mistake, and the rest of what a walkthrough ran into. Real sandboxes on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.geometry import Region
from textual.widgets import DataTable, Input, Markdown, Static, TabbedContent, TextArea

from tests.app.test_keyboard_80x24 import type_text
from tutor.app.screens.lesson import LessonScreen

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
SIZE = (80, 24)
DESK = Path(__file__).resolve().parent / "fixtures" / "workbench-pack"


async def opened(pilot: Any, settle: Any, lesson: str, step: str | None = None) -> LessonScreen:
    await settle(pilot)
    pilot.app.open_lesson(lesson, step)
    for _ in range(200):
        await settle(pilot)
        screen = pilot.app.screen
        if isinstance(screen, LessonScreen) and screen.lesson is not None and screen.session_ready:
            break
        await pilot.pause(0.05)
    await settle(pilot)
    assert isinstance(pilot.app.screen, LessonScreen)
    return pilot.app.screen


async def check(pilot: Any, settle: Any) -> str:
    screen = pilot.app.screen
    before = screen.last_result
    await pilot.press("f5")
    for _ in range(200):
        await settle(pilot)
        if screen.last_result is not before and screen.last_result is not None:
            break
        await pilot.pause(0.05)
    await pilot.pause(0.1)
    return str(screen.query_one("#verdict", Static).render())


def on_screen(widget: Any) -> bool:
    region = widget.region
    return region.height > 0 and Region(0, 0, *SIZE).contains_region(region)


def footer(app: Any) -> list[str]:
    return [str(key.render()).strip() for key in app.screen.query("FooterKey")]


async def test_text_typed_as_a_sql_lesson_opens_lands_in_the_editor_and_run_waits(
    app_factory: Any, settle: Any
) -> None:
    """Typing at once, while the lesson database is still being built: nothing is lost, and Ctrl+R says it
    waits for the database, then runs on its own."""
    app = app_factory(DESK)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_lesson("desk", "cheap")
        await pilot.press(*"SELECT count(*) FROM books;")
        await pilot.press("ctrl+r")
        screen = app.screen
        assert isinstance(screen, LessonScreen)
        status = str(screen.query_one("#sql-status", Static).render())
        editor = screen.query_one("#sql-editor", TextArea)
        if not screen.session_ready:  # on a quick machine the database may be ready already
            assert "Runs as soon as the lesson database is ready" in status
        for _ in range(200):
            await settle(pilot)
            if screen.session_ready and "1 row" in str(screen.query_one("#sql-status", Static).render()):
                break
            await pilot.pause(0.05)
        assert editor.text == "SELECT count(*) FROM books;"
        assert "1 row" in str(screen.query_one("#sql-status", Static).render())
        assert str(screen.query_one("#sql-results", DataTable).get_row_at(0)[0]) == "30"


async def test_one_key_to_each_place_never_a_toggle_and_the_footer_says_so(app_factory: Any, settle: Any) -> None:
    app = app_factory(DESK)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, settle, "desk", "pick")
        assert app.focused is not None and app.focused.id == "answer-choice"  # a choice step: the answer
        assert "^w Editor" in footer(app) and "^o Answer" not in footer(app)
        for _ in range(2):  # pressed twice, it stays: not a toggle
            await pilot.press("ctrl+w")
            assert app.focused is not None and app.focused.id == "sql-editor"
        assert "^o Answer" in footer(app) and "^e Result" in footer(app) and "^w Editor" not in footer(app)
        for _ in range(2):
            await pilot.press("ctrl+e")
            await pilot.pause()
            assert app.focused is not None and app.focused.id == "sql-results"
        assert screen.query_one("#sql-tabs", TabbedContent).active == "sql-tab-results"
        for _ in range(2):
            await pilot.press("ctrl+o")
            assert app.focused is not None and app.focused.id == "answer-choice"
        right = max(key.region.right for key in app.screen.query("FooterKey"))
        assert right <= SIZE[0] and "^q Quit" in footer(app) and "f1 Help" in footer(app)


async def test_with_f7_shown_the_footer_drops_whole_keys_and_never_cuts_help(app_factory: Any, settle: Any) -> None:
    """After a first try F7 joins the footer; with the focus in the workbench (Run, Answer and Result
    shown) the line was cut to "f1 Hel". The least needed keys now go whole, and Help stays."""
    app = app_factory(DESK)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, settle, "desk", "pick")
        await pilot.press("enter")  # the first option, a wrong one
        await check(pilot, settle)
        await pilot.press("ctrl+w")
        await settle(pilot)
        keys = footer(app)
        assert "f7 Solution" in keys and "f1 Help" in keys and "f5 Check" in keys, keys
        assert "^q Quit" not in keys, keys  # the first to go: Ctrl+Q quits everywhere, F1 lists it
        right = max(key.region.right for key in app.screen.query("FooterKey"))
        assert right <= SIZE[0], keys


async def test_long_options_are_read_in_full_and_the_hint_fits_the_mistake(app_factory: Any, settle: Any) -> None:
    """Options were cut to one line with "…"; the hint after a declared mistake is that mistake's own."""
    app = app_factory(DESK)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, settle, "desk", "pick")
        for radio in screen.query("ChoiceRadio"):
            assert radio.region.height >= 2, radio.region  # wrapped, not cut
            lines = str(radio.render()).splitlines()
            assert len(lines) == radio.region.height - radio.styles.gutter.height, lines
            start = len(lines[0]) - len(lines[0][3:].lstrip())  # where the words start after the button
            assert all(line[:start].strip() == "" and line[start : start + 1] != " " for line in lines[1:]), lines
        text = "\n".join(str(radio.render()) for radio in screen.query("ChoiceRadio"))
        assert "because the equality comes first and the range second in that index" in " ".join(text.split())
        await pilot.press("enter")  # the first option: the declared mistake
        verdict = await check(pilot, settle)
        assert "That is what year, author_id does, not this index." in " ".join(verdict.split())
        assert "`" not in verdict and "*" not in verdict  # Markdown is styled, not shown as typed
        await pilot.press("f6")
        await settle(pilot)
        hints = [str(hint.render()) for hint in screen.query(".hint")]
        assert hints and "Read the index's columns in order" in hints[0]


async def test_a_verdict_the_request_and_its_response_are_on_screen_together(app_factory: Any, settle: Any) -> None:
    """At 80x24 the request workbench showed only its curl line once a verdict was up."""
    app = app_factory(DESK)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, settle, "desk", "two")
        assert app.focused is not None and app.focused.id == "rw-url"
        await type_text(pilot, "/v1/books?limit=3")
        await pilot.press("ctrl+r")
        await settle(pilot)
        await pilot.pause(0.2)
        verdict = await check(pilot, settle)
        assert "That is three books" in verdict
        status = screen.query_one("#rw-status", Static)
        assert on_screen(screen.query_one("#verdict")) and on_screen(status), status.region
        assert "GET /v1/books?limit=3  ->  200 OK" in str(status.render())
        response = screen.query_one("#response-text", TextArea)
        assert on_screen(response) and response.region.height >= 3, response.region
        assert on_screen(screen.query_one("#rw-url", Input))


async def test_sql_per_statement_tabs_statement_at_cursor_and_kept_per_step(app_factory: Any, settle: Any) -> None:
    app = app_factory(DESK)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened(pilot, settle, "desk", "cheap")
        await type_text(pilot, "SELECT count(*) FROM books;\nSELECT id FROM books WHERE price < 10 ORDER BY id;")
        await pilot.press("ctrl+r")  # everything: two statements, a tab each
        await settle(pilot)
        tabs = [str(tab.label) for tab in screen.query("#sql-statements Tab")]
        assert len(tabs) == 2 and tabs[0].startswith("1 SELECT count(*)")
        editor = screen.query_one("#sql-editor", TextArea)
        editor.move_cursor((0, 5))
        await pilot.press("ctrl+j")  # the statement under the cursor only
        await settle(pilot)
        assert len(list(screen.query("#sql-statements Tab"))) == 1
        assert str(screen.query_one("#sql-results", DataTable).get_row_at(0)[0]) == "30"
        await pilot.press("ctrl+a")  # selects everything in the editor, not the line's start
        assert editor.selected_text == editor.text
        await pilot.press("f8")  # to the next step, then back to the map, then this step again
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        screen = await opened(pilot, settle, "desk", "cheap")
        # the SQL typed for this step is still there (kept on disk)
        assert screen.query_one("#sql-editor", TextArea).text.startswith("SELECT count(*) FROM books;")


async def test_keys_from_the_settings_file(app_factory: Any, settle: Any, tutor_home: Path) -> None:
    """A terminal without F5: the settings file gives Check another key; F1 and the footer name it."""
    (tutor_home / "settings.toml").write_text('[keys]\ncheck = "ctrl+k"\n')
    app = app_factory(DESK)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, settle, "desk", "pick")
        assert "^k Check" in footer(app)
        await pilot.press("down", "enter", "ctrl+k")
        for _ in range(100):
            await settle(pilot)
            if screen.last_result is not None:
                break
        assert screen.last_result is not None and screen.last_result.passed
        await pilot.press("f1")
        await settle(pilot)
        help_text = "\n".join(str(m.source) for m in app.screen.query(Markdown))
        assert "**Ctrl+K** to check" in help_text and "Ctrl+K" in help_text.split("Keys in force here")[1]


async def test_a_choice_picked_and_checked_in_one_burst_checks_the_one_picked(app_factory: Any, settle: Any) -> None:
    """Enter then F5 typed at once (tmux send-keys, a fast typist): the check read the set before it had
    taken the pick, and said "pick an answer first", or checked the option picked before."""
    from tests.app.test_request_workbench_more import burst

    app = app_factory(DESK)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, settle, "desk", "pick")
        assert app.focused is not None and app.focused.id == "answer-choice"
        before = screen.last_result
        burst(app, "enter", "f5")  # the first option: the declared mistake
        for _ in range(100):
            await settle(pilot)
            if screen.last_result is not before:
                break
            await pilot.pause(0.05)
        assert screen.last_result is not None and screen.last_result.mistake == 0
        first = screen.last_result
        burst(app, "down", "enter", "f5")  # the second: right
        for _ in range(100):
            await settle(pilot)
            if screen.last_result is not first:
                break
            await pilot.pause(0.05)
        assert screen.last_result is not None and screen.last_result.passed
