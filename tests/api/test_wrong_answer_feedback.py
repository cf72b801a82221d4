"""A learner whose requests are a declared wrong answer gets that wrong answer's feedback."""

from __future__ import annotations

import pytest

from tutor.pack.loader import load_pack_or_raise
from tutor.paths import Home, builtin_pack_path
from tutor.session import Session


@pytest.mark.parametrize(
    "lesson_id",
    [
        "validators-and-app-cache",
        "cache-control-in-practice",
        "status-codes",
        "methods-and-retries",
        "partner-sync",
        "sessions-and-cookies",
        "forge-a-token",
    ],
)
def test_each_http_wrong_answer_gets_its_own_feedback(lesson_id: str) -> None:
    pack = load_pack_or_raise(builtin_pack_path())
    lesson = pack.lesson(lesson_id)
    assert lesson is not None
    seen = 0
    with Session(pack, lesson, Home.from_env()) as session:
        session.start()
        for step in lesson.steps:
            session.begin_step(step)
            for wrong in step.wrong_answers:
                if not wrong.requests or not wrong.feedback:
                    continue
                state = session.save_state()
                session.begin_step(step)
                answer = session.apply(wrong)  # a typed answer too, when the wrong answer has one
                result = session.check(step, answer)
                session.restore_state(state)
                assert not result.passed
                assert result.feedback == wrong.feedback, f"{step.id}: {wrong.requests[-1]}"
                seen += 1
            session.begin_step(step)
            session.check(step, session.apply(step.solution))
    assert seen >= 8


def test_other_requests_get_no_wrong_answer_feedback() -> None:
    pack = load_pack_or_raise(builtin_pack_path())
    lesson = pack.lesson("validators-and-app-cache")
    assert lesson is not None
    with Session(pack, lesson, Home.from_env()) as session:
        session.start()
        step = lesson.steps[0]
        session.begin_step(step)
        assert session.api is not None
        session.api.send("GET", "/v1/books/60", source=None)  # a single miss, but not a declared one
        result = session.check(step)
        assert not result.passed and result.feedback is None


def test_a_clock_move_between_the_requests_is_not_the_mistake_that_makes_none() -> None:
    """cache-aside-ttl declares "GET, GET" (the hit is a moment old). A learner who sent GET, moved the
    clock, and GET (and missed: the entry expired) did not make that mistake: its feedback ("move the
    lesson clock between the two requests") would tell them to do what they did."""
    from tutor.pack.actions import Action

    pack = load_pack_or_raise(builtin_pack_path())
    lesson = pack.lesson("cache-aside-ttl")
    assert lesson is not None
    step = lesson.steps[0]
    with Session(pack, lesson, Home.from_env()) as session:
        session.start()
        session.begin_step(step)
        moved_too_far = Action.model_validate(
            {
                "requests": [
                    {"method": "GET", "path": "/v1/books/5"},
                    {"method": "POST", "path": "/_sandbox/clock", "json": {"advance": 45}},  # as if read for 45 s
                    {"method": "POST", "path": "/_sandbox/clock", "json": {"advance": 20}},
                    {"method": "GET", "path": "/v1/books/5"},
                ]
            }
        )
        result = session.check(step, session.apply(moved_too_far))
        assert not result.passed
        assert result.mistake is None, step.wrong_answers[result.mistake].feedback if result.mistake is not None else ""
        assert "X-Cache: expected 'HIT', got 'MISS'" in result.explain()

        session.begin_step(step)  # the mistake itself, with no clock move between: its own feedback
        session.apply(step.wrong_answers[0])
        again = session.check(step)
        assert again.mistake == 0 and again.feedback == step.wrong_answers[0].feedback
