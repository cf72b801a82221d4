"""The HTTP, caching and auth lessons: each step's solution passes its check and each declared wrong
answer fails it, replayed through the same Session path a learner's actions take."""

from __future__ import annotations

import pytest

from tutor.pack.loader import load_pack_or_raise
from tutor.paths import Home, builtin_pack_path
from tutor.session import Session

LESSONS = ["pages-and-status", "validators-and-app-cache", "tokens-401-403"]


@pytest.mark.parametrize("lesson_id", LESSONS)
def test_lesson_solutions_pass_and_wrong_answers_fail(lesson_id: str) -> None:
    pack = load_pack_or_raise(builtin_pack_path())
    lesson = pack.lesson(lesson_id)
    assert lesson is not None and lesson.sandboxes.api is not None
    with Session(pack, lesson, Home.from_env()) as session:
        session.start()
        assert session.api is not None
        for step in lesson.steps:
            assert step.wrong_answers, f"{step.id} declares no wrong answers"
            for wrong in step.wrong_answers:
                state = session.save_state()  # a wrong answer must not leak into the next case
                session.begin_step(step)
                answer = session.apply(wrong)
                result = session.check(step, answer)
                session.restore_state(state)
                assert not result.passed, f"{lesson_id}/{step.id}: wrong answer accepted: {wrong}"
            session.begin_step(step)
            answer = session.apply(step.solution)
            result = session.check(step, answer)
            assert result.passed, f"{lesson_id}/{step.id}: {result.explain()}"
