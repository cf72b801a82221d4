"""`backend-tutor pack test`: prove every step solvable and every check able to fail.

For each lesson, in pack order, the sandboxes it declares are started headlessly through the same
`Session` the app uses. For each step, in order:

- each of `wrong_answers` is applied from the state a learner has when the step opens, and the check
  must reject it; the state is then put back (`Session.reset_step`, the learner's F4), so a wrong
  answer never leaks into another case or a later step. A wrong answer that fails before the check can
  judge it (its SQL fails, a request cannot be sent, its code does not import) proves nothing about
  the check and is reported, unless the lesson marks it `fails_to_run`;
- each of `alternatives` is applied from that same state and must pass;
- with `--mutants`, wrong answers derived from the solution (`tutor.mutants`) are applied the same way
  and counted: each should be rejected, or be one of the declared alternatives;
- the reference `solution` is applied from that same step-open state, the way a learner's action is
  (typed answer, SQL on the guarded learner connection, the lesson clock moved by `wait`, HTTP
  requests as an outside client), and the check must accept it; its effects carry forward, as they
  would for a learner.

Then every alternative of a step is followed by the reference solutions of the lesson's later steps,
which must still pass: no later step may depend on something only the reference happened to do.

"State" is all of it: the SQL database and everything the API sandbox remembers (its cache,
rate-limit buckets, idempotency keys, accounts, sessions, refresh tokens, deny-list, relation
strategies and clock), so the verdicts do not depend on the order of the cases.

Lessons are independent, so `jobs` of them run at once, each in a process of its own. Everything runs
in a throwaway BACKEND_TUTOR_HOME unless one is given, and nothing is left behind. The pack's own code
(starter files, solutions, tests) never sees the caller's homes: for each lesson its BACKEND_TUTOR_HOME
and HOME are a throwaway folder of their own (`_code_home`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from tutor.checks.base import CheckResult
from tutor.pack.actions import Action, WrongAnswer
from tutor.pack.checks import CONCEPT_KINDS, iter_kinds
from tutor.pack.loader import LessonFile, Pack
from tutor.pack.models import Lesson, Step
from tutor.paths import Home
from tutor.session import ActionFailed, MissingValue, Session, SessionState

MutantOutcome = Literal["", "rejected", "survived", "declared", "did not run"]


@dataclass(frozen=True)
class Case:
    file: str
    line: int
    lesson: str
    step: str
    case: str  # "solution" | "wrong answer N" | "alternative N" | "mutant: ..." | "the starter files" | ...
    passed: bool
    message: str = ""
    severity: Literal["case", "warning", "mutant"] = "case"
    mutant: MutantOutcome = ""
    action: dict[str, Any] | None = None  # a mutant's action, in the pack format, to declare it if it is right

    def line_text(self) -> str:
        where = f"{self.file}:{self.line}: {self.lesson}/{self.step}"
        if self.severity == "warning":
            return f"{where}: warning: {self.message}"
        if self.severity == "mutant":
            return f"{where}: {self.case} ({self.mutant}): {self.message}"
        if self.passed:
            return f"{where}: {self.case}: ok" + (f" ({self.message})" if self.message else "")
        if self.case == "solution":
            return f"{where}: the solution was rejected: {self.message}"
        if self.case.startswith("alternative"):
            return f"{where}: {self.case} (a right answer) was rejected: {self.message}"
        if self.case.startswith("solution after"):
            return f"{where}: the {self.case} was rejected: {self.message}"
        if self.case in ("the starter files", "explanation"):
            return f"{where}: {self.case}: {self.message}"
        if self.message.startswith(("the check", "it proves nothing")):
            return f"{where}: {self.case}: {self.message}"
        return f"{where}: {self.case} was accepted" + (f" ({self.message})" if self.message else "")


@dataclass
class StepScore:
    lesson: str
    step: str
    generated: int = 0
    rejected: int = 0
    declared: int = 0
    survived: int = 0
    did_not_run: int = 0

    @property
    def judged(self) -> int:
        """Mutants that count: run, and not declared right answers."""
        return self.rejected + self.survived

    @property
    def score(self) -> float | None:
        return None if self.judged == 0 else self.rejected / self.judged


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

    def mutation_scores(self) -> list[StepScore]:
        scores: dict[tuple[str, str], StepScore] = {}
        for case in self.cases:
            if case.severity != "mutant":
                continue
            score = scores.setdefault((case.lesson, case.step), StepScore(case.lesson, case.step))
            score.generated += 1
            if case.mutant == "rejected":
                score.rejected += 1
            elif case.mutant == "survived":
                score.survived += 1
            elif case.mutant == "declared":
                score.declared += 1
            else:
                score.did_not_run += 1
        return list(scores.values())

    def mutation_summary(self) -> dict[str, Any] | None:
        scores = self.mutation_scores()
        if not scores:
            return None
        total = StepScore("", "")
        for s in scores:
            total.generated += s.generated
            total.rejected += s.rejected
            total.declared += s.declared
            total.survived += s.survived
            total.did_not_run += s.did_not_run
        judged = [s.score for s in scores if s.score is not None]
        return {
            "generated": total.generated,
            "rejected": total.rejected,
            "declared_right": total.declared,
            "survived": total.survived,
            "did_not_run": total.did_not_run,
            "score": total.score,
            "lowest_step_score": min(judged) if judged else None,
            "steps_below_90": sum(1 for value in judged if value < 0.9),
        }

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "passed": self.passed_count,
            "failed": self.failed_count,
            "cases": [asdict(c) for c in self.cases if c.severity == "case"],
            "warnings": [asdict(c) for c in self.cases if c.severity == "warning"],
        }
        summary = self.mutation_summary()
        if summary is not None:
            document["mutants"] = summary | {
                "steps": [asdict(s) | {"score": s.score} for s in self.mutation_scores()],
                "cases": [asdict(c) for c in self.cases if c.severity == "mutant"],
            }
        return document


def _one_line(result: CheckResult) -> str:
    """The failure on one line; when it checks for something the sandbox no longer sends (a pack written for
    an earlier release), the likely cause is named."""
    from tutor.http.retired import likely_cause

    line = " | ".join(line for line in result.explain().splitlines() if line.strip())
    cause = likely_cause(line)
    return f"{line} | {cause}" if cause else line


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


@contextmanager
def _code_home() -> Iterator[None]:
    """What the pack's code sees as BACKEND_TUTOR_HOME and HOME while it runs: an empty folder, removed
    afterwards. Python's user site-packages stay where they are, so what the user installed imports."""
    import site

    from tutor.code.runner import child_environment

    folder = Path(tempfile.mkdtemp(prefix="backend-tutor-pack-code-"))
    (folder / "home").mkdir()
    try:
        with child_environment(
            BACKEND_TUTOR_HOME=str(folder), HOME=str(folder / "home"), PYTHONUSERBASE=site.getuserbase()
        ):
            yield
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

    if hands_on(step) and not step.wrong_answers:
        warn("a hands-on step with no wrong_answers: nothing proves its check can fail")
    if not step.hints:
        warn("no hints")
    return out


def hands_on(step: Step) -> bool:
    return step.check.kind not in CONCEPT_KINDS


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


@dataclass(frozen=True)
class Verdict:
    """What became of one replayed action: the check's result, or why the action never reached it."""

    result: CheckResult | None
    failure: str | None = None  # the action could not run (its SQL failed, a request was not sent, ...)
    broken: bool = False  # the action cannot be replayed as written (a `save` that found nothing)

    @property
    def judged(self) -> bool:
        return self.result is not None and self.failure is None and self.result.judged and not self.result.error


def _try(session: Session, step: Step, action: Action) -> Verdict:
    """Apply `action` from the state the step opened on, check it, and put that state back."""
    try:
        session.begin_step(step)
        try:
            answer = session.apply(action)
        except MissingValue as exc:
            return Verdict(None, str(exc), broken=True)
        except ActionFailed as exc:
            # judged all the same, on whatever evidence it left (as a learner's half-run script would be)
            return Verdict(session.check(step, action.answer), str(exc))
        return Verdict(session.check(step, answer))
    finally:
        session.reset_step()


def _wrong_case(entry: LessonFile, step: Step, number: int, wrong: WrongAnswer, verdict: Verdict) -> list[Case]:
    index = entry.lesson.steps.index(step)
    line = entry.source.value_pos(("steps", index, "wrong_answers", number - 1)).line
    label = f"wrong answer {number}"

    def case(passed: bool, message: str, severity: Literal["case", "warning"] = "case") -> Case:
        return Case(entry.path, line, entry.lesson.id, step.id, label, passed, message, severity)

    if verdict.broken:
        return [case(False, f"the check cannot judge it: {verdict.failure}")]
    result = verdict.result
    assert result is not None
    if result.error:
        return [case(False, f"the check itself failed: {_one_line(result)}")]
    if result.passed:
        return [case(False, _one_line(result))]
    out: list[Case] = []
    if not verdict.judged and not wrong.fails_to_run:
        why = verdict.failure or result.summary
        out.append(
            case(
                False,
                f"it proves nothing about the check: it failed before the check could judge it ({why}). Fix it, or "
                "mark it `fails_to_run: true` if that failure is the mistake it shows",
            )
        )
    else:
        out.append(case(True, result.summary))
    if wrong.feedback and result.feedback != wrong.feedback:
        shown = "no feedback" if result.feedback is None else "another answer's feedback"
        out.append(
            Case(
                entry.path,
                line,
                entry.lesson.id,
                step.id,
                f"{label} feedback",
                passed=False,
                message=f"a learner who gives this answer sees {shown}, not the one written for it",
                severity="warning",
            )
        )
    return out


def _declared_mutant(entry: LessonFile, step: Step, number: int, verdict: Verdict) -> Case:
    """A build-it step's mutants are the mistakes its lesson declares (folders with one bug each), run as
    its wrong answers; each counts in the step's score like a derived mutant."""
    index = entry.lesson.steps.index(step)
    line = entry.source.value_pos(("steps", index, "wrong_answers", number - 1)).line
    label = f"mutant: wrong answer {number} (declared)"
    if not verdict.judged:
        outcome: MutantOutcome = "did not run"
        message = verdict.failure or (verdict.result.summary if verdict.result else "")
    elif verdict.result is not None and verdict.result.passed:
        outcome, message = "survived", "the check accepted this declared mistake"
    else:
        outcome, message = "rejected", verdict.result.summary if verdict.result else ""
    return Case(entry.path, line, entry.lesson.id, step.id, label, outcome != "survived", message, "mutant", outcome)


def _mutant_cases(session: Session, entry: LessonFile, step: Step) -> list[Case]:
    from tutor.mutants import declared, mutants

    index = entry.lesson.steps.index(step)
    line = entry.source.key_pos(("steps", index, "solution")).line
    out: list[Case] = []
    for mutant in mutants(step.solution):
        action = mutant.action.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        label = f"mutant: {mutant.name}"

        def case(
            outcome: MutantOutcome, message: str, passed: bool = True, label: str = label, action: Any = action
        ) -> Case:
            return Case(entry.path, line, entry.lesson.id, step.id, label, passed, message, "mutant", outcome, action)

        right = declared(mutant, list(step.alternatives))
        if right is not None:
            out.append(case("declared", right.why or "declared among the alternatives"))
            continue
        verdict = _try(session, step, mutant.action)
        if not verdict.judged:
            why = verdict.failure or (verdict.result.summary if verdict.result else "")
            out.append(case("did not run", why))
        elif verdict.result is not None and verdict.result.passed:
            out.append(
                case(
                    "survived",
                    "the check accepted it: a weakness of the check, or a right answer to declare among the "
                    "alternatives with `why`",
                    passed=False,
                )
            )
        else:
            assert verdict.result is not None
            out.append(case("rejected", verdict.result.summary))
    return out


def check_lesson(
    pack: Pack, entry: LessonFile, home: Home, *, strict: bool = False, mutants: bool = False
) -> list[Case]:
    cases: list[Case] = []
    lesson = entry.lesson
    with _code_home(), Session(pack, lesson, home) as session:
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
        opened: list[SessionState] = []  # the state each step opened on, for the alternatives' replays
        solved: list[bool] = []
        for index, step in enumerate(lesson.steps):
            cases.extend(_warnings(entry, index, step, strict))

            def case(line: int, label: str, passed: bool, message: str = "", step: Step = step) -> Case:
                return Case(entry.path, line, lesson.id, step.id, label, passed=passed, message=message)

            session.begin_step(step)  # keeps the step-open state every case starts from
            assert session.step_open is not None
            opened.append(session.step_open)
            if lesson.build is not None and session.workspace is not None:
                cases.append(_starter_case(session, entry, index, step))
            for number, wrong in enumerate(step.wrong_answers, start=1):
                verdict = _try(session, step, wrong)
                cases.extend(_wrong_case(entry, step, number, wrong, verdict))
                if mutants and step.solution.files is not None:
                    cases.append(_declared_mutant(entry, step, number, verdict))
            for number, alternative in enumerate(step.alternatives, start=1):
                line = entry.source.value_pos(("steps", index, "alternatives", number - 1)).line
                verdict = _try(session, step, alternative)
                if verdict.failure is not None:
                    cases.append(
                        case(line, f"alternative {number}", False, f"it could not be applied: {verdict.failure}")
                    )
                elif verdict.result is not None:
                    ok = verdict.result.passed
                    cases.append(
                        case(
                            line,
                            f"alternative {number}",
                            ok,
                            alternative.why or "" if ok else _one_line(verdict.result),
                        )
                    )
            if mutants and hands_on(step):
                cases.extend(_mutant_cases(session, entry, step))
            line = entry.source.key_pos(("steps", index, "solution")).line
            session.begin_step(step)
            answer, failure = _apply(session, step.solution)
            if failure is not None:
                cases.append(case(line, "solution", False, failure))
                solved.append(False)
                continue
            result = session.check(step, answer)
            cases.append(case(line, "solution", result.passed, "" if result.passed else _one_line(result)))
            solved.append(result.passed)
            if result.passed:
                cases.extend(_text_cases(entry, index, step, result))
        if all(solved):
            cases.extend(_after_alternatives(session, entry, opened))
    return cases


def _text_cases(entry: LessonFile, index: int, step: Step, result: CheckResult) -> list[Case]:
    """The explanation quotes only what the check measured ({{name}}), and states no figure that the
    solution's own run contradicts: it must hold for every learner who passes."""
    from tutor.checks.facts import contradicted, unknown

    if not step.explanation:
        return []
    line = entry.source.key_pos(("steps", index, "explanation")).line
    problems = [
        f"the explanation quotes {{{{{name}}}}}, which this check does not measure"
        + (f" (it measures: {', '.join(sorted(result.facts))})" if result.facts else "")
        for name in unknown(step.explanation, result.facts)
    ]
    problems += [
        f"the explanation says {figure}: quote the learner's own figure with {{{{name}}}}, or word it so it "
        "holds for every passing answer"
        for figure in contradicted(step.explanation, result.facts)
    ]
    return [Case(entry.path, line, entry.lesson.id, step.id, "explanation", False, problem) for problem in problems]


STATELESS_KINDS = frozenset({"choice", "text", "number"})
"""Checks that read only the learner's typed or chosen answer."""


def reads_earlier_work(lesson: Lesson, step: Step) -> bool:
    """Whether `step`'s check can see what an earlier step's answer left behind. A concept check reads
    only its own answer. A build-it check of a lesson without an API sandbox starts the app from the
    starter files with the step's own files over them, on a fresh copy of the lesson's database as it was
    built: no earlier answer reaches it. Everything else reads the sandboxes' state."""
    kinds = iter_kinds(step.check)
    if all(kind in STATELESS_KINDS for kind in kinds):
        return False
    built_only = all(kind in STATELESS_KINDS or kind.startswith("code_") for kind in kinds)
    return not (built_only and lesson.sandboxes.api is None)


def _after_alternatives(session: Session, entry: LessonFile, opened: list[SessionState]) -> list[Case]:
    """Each alternative of a step, then the later steps' solutions: each must still pass. A later step
    whose check cannot see earlier work (`reads_earlier_work`) would get the answer it got in the main
    run, so it is not replayed."""
    lesson = entry.lesson
    out: list[Case] = []
    for index, step in enumerate(lesson.steps[:-1]):
        later_steps = [i for i in range(index + 1, len(lesson.steps)) if reads_earlier_work(lesson, lesson.steps[i])]
        if not later_steps:
            continue
        for number, alternative in enumerate(step.alternatives, start=1):
            session.step, session.step_open = step, opened[index]
            session.reset_step()
            _, failure = _apply(session, alternative)
            if failure is not None:
                continue  # reported with the alternative itself
            for later_index in later_steps:
                later = lesson.steps[later_index]
                session.begin_step(later)
                answer, failure = _apply(session, later.solution)
                result = None if failure is not None else session.check(later, answer)
                passed = result is not None and result.passed
                message = (failure or "") if result is None else "" if passed else _one_line(result)
                out.append(
                    Case(
                        entry.path,
                        entry.source.key_pos(("steps", later_index, "solution")).line,
                        lesson.id,
                        later.id,
                        f"solution after alternative {number} of step {step.id}",
                        passed,
                        message,
                    )
                )
                if not passed:
                    break
    return out


def _lesson_in_process(
    root: str, lesson_id: str, home: str, strict: bool, mutants: bool
) -> list[Case]:  # pragma: no cover - runs in a worker process (tests/cli run it end to end)
    from tutor.pack.loader import load_pack

    loaded = load_pack(Path(root))
    assert loaded.pack is not None
    entry = loaded.pack.lesson_file(lesson_id)
    assert entry is not None
    return check_lesson(loaded.pack, entry, Home(Path(home)).ensure(), strict=strict, mutants=mutants)


def expected_cost(lesson: Lesson) -> float:
    """A rough measure of how long `pack test` takes on `lesson`, to start the longest first: every
    case of a build-it step starts the learner's app (and waits on the lesson's upstreams when it calls
    them), a load test sends hundreds of requests, and a large database takes a while to build."""
    calls_upstreams = lesson.sandboxes.api is not None and bool(lesson.sandboxes.api.upstreams)
    cost = 0.0
    for step in lesson.steps:
        kinds = iter_kinds(step.check)
        built = any(kind.startswith("code_") for kind in kinds)
        for action in [step.solution, *step.wrong_answers, *step.alternatives]:
            if built:
                cost += 3.0 if calls_upstreams else 1.0
            requests = sum(getattr(item, "repeat", 1) or 1 for item in action.requests)
            cost += 0.05 + requests / 100 * (5.0 if calls_upstreams else 1.0)
    sql = lesson.sandboxes.sql
    if sql is not None:
        rows = [table.rows for table in sql.tables]
        cost += sum(count for count in rows if isinstance(count, int)) / 200_000
    return cost


def default_jobs() -> int:
    """One lesson per core, at most four. A lesson mostly waits (on app starts, on an upstream's latency,
    on the lesson clock), so more would finish sooner on a quiet machine, but the checks that bound real
    time (a timeout of 250 ms, an answer within 2 s) then fail on a busy one: four lessons at once on 2
    cores at load 20 failed five such cases that pass one lesson per core."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(4, cores))


def run_pack_test(
    pack: Pack,
    *,
    lesson_id: str | Collection[str] | None = None,
    home: Path | None = None,
    strict: bool = False,
    mutants: bool = False,
    jobs: int = 1,
    on_case: Callable[[Case], None] | None = None,
) -> Report:
    """Every lesson's cases, reported in pack order. With `jobs` > 1, lessons run in worker processes
    (each its own sandboxes; the built databases are shared through the home's cache)."""
    report = Report()
    chosen = None if lesson_id is None else {lesson_id} if isinstance(lesson_id, str) else set(lesson_id)
    entries = [e for e in pack.lessons if chosen is None or e.lesson.id in chosen]

    def take(cases: list[Case]) -> None:
        for case in cases:
            report.cases.append(case)
            if on_case is not None:
                on_case(case)

    with _home(home) as tutor_home:
        if jobs <= 1 or len(entries) <= 1:
            for entry in entries:
                take(check_lesson(pack, entry, tutor_home, strict=strict, mutants=mutants))
            return report
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")  # the parent may run server threads: never fork them
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            # the longest lessons first, so that no worker starts a long one while the others finish
            futures = {
                e.lesson.id: pool.submit(
                    _lesson_in_process, str(pack.root), e.lesson.id, str(tutor_home.root), strict, mutants
                )
                for e in sorted(entries, key=lambda e: -expected_cost(e.lesson))
            }
            for entry in entries:  # in pack order, as each is ready
                take(futures[entry.lesson.id].result())
    return report
