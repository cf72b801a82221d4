"""The Session checks concept steps and adds a wrong answer's feedback when the learner gives it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import BUILTIN
from tutor.pack.loader import load_pack_or_raise
from tutor.paths import Home
from tutor.session import Session


def test_concept_lesson_through_the_session(tutor_home: Path) -> None:
    pack = load_pack_or_raise(BUILTIN)
    lesson = pack.lesson("status-codes")
    assert lesson is not None
    step = next(s for s in lesson.steps if s.id == "retry-budget")
    with Session(pack, lesson, Home(tutor_home)) as session:
        session.start()
        session.begin_step(step)
        wrong = session.check(step, "  2.5 ")
        assert not wrong.passed
        assert wrong.feedback is not None and "in minutes" in wrong.feedback
        assert session.check(step, "150").passed
