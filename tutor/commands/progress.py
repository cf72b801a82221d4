"""`backend-tutor progress`: the learner's progress as a table, and `progress reset [LESSON]`.

Never imports Textual: it reads the progress store and the pack's outline (no pydantic either).
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tutor.cli import pack_path_option
from tutor.paths import Home, builtin_pack_path

if TYPE_CHECKING:
    from tutor.pack.loader import Pack
    from tutor.progress import ProgressStore
    from tutor.verify import Claim, Learner


def _open_store() -> ProgressStore:
    from tutor.progress import ProgressError, ProgressStore

    try:
        store = ProgressStore.open(Home.from_env().progress_db)
    except ProgressError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if store.notice:
        click.echo(f"note: {store.notice}", err=True)
    return store


def _learner(store: ProgressStore) -> str:
    from tutor.progress_export import LEARNER_SETTING

    return store.setting(LEARNER_SETTING) or ""


def _export_json(pack_path: Path | None, learner: str | None = None) -> str:
    """The export an instructor collects; see tutor/progress_export.py for the stable shape."""
    import json

    from tutor.pack.index import read_index
    from tutor.progress_export import export_json

    index = read_index(pack_path or builtin_pack_path())
    with _open_store() as store:
        steps_by_lesson = store.pack_steps(index.id)
        position = store.position(index.id)
        name = learner if learner is not None else _learner(store)
        evidence = store.pack_evidence(index.id)
    where = (position.lesson_id, position.step_id) if position else None
    return json.dumps(export_json(index, name, steps_by_lesson, where, evidence), indent=2, ensure_ascii=False)


def _print_json(pack_path: Path | None) -> None:
    click.echo(_export_json(pack_path))


def _when(timestamp: float | None, *, short: bool = False) -> str:
    return (
        datetime.fromtimestamp(timestamp).strftime("%m-%d %H:%M" if short else "%Y-%m-%d %H:%M") if timestamp else "-"
    )


@click.group(invoke_without_command=True)
@pack_path_option
@click.option("--json", "as_json", is_flag=True, help="Every step's record as JSON, to hand to an instructor.")
@click.pass_context
def progress(ctx: click.Context, pack_path: Path | None, as_json: bool) -> None:
    """Show your progress in a pack (without starting the tutor)."""
    if ctx.invoked_subcommand is not None:
        return
    if as_json:
        _print_json(pack_path)
        return
    from rich.console import Console
    from rich.table import Table

    from tutor.pack.index import read_index
    from tutor.progress import IN_PROGRESS, NOT_STARTED, PASSED, lesson_status

    index = read_index(pack_path or builtin_pack_path())
    store = _open_store()
    with store:
        steps_by_lesson = store.pack_steps(index.id)
        position = store.position(index.id)
    words = {PASSED: "✓ done", IN_PROGRESS: "◐ started", NOT_STARTED: "○ new"}
    console = Console()
    narrow = console.width < 100
    table = Table(title=f"{index.title} ({index.id} {index.version})", title_justify="left")
    if narrow:
        # 80 columns: one line per lesson (the title cut, never wrapped), the track as a heading row
        width = max(20, console.width - 40)  # what the status, steps and date columns leave
        table.add_column("lesson", no_wrap=True, overflow="ellipsis", max_width=width, min_width=width)
    else:
        table.add_column("track", max_width=12)
        table.add_column("lesson", min_width=14, ratio=1)
    table.add_column("status", no_wrap=True, min_width=9)
    columns = ("steps",) if narrow else ("steps", "checks", "hints", "sol.")
    for column in columns:
        table.add_column(column, justify="right", no_wrap=True, min_width=len(column))
    table.add_column("last seen", no_wrap=True, min_width=11 if narrow else 16)
    tracks = {t.id: t.title for t in index.tracks}
    total_steps = total_done = 0
    track_shown = None
    for lesson in index.lessons:
        steps = steps_by_lesson.get(lesson.id, {})
        current = [steps[s] for s in lesson.step_ids if s in steps]
        done = sum(1 for s in current if s.passed)
        total_steps += len(lesson.steps)
        total_done += done
        last = max((s.last_activity or 0 for s in current), default=0) or None
        counts = [
            str(sum(s.attempts for s in current)),
            str(sum(s.hints_used for s in current)),
            str(sum(1 for s in current if s.solution_viewed)),
        ]
        status = words[lesson_status(lesson.step_ids, steps)]
        if narrow:
            if lesson.track != track_shown:
                track_shown = lesson.track
                table.add_row(f"[b]{tracks.get(lesson.track, lesson.track)}[/b]", "", "", "")
            table.add_row(f"  {lesson.title}", status, f"{done}/{len(lesson.steps)}", _when(last, short=True))
        else:
            table.add_row(
                tracks.get(lesson.track, lesson.track),
                lesson.title,
                status,
                f"{done}/{len(lesson.steps)}",
                *counts,
                _when(last),
            )
    console.print(table)
    percent = round(100 * total_done / total_steps) if total_steps else 0
    click.echo(f"{total_done} of {total_steps} steps done ({percent}%).")
    gone = sorted(set(steps_by_lesson) - {lesson.id for lesson in index.lessons})
    if gone:
        click.echo(f"Kept progress of lessons no longer in this pack: {', '.join(gone)}")
    last_lesson = index.lesson(position.lesson_id) if position is not None else None
    if position is not None and last_lesson is not None:
        step = next((s.title for s in last_lesson.steps if s.id == position.step_id), position.step_id)
        click.echo(f"Last position: {last_lesson.title}: {step} (run backend-tutor and press c).")


@progress.command()
@click.argument("lesson", required=False)
@pack_path_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def reset(lesson: str | None, pack_path: Path | None, yes: bool) -> None:
    """Forget your progress in a pack, or only in LESSON (a lesson id)."""
    from tutor.pack.index import read_index

    index = read_index(pack_path or builtin_pack_path())
    store = _open_store()
    with store:
        steps = store.pack_steps(index.id)
        if lesson is not None and lesson not in steps and index.lesson(lesson) is None:
            known = ", ".join(sorted({*steps, *(x.id for x in index.lessons)}))
            click.echo(f"error: no lesson '{lesson}' in {index.id} (lessons: {known})", err=True)
            sys.exit(2)
        what = f"lesson '{lesson}'" if lesson else f"every lesson of {index.title} ({index.id})"
        count = len(steps.get(lesson, {})) if lesson else sum(len(v) for v in steps.values())
        if count == 0:
            click.echo(f"Nothing to reset: no progress recorded for {what}.")
            return
        if not yes and not click.confirm(f"Forget your progress on {count} step(s) of {what}?", default=False):
            click.echo("Nothing was changed.")
            sys.exit(1)
        removed = store.reset(index.id, lesson)
    click.echo(f"Reset: forgot {removed} step(s) of {what}.")


@progress.command(name="export")
@pack_path_option
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.option("--name", default=None, help="Your name as your instructor knows it (saved, as with `whoami`).")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write to this file."
)
def export(pack_path: Path | None, fmt: str, name: str | None, output: Path | None) -> None:
    """Your progress in a pack, with your name, for an instructor (columns: see docs/instructors.md)."""
    from tutor.pack.index import read_index
    from tutor.progress_export import COLUMNS, LEARNER_SETTING, export_rows, rows_to_csv

    with _open_store() as store:
        if name:
            store.set_setting(LEARNER_SETTING, name.strip())
        learner = _learner(store)
        if not learner and sys.stdin.isatty():
            learner = click.prompt("Your name, as your instructor knows you", type=str).strip()
            store.set_setting(LEARNER_SETTING, learner)
        if not learner:
            click.echo("error: no learner name: run `backend-tutor whoami NAME` or pass --name NAME", err=True)
            sys.exit(2)
    if fmt == "json":
        text = _export_json(pack_path, learner) + "\n"
    else:
        index = read_index(pack_path or builtin_pack_path())
        with _open_store() as store:
            recorded = store.pack_steps(index.id)
            evidence = store.pack_evidence(index.id)
        text = rows_to_csv(export_rows(index, learner, recorded, evidence), COLUMNS)
    if output is None:
        click.echo(text, nl=False)
    else:
        from tutor.files import write_atomic

        write_atomic(output, text)
        click.echo(f"wrote {output} ({learner}); send it to your instructor", err=True)


@progress.command(name="merge")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write every learner's rows here (CSV) and the per-step summary next to it (NAME-summary.csv); "
    "with --format canvas, the Canvas gradebook.",
)
@click.option(
    "--roster",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A CSV of the learners you expect (name, and optionally email, id, login, section, canvas_id).",
)
@click.option("--due", default=None, help="Mark steps completed after this date (2027-01-15) or time as late.")
@click.option("--points", is_flag=True, help="Give each passed step the points the pack gives it (default 1).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "canvas"]),
    default="csv",
    show_default=True,
    help="What -o writes: the merged rows, or a gradebook Canvas imports (one column per lesson).",
)
@pack_path_option
def merge_command(
    files: tuple[Path, ...],
    output: Path | None,
    roster: Path | None,
    due: str | None,
    points: bool,
    fmt: str,
    pack_path: Path | None,
) -> None:
    """Combine a cohort's exports (CSV or JSON) and show, per step, where learners get stuck.

    Rows that cannot be taken as they stand (an edited record, a passed step with no evidence, no
    attempts or no completion time) are marked suspect: run `progress verify` on those exports."""
    from rich.bar import Bar
    from rich.console import Console
    from rich.table import Table

    from tutor.gradebook import MERGE_COLUMNS, RosterError, annotate, match_roster, parse_due, read_roster
    from tutor.progress_export import COLUMNS, SUMMARY_COLUMNS, ExportError, merge, read_export, rows_to_csv

    rows = []
    failed = False
    for path in files:
        try:
            rows.extend(read_export(path))
        except ExportError as exc:
            click.echo(str(exc), err=True)
            failed = True
    try:
        entries = read_roster(roster) if roster is not None else None
        deadline = parse_due(due) if due is not None else None
    except RosterError as exc:
        click.echo(str(exc), err=True)
        failed = True
    if failed:
        sys.exit(1)
    merged, summaries = merge(rows)
    step_points = _pack_points(pack_path) if points or fmt == "canvas" else None
    annotate(merged, due=deadline, points=step_points if points else None, roster=entries)
    learners = sorted({r["learner"] for r in merged})
    console = Console(highlight=False)
    table = Table(
        title=f"{len(learners)} learners, {len(summaries)} steps", title_justify="left", pad_edge=False, box=None
    )
    table.add_column("lesson / step", min_width=22, overflow="fold")
    table.add_column("passed", min_width=5, max_width=24)
    table.add_column("%", justify="right", no_wrap=True)
    table.add_column("tries", justify="right", no_wrap=True)
    table.add_column("hints", justify="right", no_wrap=True)
    table.add_column("sol.", justify="right", no_wrap=True)
    table.add_column("stuck", justify="right", no_wrap=True)
    table.add_column("suspect", justify="right", no_wrap=True)
    if deadline is not None:
        table.add_column("late", justify="right", no_wrap=True)
    worst = max(summaries, key=lambda s: (s.stuck, -s.completion_rate), default=None)
    lesson_shown = None
    # The bar takes what the numbers leave: every column stays on an 80-column terminal.
    bar_width = max(4, min(24, console.width - (75 if deadline is not None else 69)))
    for summary in summaries:
        if (summary.pack_id, summary.lesson_id) != lesson_shown:
            # A row with the lesson's id, then its steps under it: ids fit an 80-column terminal unbroken.
            lesson_shown = (summary.pack_id, summary.lesson_id)
            table.add_row(f"[bold]{summary.lesson_id}[/]")
        median = "-" if summary.median_attempts is None else f"{summary.median_attempts:g}"
        stuck = f"{summary.stuck}" + (" ◀" if summary is worst and summary.stuck else "")
        key = (summary.pack_id, summary.lesson_id, summary.step_id)
        mine = [r for r in merged if (r["pack_id"], r["lesson_id"], r["step_id"]) == key]
        cells: list[str | Bar] = [
            f"  {summary.step_id}",
            Bar(size=1.0, begin=0.0, end=summary.completion_rate, width=bar_width),
            f"{round(summary.completion_rate * 100)}",
            median,
            str(summary.hints_used),
            str(summary.solutions_viewed),
            stuck,
            str(sum(1 for r in mine if r["suspect"])),
        ]
        if deadline is not None:
            cells.append(str(sum(1 for r in mine if r["late"])))
        table.add_row(*cells)
    console.print(table)
    if worst is not None and worst.stuck:
        click.echo(
            f"Most stuck: {worst.lesson_id}/{worst.step_id} ({worst.step_title}): {worst.stuck} of "
            f"{worst.learners} started it and have not passed."
        )
    suspect = [r for r in merged if r["suspect"]]
    if suspect:
        click.echo(f"Suspect rows ({len(suspect)}): run `backend-tutor progress verify` on these exports.")
        for row in suspect[:20]:
            click.echo(f"  {row['learner']}: {row['lesson_id']}/{row['step_id']}: {row['suspect']}")
        if len(suspect) > 20:
            click.echo(f"  ... and {len(suspect) - 20} more (the `suspect` column of -o has them all)")
    if entries is not None:
        found, strays = match_roster(learners, entries)
        missing = [e.name for e in entries if e not in found.values()]
        if missing:
            click.echo(f"Missing (on the roster, no export): {', '.join(missing)}")
        if strays:
            click.echo(f"Not on the roster: {', '.join(strays)}")
    if deadline is not None:
        late = sorted({r["learner"] for r in merged if r["late"]})
        if late:
            click.echo(f"Late (completed after {deadline.isoformat(timespec='minutes')}): {', '.join(late)}")
    if step_points is not None and points:
        totals = {name: sum(float(r["points"]) for r in merged if r["learner"] == name) for name in learners}
        possible = sum(step_points.values())
        click.echo("Points: " + ", ".join(f"{name} {totals[name]:g}/{possible:g}" for name in learners))
    if output is None:
        return
    from tutor.files import write_atomic

    if fmt == "canvas":
        from tutor.gradebook import canvas_rows, csv_text

        header, lines = canvas_rows(merged, _lesson_points(pack_path, step_points or {}), entries)
        write_atomic(output, csv_text(header, lines))
        click.echo(f"wrote {output} (Canvas: Grades > Import)")
        return
    write_atomic(output, rows_to_csv(merged, COLUMNS + MERGE_COLUMNS))
    summary_path = output.with_name(f"{output.stem}-summary.csv")
    write_atomic(summary_path, rows_to_csv([s.as_row() for s in summaries], SUMMARY_COLUMNS))
    click.echo(f"wrote {output} and {summary_path}")


def _pack_points(pack_path: Path | None) -> dict[tuple[str, str], float]:
    from tutor.verify import step_points

    return step_points(_load_full_pack(pack_path))


def _lesson_points(pack_path: Path | None, points: dict[tuple[str, str], float]) -> list[tuple[str, str, float]]:
    """(lesson id, title, points possible) in pack order."""
    from tutor.pack.index import read_index

    index = read_index(pack_path or builtin_pack_path())
    return [
        (lesson.id, lesson.title, sum(points.get((lesson.id, s), 1.0) for s in lesson.step_ids))
        for lesson in index.lessons
    ]


@click.command()
@click.argument("name", required=False)
def whoami(name: str | None) -> None:
    """Set (or show) your name, which `progress export` puts in each export for your instructor."""
    from tutor.progress_export import LEARNER_SETTING

    with _open_store() as store:
        if name is None:
            current = store.setting(LEARNER_SETTING)
            click.echo(current or "no name set: backend-tutor whoami NAME")
            sys.exit(0 if current else 1)
        store.set_setting(LEARNER_SETTING, name.strip())
    click.echo(f"your exports now say: {name.strip()}")


def _load_full_pack(pack_path: Path | None) -> Pack:
    """The validated pack (what a replay needs), or exit 2 with its problems."""
    from tutor.pack.loader import load_pack

    result = load_pack(pack_path or builtin_pack_path())
    if not result.ok or result.pack is None:
        for problem in result.errors:
            click.echo(str(problem), err=True)
        click.echo("error: the pack does not validate; fix the errors above first", err=True)
        sys.exit(2)
    return result.pack


def _read_learners(files: tuple[Path, ...]) -> list[Learner]:
    from tutor.progress_export import ExportError, read_export
    from tutor.verify import Learner

    learners: list[Learner] = []
    failed = False
    for path in files:
        try:
            rows = read_export(path)
        except ExportError as exc:
            click.echo(str(exc), err=True)
            failed = True
            continue
        name = str(rows[0]["learner"]) if rows else path.stem
        learners.append(Learner(name, str(path), rows))
    if failed:
        sys.exit(2)
    return learners


JOBS_OPTION = click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Lessons replayed at once, each in a process of its own (default: the number of cores, at most 4).",
)
RUN_CODE_OPTION = click.option(
    "--run-code",
    is_flag=True,
    help="Replay build-it steps: runs each learner's own code on this machine, in the tutor's contained child "
    "process but with your user's rights. Without it those steps are unverifiable.",
)


@progress.command(name="verify")
@click.argument("exports", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pack_path_option
@JOBS_OPTION
@RUN_CODE_OPTION
@click.option("--lesson", "lesson_id", default=None, help="Verify only this lesson's steps.")
@click.option("--json", "as_json", is_flag=True, help="Every verdict as one JSON document.")
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write one row per learner for a gradebook (columns: see docs/instructors.md).",
)
def verify_command(
    exports: tuple[Path, ...],
    pack_path: Path | None,
    jobs: int | None,
    run_code: bool,
    lesson_id: str | None,
    as_json: bool,
    csv_path: Path | None,
) -> None:
    """Replay each export's evidence in fresh sandboxes and say, per passed step: verified, failed,
    unverifiable or tampered.

    Exit 0 when every claim is verified, 1 when one failed or was tampered with, 3 when the rest is
    verified but some claims cannot be, 2 when an export or the pack cannot be read."""
    import json

    from tutor.packtest import default_jobs
    from tutor.verify import as_json as claims_json
    from tutor.verify import exit_status, step_points, verify

    pack = _load_full_pack(pack_path)
    if lesson_id is not None and pack.lesson(lesson_id) is None:
        raise click.BadParameter(f"no lesson '{lesson_id}' in this pack", param_hint="--lesson")
    learners = _read_learners(exports)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    err = Console(stderr=True, highlight=False)
    bar = Progress(
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("lessons"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=as_json or not err.is_terminal,
    )
    with bar:
        task = bar.add_task("replay", total=None)
        claims = verify(
            learners,
            pack,
            jobs=jobs if jobs is not None else default_jobs(),
            run_code=run_code,
            lesson_id=lesson_id,
            points=step_points(pack),
            on_done=lambda done, total: bar.update(task, completed=done, total=total),
        )
    status = exit_status(claims)
    if csv_path is not None:
        from tutor.files import write_atomic
        from tutor.progress_export import rows_to_csv
        from tutor.verify import GRADEBOOK_COLUMNS, gradebook_rows

        write_atomic(csv_path, rows_to_csv(gradebook_rows(learners, claims, pack), GRADEBOOK_COLUMNS))
    if as_json:
        click.echo(json.dumps(claims_json(claims), indent=2, ensure_ascii=False))
        sys.exit(status)
    _print_verdicts(learners, claims, pack)
    if csv_path is not None:
        click.echo(f"wrote {csv_path}")
    sys.exit(status)


def _print_verdicts(learners: list[Learner], claims: list[Claim], pack: Pack) -> None:
    from rich.console import Console
    from rich.table import Table

    from tutor.verify import FAILED, ORDER, TAMPERED, UNVERIFIABLE, VERIFIED, gradebook_rows

    console = Console(highlight=False)
    table = Table(title=f"{pack.title} ({pack.id} {pack.version})", title_justify="left", box=None, pad_edge=False)
    table.add_column("learner", overflow="fold")
    for column in ORDER:
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    for row in gradebook_rows(learners, claims, pack):
        table.add_row(
            str(row["learner"]),
            *(str(row[c]) for c in (VERIFIED, FAILED, UNVERIFIABLE, TAMPERED)),
            f"{row['points']:g}/{row['points_possible']:g}",
        )
    console.print(table)
    problems = [c for c in claims if c.status != VERIFIED]
    if problems:
        click.echo("")
    for claim in problems:
        click.echo(f"{claim.learner}: {claim.line()}")
    counts = {status: sum(1 for c in claims if c.status == status) for status in ORDER}
    click.echo(f"{len(claims)} claims: " + ", ".join(f"{counts[s]} {s}" for s in ORDER))
