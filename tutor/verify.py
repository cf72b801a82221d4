"""`progress verify` and `check`: replay a learner's recorded evidence in fresh sandboxes and judge it.

For every step an export claims as passed, the claim ends as one of:

- **verified**: the step's evidence, replayed in fresh sandboxes after the lesson's earlier steps (their
  own evidence, or their reference solution where they have none), passed the step's check;
- **failed**: replayed, the evidence did not pass; the check's own words say why;
- **unverifiable**: nothing can be replayed, and the verdict says which of these it is: no evidence
  (a CSV export, an older tutor, a step passed before evidence was kept), another pack or pack version,
  a check that changed since (its digest), evidence the tutor could not record whole, or build-it code
  that is run only when asked (`--run-code`);
- **tampered**: the record's digest does not match what it says, or a passed step carries no digest.

The replay is `pack test`'s: the same `Session`, actions applied as a learner's are (typed answer, SQL on
the guarded learner connection, requests from an outside client or the workbench, waits on the lesson
clock), and the same check. A learner's steps are replayed at the lesson times they were done at
(`ApiSandbox.start_clock_at`), so what they forged by hand expires when it did.

Each lesson of each export is replayed in a process of its own (`jobs` at once), with its own home
folder and the built databases shared; the order of the verdicts is the order of the exports and the
pack, whatever finished first.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

if TYPE_CHECKING:
    from tutor.pack.loader import Pack
    from tutor.pack.models import Lesson, Step
    from tutor.session import Session

VERIFIED: Final = "verified"
FAILED: Final = "failed"
UNVERIFIABLE: Final = "unverifiable"
TAMPERED: Final = "tampered"
NOT_PASSED: Final = "not passed"
"""(`check` only) a step the learner has not passed: a failing test case, no claim to judge."""
Status = Literal["verified", "failed", "unverifiable", "tampered", "not passed"]
ORDER: tuple[str, ...] = (VERIFIED, FAILED, UNVERIFIABLE, TAMPERED)


@dataclass(frozen=True)
class Claim:
    """The verdict on one step of one export."""

    learner: str
    source: str  # the export file
    lesson: str
    step: str
    status: Status
    message: str = ""
    points: float = 1.0
    seconds: float = 0.0

    def line(self) -> str:
        text = f"{self.lesson}/{self.step}: {self.status}"
        return text + (f": {self.message}" if self.message else "")


@dataclass
class Learner:
    """One export: who, from which file, and its rows (tutor.progress_export.read_export)."""

    name: str
    source: str
    rows: list[dict[str, Any]] = field(default_factory=list)


# -- what can be said without replaying ---------------------------------------------------------------
def _code_step(step: Step) -> bool:
    from tutor.pack.checks import CODE_KINDS, iter_kinds

    return bool(CODE_KINDS & set(iter_kinds(step.check)))


def _file_problem(evidence: dict[str, Any]) -> str | None:
    import base64

    for name, entry in (evidence.get("files") or {}).items():
        if not isinstance(entry, dict):
            return f"the file {name} is not recorded as the tutor records files"
        try:
            data = (
                entry["text"].encode("utf-8")
                if "text" in entry
                else base64.b64decode(str(entry.get("base64", "")), validate=True)
            )
        except (ValueError, AttributeError):
            return f"the file {name} cannot be read back"
        if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
            return f"the file {name} does not match its sha256"
    return None


def judge_statically(row: dict[str, Any], pack: Pack, step: Step | None, run_code: bool) -> Claim | None:
    """The verdict on a passed row that needs no replay (tampered, unverifiable), or None: replay it."""
    from tutor.evidence import check_digest
    from tutor.progress_export import suspects

    def claim(status: Status, message: str) -> Claim:
        return Claim(row["learner"], row.get("source", ""), row["lesson_id"], row["step_id"], status, message)

    edited = [r for r in suspects(row) if "digest" in r or "edited" in r]
    if edited:
        return claim(TAMPERED, edited[0])
    evidence = row.get("evidence")
    if not isinstance(evidence, dict):
        if not row.get("with_evidence"):
            why = "no evidence: it was exported by a backend-tutor that kept none"
        elif row.get("evidence_sha256"):
            why = "no evidence: this is a CSV export; collect the JSON export (`progress export --format json`)"
        else:
            why = "no evidence: the step was passed before this tutor kept evidence, or it was never checked"
        return claim(UNVERIFIABLE, why)
    recorded_pack = evidence.get("pack") or {}
    if (evidence.get("lesson"), evidence.get("step")) != (row["lesson_id"], row["step_id"]):
        return claim(TAMPERED, f"its evidence is of another step ({evidence.get('lesson')}/{evidence.get('step')})")
    if recorded_pack.get("id") != pack.id:
        return claim(UNVERIFIABLE, f"recorded in the pack '{recorded_pack.get('id')}', not in '{pack.id}'")
    if recorded_pack.get("version") != pack.version:
        return claim(
            UNVERIFIABLE,
            f"recorded with version {recorded_pack.get('version')} of the pack; this is version {pack.version}: "
            f"verify it with --pack pointing at version {recorded_pack.get('version')}",
        )
    if step is None:
        return claim(UNVERIFIABLE, f"the pack has no step {row['lesson_id']}/{row['step_id']}")
    if evidence.get("check_digest") != check_digest(step):
        return claim(
            UNVERIFIABLE,
            "the step's check is not the one it was recorded against (its digest differs), in the same pack version",
        )
    if evidence.get("incomplete"):
        return claim(UNVERIFIABLE, "its evidence is incomplete: " + "; ".join(map(str, evidence["incomplete"])))
    problem = _file_problem(evidence)
    if problem is not None:
        return claim(TAMPERED, problem)
    if _code_step(step) and not run_code:
        return claim(UNVERIFIABLE, "a build-it step: the learner's code runs on this machine only with --run-code")
    return None


# -- the replay -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """One lesson of one export to replay: for each step with usable evidence, that evidence; the steps
    whose claim the replay judges."""

    lesson: str
    evidence: dict[str, dict[str, Any]]
    judge: tuple[str, ...]
    run_code: bool


def _lay_files(session: Session, files: dict[str, Any]) -> None:
    import base64

    assert session.workspace is not None
    folder = Path(tempfile.mkdtemp(prefix="backend-tutor-verify-files-"))
    try:
        for name, entry in files.items():
            target = (folder / name).resolve()
            if folder.resolve() not in target.parents:
                continue  # a name that climbs out of the folder is never written
            target.parent.mkdir(parents=True, exist_ok=True)
            data = entry["text"].encode("utf-8") if "text" in entry else base64.b64decode(entry["base64"])
            target.write_bytes(data)
        session.workspace.lay(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _carried(evidence: dict[str, Any], replayed: dict[str, dict[int, Any]]) -> tuple[dict[str, Any], str | None]:
    """The values this step's evidence takes from earlier steps' responses, read again from the replay."""
    from tutor.checks.http_match import found, read_value

    saved: dict[str, Any] = {}
    for name, where in (evidence.get("carried") or {}).items():
        exchange = replayed.get(str(where.get("step")), {}).get(int(where.get("request", 0)))
        value = read_value(str(where.get("value")), exchange) if exchange is not None else None
        if exchange is None or not found(value):
            return saved, (
                f"it uses a value ({where.get('value')}) that request {where.get('request')} of step "
                f"{where.get('step')} gave, and the replay of that step did not give it"
            )
        saved[name] = value
    return saved, None


def replay_lesson(pack: Pack, lesson: Lesson, plan: Plan, home_root: Path) -> list[tuple[str, Status, str, float]]:
    """(step id, status, message, seconds) for each step of `plan.judge`, in lesson order."""
    import time

    from tutor.pack.actions import Action
    from tutor.packtest import _code_home
    from tutor.paths import Home
    from tutor.session import ActionFailed, Session

    home = Home(home_root).ensure()
    out: list[tuple[str, Status, str, float]] = []
    judge = set(plan.judge)
    with _code_home(), Session(pack, lesson, home) as session:
        try:
            session.start()
        except Exception as exc:
            why = f"the lesson's sandboxes did not start here: {type(exc).__name__}: {exc}"
            return [(s.id, FAILED, why, 0.0) for s in lesson.steps if s.id in judge]
        api_used = False
        replayed: dict[str, dict[int, Any]] = {}
        for step in lesson.steps:
            if _code_step(step) and not plan.run_code:
                continue  # its claim, if any, was judged without a replay
            started = time.perf_counter()
            evidence = plan.evidence.get(step.id)
            session.begin_step(step)
            if evidence is None:
                with contextlib.suppress(ActionFailed):  # the pack's own solution: `pack test` reports it
                    session.apply(step.solution)
                api_used = api_used or bool(step.solution.requests)
                continue
            if session.api is not None and evidence.get("lesson_time") is not None:
                target = float(evidence["lesson_time"])
                if not api_used:
                    session.api.start_clock_at(target)
                elif target > session.api.lesson_time():
                    session.api.advance_clock(target - session.api.lesson_time())
            failure = None
            saved, failure = _carried(evidence, replayed)
            sent: list[tuple[int, Any]] = []
            answer = evidence.get("action", {}).get("answer")
            if failure is None:
                try:
                    if evidence.get("files") is not None and session.workspace is not None:
                        _lay_files(session, evidence["files"])
                    action_data = evidence.get("action") or {}
                    if action_data:
                        action = Action.model_validate(action_data)
                        answer = session.apply(action, saved=saved, sent=sent)
                except ActionFailed as exc:
                    failure = f"the recorded work could not be replayed: {exc}"
                except ValueError as exc:  # pydantic: an action the format does not allow
                    failure = f"its evidence is not a valid action: {exc}"
            replayed[step.id] = dict(sent)
            api_used = api_used or bool(sent)
            if step.id not in judge:
                continue
            seconds = time.perf_counter() - started
            if failure is not None:
                out.append((step.id, FAILED, failure, seconds))
                continue
            result = session.check(step, answer)
            seconds = time.perf_counter() - started
            if result.passed and not result.error:
                out.append((step.id, VERIFIED, "", seconds))
            else:
                text = " | ".join(line for line in result.explain().splitlines() if line.strip())
                out.append((step.id, FAILED, text, seconds))
    return out


def _replay_in_process(
    root: str, lesson_id: str, plan: Plan, home: str
) -> list[tuple[str, Status, str, float]]:  # pragma: no cover - runs in a worker process (tests run it end to end)
    from tutor.pack.loader import load_pack

    loaded = load_pack(Path(root))
    assert loaded.pack is not None
    entry = loaded.pack.lesson_file(lesson_id)
    assert entry is not None
    return replay_lesson(loaded.pack, entry.lesson, plan, Path(home))


@contextmanager
def _homes() -> Iterator[Callable[[int], Path]]:
    """A home folder per job (each lesson's session folder is its own), the built databases shared."""
    folder = Path(tempfile.mkdtemp(prefix="backend-tutor-verify-"))
    (folder / "cache").mkdir()

    def home(number: int) -> Path:
        root = folder / f"job-{number}"
        root.mkdir(exist_ok=True)
        if not (root / "cache").exists():
            (root / "cache").symlink_to(folder / "cache", target_is_directory=True)
        return root

    try:
        yield home
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def plan_learner(
    learner: Learner, pack: Pack, *, run_code: bool, lesson_id: str | None = None, step_id: str | None = None
) -> tuple[list[Claim], list[Plan]]:
    """The claims judged without a replay, and one plan per lesson that needs replaying."""
    from tutor.progress import PASSED

    static: list[Claim] = []
    plans: list[Plan] = []
    by_lesson: dict[str, dict[str, dict[str, Any]]] = {}
    for row in learner.rows:
        by_lesson.setdefault(row["lesson_id"], {})[row["step_id"]] = row
    for lesson_id_, rows in by_lesson.items():
        if lesson_id is not None and lesson_id_ != lesson_id:
            continue
        entry = pack.lesson_file(lesson_id_)
        lesson = entry.lesson if entry is not None else None
        steps = {s.id: s for s in lesson.steps} if lesson is not None else {}
        usable: dict[str, dict[str, Any]] = {}
        judge: list[str] = []
        for step_id_, row in rows.items():
            if row.get("status") != PASSED or (step_id is not None and step_id_ != step_id):
                continue
            verdict = judge_statically(row, pack, steps.get(step_id_), run_code)
            if verdict is not None:
                static.append(verdict)
                continue
            usable[step_id_] = row["evidence"]
            judge.append(step_id_)
        # earlier steps' own evidence carries forward even when their claim is not judged here
        for step_id_, row in rows.items():
            if step_id_ in usable or row.get("status") != PASSED or step_id_ not in steps:
                continue
            if judge_statically(row, pack, steps[step_id_], run_code) is None:
                usable[step_id_] = row["evidence"]
        if judge and lesson is not None:
            plans.append(Plan(lesson_id_, usable, tuple(judge), run_code))
    return static, plans


def verify(
    learners: list[Learner],
    pack: Pack,
    *,
    jobs: int = 1,
    run_code: bool = False,
    lesson_id: str | None = None,
    step_id: str | None = None,
    points: dict[tuple[str, str], float] | None = None,
    on_done: Callable[[int, int], None] | None = None,
) -> list[Claim]:
    """Every claim of every export, in export order and then pack order. `on_done(done, total)` after
    each lesson replayed (for a progress bar)."""
    order = {(e.lesson.id, s.id): n for n, (e, s) in enumerate((e, s) for e in pack.lessons for s in e.lesson.steps)}
    claims: list[Claim] = []
    work: list[tuple[int, Learner, Plan]] = []
    for learner in learners:
        static, plans = plan_learner(learner, pack, run_code=run_code, lesson_id=lesson_id, step_id=step_id)
        claims.extend(static)
        work.extend((len(work), learner, plan) for plan in plans)
    total = len(work)
    if on_done is not None:
        on_done(0, total)
    results: dict[int, list[tuple[str, Status, str, float]]] = {}
    with _homes() as home:
        if jobs <= 1 or total <= 1:
            for number, _learner, plan in work:
                entry = pack.lesson_file(plan.lesson)
                assert entry is not None
                results[number] = replay_lesson(pack, entry.lesson, plan, home(number))
                if on_done is not None:
                    on_done(len(results), total)
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            context = multiprocessing.get_context("spawn")  # the parent may run server threads: never fork them
            with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
                futures = {
                    pool.submit(_replay_in_process, str(pack.root), plan.lesson, plan, str(home(number))): number
                    for number, _learner, plan in work
                }
                for future in as_completed(futures):
                    results[futures[future]] = future.result()
                    if on_done is not None:
                        on_done(len(results), total)
    for number, learner, plan in work:
        for step, status, message, seconds in results[number]:
            claims.append(Claim(learner.name, learner.source, plan.lesson, step, status, message, seconds=seconds))
    position = {id(learner): n for n, learner in enumerate(learners)}
    by_source = {learner.source: position[id(learner)] for learner in learners}
    claims.sort(key=lambda c: (by_source.get(c.source, 0), order.get((c.lesson, c.step), len(order))))
    if points:
        claims = [_with_points(c, points) for c in claims]
    return claims


def _with_points(claim: Claim, points: dict[tuple[str, str], float]) -> Claim:
    from dataclasses import replace

    return replace(claim, points=points.get((claim.lesson, claim.step), 1.0))


def step_points(pack: Pack) -> dict[tuple[str, str], float]:
    return {(e.lesson.id, s.id): float(s.points) for e in pack.lessons for s in e.lesson.steps}


GRADEBOOK_COLUMNS = [
    "learner",
    "source",
    "claims",
    VERIFIED,
    FAILED,
    UNVERIFIABLE,
    TAMPERED,
    "points",
    "points_possible",
]
"""`progress verify --csv`: one row per export; `points` adds up the points of the verified steps only."""


def gradebook_rows(learners: list[Learner], claims: list[Claim], pack: Pack) -> list[dict[str, Any]]:
    possible = sum(step_points(pack).values())
    rows = []
    for learner in learners:
        mine = [c for c in claims if c.source == learner.source]
        row: dict[str, Any] = {"learner": learner.name, "source": learner.source, "claims": len(mine)}
        for status in ORDER:
            row[status] = sum(1 for c in mine if c.status == status)
        row["points"] = sum(c.points for c in mine if c.status == VERIFIED)
        row["points_possible"] = possible
        rows.append(row)
    return rows


def as_json(claims: list[Claim]) -> dict[str, Any]:
    counts = {status: sum(1 for c in claims if c.status == status) for status in ORDER}
    return {"claims": [asdict(c) for c in claims], "counts": counts, "exit_status": exit_status(claims)}


def exit_status(claims: list[Claim]) -> int:
    """0: every claim verified; 1: some claim failed or was tampered with; 3: the rest verified, but some
    could not be (2 is left to the command line: a file that is not an export, an unknown pack)."""
    if any(c.status in (FAILED, TAMPERED, NOT_PASSED) for c in claims):
        return 1
    if any(c.status == UNVERIFIABLE for c in claims):
        return 3
    return 0
