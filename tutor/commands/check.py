"""`backend-tutor check`: run steps' checks without the TUI, for a learner's terminal, CI and GitHub Classroom.

What each step is checked against:

- build-it steps: the files in the learner's workspace as they are now (`--workspace DIR` before the
  command chooses the folder); a pass is recorded in the progress store, with its evidence, as the app
  records it;
- every other step: the evidence recorded when the learner passed it, replayed in fresh sandboxes as
  `progress verify` replays it, from the local progress (the default) or from an export (`--evidence`);
- with `--from-progress` or `--evidence`, build-it steps too are replayed from their recorded files.

One line per step, then `N passed, M failed` and the points; `--junit FILE` writes one test case per step
(tutor.junit), `--json` prints every verdict. Exit 0 when every step checked passed, 1 otherwise, 2 when
the pack, a lesson or the evidence cannot be read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tutor.cli import pack_path_option
from tutor.commands.pack import TRUST_OPTION, _allow_code
from tutor.commands.progress import JOBS_OPTION, RUN_CODE_OPTION, _load_full_pack, _open_store, _read_learners

if TYPE_CHECKING:
    from tutor.pack.loader import Pack
    from tutor.pack.models import Lesson, Step
    from tutor.verify import Claim, Learner


def _selected(pack: Pack, lesson_id: str | None, step_id: str | None) -> list[tuple[Lesson, list[Step]]]:
    out = []
    for entry in pack.lessons:
        if lesson_id is not None and entry.lesson.id != lesson_id:
            continue
        steps = [s for s in entry.lesson.steps if step_id is None or s.id == step_id]
        if steps:
            out.append((entry.lesson, steps))
    return out


def _learner_from_progress(pack: Pack) -> Learner:
    """The local progress store as an export (the JSON `progress export` writes), read back."""
    from tutor.pack.index import read_index
    from tutor.progress_export import LEARNER_SETTING, _rows_from_json, export_json
    from tutor.verify import Learner

    index = read_index(pack.root)
    with _open_store() as store:
        recorded = store.pack_steps(pack.id)
        evidence = store.pack_evidence(pack.id)
        name = store.setting(LEARNER_SETTING) or "you"
    document = json.loads(json.dumps(export_json(index, name, recorded, None, evidence)))
    return Learner(name, "progress", _rows_from_json(Path("progress"), document))


def _check_workspace(pack: Pack, lesson: Lesson, steps: list[Step]) -> list[Claim]:
    """Check build-it steps against the workspace as it is, and record each pass as the app does."""
    import time

    from tutor.evidence import record_check
    from tutor.paths import Home
    from tutor.progress import ProgressError
    from tutor.session import Session
    from tutor.verify import FAILED, VERIFIED, Claim

    out: list[Claim] = []
    home = Home.from_env().ensure()
    with _open_store() as store, Session(pack, lesson, home) as session:
        try:
            session.start()
        except Exception as exc:
            return [
                Claim("you", "workspace", lesson.id, s.id, FAILED, f"the lesson's sandboxes did not start: {exc}")
                for s in steps
            ]
        for step in steps:
            started = time.perf_counter()
            session.begin_step(step)
            result = session.check(step)
            try:
                record_check(store, session, step, None, result)
            except ProgressError as exc:
                click.echo(f"note: {exc}", err=True)
            passed = result.passed and not result.error
            message = "" if passed else " | ".join(x for x in result.explain().splitlines() if x.strip())
            seconds = time.perf_counter() - started
            out.append(
                Claim("you", "workspace", lesson.id, step.id, VERIFIED if passed else FAILED, message, 1.0, seconds)
            )
    return out


def _not_passed(
    learner: Learner, selected: list[tuple[Lesson, list[Step]]], judged: set[tuple[str, str]]
) -> list[Claim]:
    from tutor.verify import NOT_PASSED, Claim

    out = []
    for lesson, steps in selected:
        for step in steps:
            if (lesson.id, step.id) not in judged:
                out.append(Claim(learner.name, learner.source, lesson.id, step.id, NOT_PASSED, "not passed yet"))
    return out


@click.command()
@pack_path_option
@click.option("--lesson", "lesson_id", default=None, help="Check only this lesson (by id).")
@click.option("--step", "step_id", default=None, help="Check only this step (by id; with --lesson when ids repeat).")
@click.option(
    "--from-progress", is_flag=True, help="Replay every step from your recorded progress, build-it steps included."
)
@click.option(
    "--evidence",
    "evidence_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Replay the evidence of this export (`progress export --format json`) instead of your own progress.",
)
@click.option(
    "--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write JUnit XML here."
)
@click.option("--json", "as_json", is_flag=True, help="Every step's verdict as one JSON document.")
@JOBS_OPTION
@RUN_CODE_OPTION
@TRUST_OPTION
def check(
    pack_path: Path | None,
    lesson_id: str | None,
    step_id: str | None,
    from_progress: bool,
    evidence_file: Path | None,
    junit_path: Path | None,
    as_json: bool,
    jobs: int | None,
    run_code: bool,
    trusted: bool,
) -> None:
    """Run steps' checks without the tutor's screen: one line per step, JUnit XML for CI.

    Build-it steps are checked against your workspace; the other steps replay the work recorded when you
    passed them. Exit 0 when every step checked passes. Build-it steps of an export given with --evidence
    run that learner's code: only with --run-code. A pack other than the built-in one runs its author's
    code in build-it checks: you are asked once (--trust in CI)."""
    from tutor.packtest import default_jobs
    from tutor.verify import NOT_PASSED, VERIFIED, exit_status, step_points, verify

    if from_progress and evidence_file is not None:
        raise click.UsageError("give --from-progress or --evidence, not both")
    pack = _load_full_pack(pack_path)
    if lesson_id is not None and pack.lesson(lesson_id) is None:
        raise click.BadParameter(f"no lesson '{lesson_id}' in this pack", param_hint="--lesson")
    selected = _selected(pack, lesson_id, step_id)
    if not selected:
        raise click.BadParameter(
            f"no step '{step_id}' in {'this pack' if lesson_id is None else lesson_id}", param_hint="--step"
        )
    learner = _read_learners((evidence_file,))[0] if evidence_file is not None else _learner_from_progress(pack)
    workspace = evidence_file is None and not from_progress
    if any(_is_code(s) for _, steps in selected for s in steps) and not (evidence_file is not None and run_code):
        _allow_code(pack, trusted, "check", lesson_id)  # --run-code already said yes to running code
    points = step_points(pack)
    claims: list[Claim] = []
    replay_rows: list[dict[str, Any]] = []
    for lesson, steps in selected:
        code = [s for s in steps if _is_code(s)]
        if workspace and code:
            claims.extend(_check_workspace(pack, lesson, code))
        wanted = {(lesson.id, s.id) for s in steps if not (workspace and _is_code(s))}
        replay_rows.extend(r for r in learner.rows if (r["lesson_id"], r["step_id"]) in wanted)
    from tutor.verify import Learner as LearnerRows

    replayed = verify(
        [LearnerRows(learner.name, learner.source, replay_rows)],
        pack,
        jobs=jobs if jobs is not None else default_jobs(),
        run_code=run_code or evidence_file is None,
        points=points,
    )
    claims.extend(replayed)
    judged = {(c.lesson, c.step) for c in claims}
    claims.extend(_not_passed(learner, selected, judged))
    order = {
        (lesson.id, s.id): n for n, (lesson, s) in enumerate((lesson, s) for lesson, steps in selected for s in steps)
    }
    claims = sorted(
        (_points(c, points) for c in claims if (c.lesson, c.step) in order), key=lambda c: order[(c.lesson, c.step)]
    )
    if junit_path is not None:
        from tutor.files import write_atomic
        from tutor.junit import junit_xml

        write_atomic(junit_path, junit_xml(pack.id, claims, points))
    earned = sum(c.points for c in claims if c.status == VERIFIED)
    possible = sum(points[(c.lesson, c.step)] for c in claims)
    status = exit_status(claims)
    if as_json:
        document: dict[str, Any] = {
            "pack": {"id": pack.id, "version": pack.version},
            "steps": [c.__dict__ for c in claims],
            "passed": sum(1 for c in claims if c.status == VERIFIED),
            "failed": sum(1 for c in claims if c.status != VERIFIED),
            "points": earned,
            "points_possible": possible,
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        sys.exit(1 if status else 0)
    for claim in claims:
        mark = "✓" if claim.status == VERIFIED else "✗"
        words = (
            "passed" if claim.status == VERIFIED else claim.status if claim.status != NOT_PASSED else "not passed yet"
        )
        detail = f": {claim.message}" if claim.message and claim.status not in (VERIFIED, NOT_PASSED) else ""
        click.echo(f"{mark} {claim.lesson}/{claim.step}: {words}{detail}")
    passed = sum(1 for c in claims if c.status == VERIFIED)
    click.echo(f"{passed} passed, {len(claims) - passed} failed; {earned:g} of {possible:g} points")
    if junit_path is not None:
        click.echo(f"wrote {junit_path}")
    sys.exit(1 if status else 0)


def _is_code(step: Step) -> bool:
    from tutor.verify import _code_step

    return _code_step(step)


def _points(claim: Claim, points: dict[tuple[str, str], float]) -> Claim:
    from dataclasses import replace

    return replace(claim, points=points.get((claim.lesson, claim.step), 1.0))
