"""`backend-tutor pack test`: prove every step solvable and every check able to fail.

For each lesson, in pack order, the sandboxes it declares are started headlessly through the same
`Session` the app uses. For each step, in order:

- each of `wrong_answers` is applied from the state a learner has when the step opens, and the check
  must reject it; the state is then put back (`Session.reset_step`, the learner's F4), so a wrong
  answer never leaks into another case or a later step;
- the reference `solution` is applied from that same step-open state, the way a learner's action is
  (typed answer, SQL on the guarded learner connection, the lesson clock moved by `wait`, HTTP
  requests as an outside client), and the check must accept it; its effects carry forward, as they
  would for a learner.

"State" is all of it: the SQL database and everything the API sandbox remembers (its cache,
rate-limit buckets, idempotency keys, accounts, sessions, refresh tokens, deny-list, relation
strategies and clock), so the verdicts do not depend on the order of the cases.

Everything runs in a throwaway BACKEND_TUTOR_HOME unless one is given, and nothing is left behind.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from tutor.checks.base import CheckResult
from tutor.pack.actions import Action
from tutor.pack.checks import CONCEPT_KINDS
from tutor.pack.loader import LessonFile, Pack
from tutor.pack.models import Step
from tutor.paths import Home
from tutor.session import ActionFailed, MissingValue, Session


@dataclass(frozen=True)
class Case:
    file: str
    line: int
    lesson: str
    step: str
    case: str  # "solution" | "wrong answer N" | "alternative N" | "warning"
    passed: bool
    message: str = ""
    severity: Literal["case", "warning"] = "case"

    def line_text(self) -> str:
        where = f"{self.file}:{self.line}: {self.lesson}/{self.step}"
        if self.severity == "warning":
            return f"{where}: warning: {self.message}"
        if self.case == "solution":
            return f"{where}: the solution was rejected: {self.message}"
        if self.case.startswith("alternative"):
            return f"{where}: {self.case} (a right answer) was rejected: {self.message}"
        if self.case == "the starter files":
            return f"{where}: the starter files: {self.message}"
        if self.message.startswith("the check"):
            return f"{where}: {self.case}: {self.message}"
        return f"{where}: {self.case} was accepted" + (f" ({self.message})" if self.message else "")


@dataclass
class Report:
    cases: list[Case] = field(default_factory=list)

    @property
    def failures(self) -> list[Case]:
        return [c for c in self.cases if not c.passed]

    @property
    def passed_count(self) -> int:
        return sum(1 for c in self.cases if c.passed and c.severity == "case")

    @property
    def failed_count(self) -> int:
        return len(self.failures)

    def as_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed_count,
            "failed": self.failed_count,
            "cases": [asdict(c) for c in self.cases if c.severity == "case"],
            "warnings": [asdict(c) for c in self.cases if c.severity == "warning"],
        }


def _one_line(result: CheckResult) -> str:
    return " | ".join(line for line in result.explain().splitlines() if line.strip())


@contextmanager
def _home(home: Path | None) -> Iterator[Home]:
    if home is not None:
        yield Home(home).ensure()
        return
    folder = Path(tempfile.mkdtemp(prefix="backend-tutor-pack-test-"))
    try:
        yield Home(folder).ensure()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _apply(session: Session, action: Action) -> tuple[Any, str | None]:
    """Apply an action; return (answer to check, the action's own failure if it could not run)."""
    try:
        answer = session.apply(action)
    except ActionFailed as exc:  # a solution whose SQL is broken, a request that cannot be sent, ...
        return action.answer, str(exc)
    return answer, None


def _warnings(entry: LessonFile, index: int, step: Step, strict: bool) -> list[Case]:
    out: list[Case] = []
    line = entry.step_line(index)

    def warn(message: str) -> None:
        out.append(
            Case(
                entry.path,
                line,
                entry.lesson.id,
                step.id,
                "warning",
                passed=not strict,
                message=message,
                severity="warning",
            )
        )

    hands_on = step.check.kind not in CONCEPT_KINDS
    if hands_on and not step.wrong_answers:
        warn("a hands-on step with no wrong_answers: nothing proves its check can fail")
    if not step.hints:
        warn("no hints")
    return out


def _starter_case(session: Session, entry: LessonFile, index: int, step: Step) -> Case:
    """A build-it step: the untouched starter files must fail its check (else there is nothing to build)."""
    assert session.workspace is not None
    session.workspace.lay(None)
    session.begin_step(step)
    result = session.check(step)
    line = entry.source.key_pos(("steps", index, "check")).line
    if result.error:
        return Case(entry.path, line, entry.lesson.id, step.id, "the starter files", False, _one_line(result))
    message = "" if not result.passed else "the untouched starter files already pass: there is nothing to build"
    return Case(entry.path, line, entry.lesson.id, step.id, "the starter files", not result.passed, message)


def check_lesson(pack: Pack, entry: LessonFile, home: Home, *, strict: bool = False) -> list[Case]:
    cases: list[Case] = []
    lesson = entry.lesson
    with Session(pack, lesson, home) as session:
        try:
            session.start()
        except Exception as exc:
            line = entry.line_of("sandboxes") if lesson.sandboxes.sql or lesson.sandboxes.api else 1
            return [
                Case(
                    entry.path,
                    line,
                    lesson.id,
                    "-",
                    "solution",
                    passed=False,
                    message=f"the lesson's sandboxes did not start: {type(exc).__name__}: {exc}",
                )
            ]
        for index, step in enumerate(lesson.steps):
            cases.extend(_warnings(entry, index, step, strict))

            def case(line: int, label: str, passed: bool, message: str = "", step: Step = step) -> Case:
                return Case(entry.path, line, lesson.id, step.id, label, passed=passed, message=message)

            session.begin_step(step)  # keeps the step-open state every case starts from
            if lesson.build is not None and session.workspace is not None:
                cases.append(_starter_case(session, entry, index, step))
            for number, wrong in enumerate(step.wrong_answers, start=1):
                label = f"wrong answer {number}"
                line = entry.source.value_pos(("steps", index, "wrong_answers", number - 1)).line
                try:
                    session.begin_step(step)
                    # A wrong answer that fails to run (bad SQL, say) is judged like any other:
                    # the check decides, on whatever evidence it left. One that cannot be replayed
                    # as written (a `save` that found nothing) is the author's to fix.
                    try:
                        answer = session.apply(wrong)
                    except MissingValue as exc:
                        cases.append(case(line, label, False, f"the check cannot judge it: {exc}"))
                        continue
                    except ActionFailed:
                        answer = wrong.answer
                    result = session.check(step, answer)
                finally:
                    session.reset_step()
                if result.error:
                    cases.append(case(line, label, False, f"the check itself failed: {_one_line(result)}"))
                else:
                    cases.append(case(line, label, not result.passed, _one_line(result) if result.passed else ""))
                    if not result.passed and wrong.feedback and result.feedback != wrong.feedback:
                        shown = "no feedback" if result.feedback is None else "another answer's feedback"
                        cases.append(
                            Case(
                                entry.path,
                                line,
                                lesson.id,
                                step.id,
                                f"{label} feedback",
                                passed=not strict,
                                message=f"a learner who gives this answer sees {shown}, not the one written for it",
                                severity="warning",
                            )
                        )
            for number, alternative in enumerate(step.alternatives, start=1):
                label = f"alternative {number}"
                line = entry.source.value_pos(("steps", index, "alternatives", number - 1)).line
                try:
                    session.begin_step(step)
                    answer, failure = _apply(session, alternative)
                    verdict = None if failure is not None else session.check(step, answer)
                finally:
                    session.reset_step()  # from the step-open state, like every other case
                if verdict is None:
                    cases.append(case(line, label, False, f"it could not be applied: {failure}"))
                else:
                    cases.append(case(line, label, verdict.passed, "" if verdict.passed else _one_line(verdict)))
            line = entry.source.key_pos(("steps", index, "solution")).line
            session.begin_step(step)
            answer, failure = _apply(session, step.solution)
            if failure is not None:
                cases.append(case(line, "solution", False, failure))
                continue
            result = session.check(step, answer)
            cases.append(case(line, "solution", result.passed, "" if result.passed else _one_line(result)))
    return cases


def run_pack_test(
    pack: Pack,
    *,
    lesson_id: str | None = None,
    home: Path | None = None,
    strict: bool = False,
    on_case: Callable[[Case], None] | None = None,
) -> Report:
    report = Report()
    with _home(home) as tutor_home:
        for entry in pack.lessons:
            if lesson_id is not None and entry.lesson.id != lesson_id:
                continue
            for case in check_lesson(pack, entry, tutor_home, strict=strict):
                report.cases.append(case)
                if on_case is not None:
                    on_case(case)
    return report
