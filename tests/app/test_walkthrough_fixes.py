"""Smaller fixes a learner's walkthrough asked for, each pinned by a test that fails without it."""

from __future__ import annotations

import pytest

from tests.conftest import BUILTIN
from tutor.app.lesson.texts import API_STAND_IN, fill_placeholders, solution_text
from tutor.app.status import badge
from tutor.app.widgets.course_list import elide
from tutor.app.widgets.result_panel import _said_in
from tutor.checks.words import human_path, human_pattern
from tutor.pack.loader import load_pack_or_raise


def test_reference_solution_shows_json_not_python() -> None:
    pack = load_pack_or_raise(BUILTIN)
    lesson = pack.lesson("pages-and-status")
    assert lesson is not None
    create = next(s for s in lesson.steps if s.id == "create")
    text = solution_text(create)
    assert '{"title": "My First Book", "year": 2024, "author_id": 1, "price": 12.5}' in text
    assert "'title'" not in text


def test_placeholders_take_the_sandbox_values_and_a_readable_stand_in() -> None:
    text = 'curl -i "{{api_url}}/v1/books" and sqlite3 {{ db_path }}'
    filled = fill_placeholders(text, "http://127.0.0.1:8765", "/home/x/live.db")
    assert filled == 'curl -i "http://127.0.0.1:8765/v1/books" and sqlite3 /home/x/live.db'
    waiting = fill_placeholders(text, None, None)
    assert "{{" not in waiting and API_STAND_IN in waiting and "database" in waiting
    hooks = "WEBHOOK_SECRET={{webhook_secret}} tail -f {{log_path}}"
    secret = "whsec_dGhlIHJlZmVyZW5jZSBsZXNzb24gc2lnbmluZyBrZXk="
    more = {"webhook_secret": secret, "log_path": "/h/requests.log"}
    assert fill_placeholders(hooks, None, None, more) == f"WEBHOOK_SECRET={secret} tail -f /h/requests.log"
    assert fill_placeholders(hooks, None, None) == (
        "WEBHOOK_SECRET=(shown once the API runs) tail -f (shown once the API runs)"
    )


def test_status_word_never_runs_into_the_title() -> None:
    assert badge("broken").endswith(" ") and "errors " in badge("broken") + "Status codes"
    assert all(badge(s).endswith(" ") for s in ("passed", "in_progress", "not_started", "broken"))


def test_long_titles_are_elided_at_a_word() -> None:
    title = "Twenty-two queries for one page: finding and fixing N+1"
    assert elide(title, 30) == "Twenty-two queries for one…"
    assert len(elide(title, 30)) <= 30
    assert elide("short", 30) == "short"


def test_passed_summary_is_not_repeated_by_its_feedback() -> None:
    assert _said_in("Right.", "Right. 503 in particular says...")
    assert not _said_in("Right: the same 15 rows.", "The JOIN returns duplicates.")


def test_json_paths_and_patterns_in_words() -> None:
    assert human_path("items[19].author.name") == "items #20 > author > name"
    assert human_path("total") == "total"
    assert human_pattern(r"^/v1/books/\d+$") == "/v1/books/<number>"
    assert "\\" not in human_pattern(r"/v1/books/[^/]+")


@pytest.mark.anyio
async def test_lesson_card_joins_the_summary_s_yaml_line_breaks() -> None:
    from textual.app import App, ComposeResult

    from tutor.app.widgets.lesson_card import LessonCard
    from tutor.pack.index import read_index

    index = read_index(BUILTIN)
    lesson = index.lessons[0]
    object.__setattr__(lesson, "summary", "Find out why in\nthe\nquery plan.")

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield LessonCard()

    app = Host()
    async with app.run_test(size=(120, 40)):
        card = app.query_one(LessonCard)
        card.show_lesson(index, lesson, {}, set())
        assert "Find out why in the query plan." in str(card.render())


def test_a_quoted_value_keeps_its_asterisks_and_words_keep_their_emphasis() -> None:
    """A verdict quoted `Accept: */*` as "sent '/'": the asterisks were read as emphasis around a slash."""
    from tutor.app.widgets.result_panel import inline_markdown

    assert inline_markdown("request header Accept: sent '*/*'").plain == "request header Accept: sent '*/*'"
    emphasis = inline_markdown("this is *not* right")
    assert emphasis.plain == "this is not right"
    assert [(span.start, span.end, str(span.style)) for span in emphasis.spans] == [(8, 11, "italic")]
    assert inline_markdown("a * b * c").plain == "a * b * c"
