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
    from tutor.progress import ProgressStore


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


def _print_json(pack_path: Path | None) -> None:
    """The export an instructor collects. Stable shape (fields may be added, never renamed):
    {"progress_format": 1, "pack": {id, title, version}, "position": {lesson, step} | null,
     "lessons": [{"id", "title", "track", "status", "steps": [{"id", "status", "attempts", "hints_used",
     "solution_viewed", "first_activity", "last_activity", "completed_at", "pack_version"}]}]}
    Times are ISO 8601 in UTC; steps never visited are listed with status "not_started"."""
    import json
    from dataclasses import asdict
    from datetime import UTC

    from tutor.pack.index import read_index
    from tutor.progress import NOT_STARTED, lesson_status

    index = read_index(pack_path or builtin_pack_path())
    with _open_store() as store:
        steps_by_lesson = store.pack_steps(index.id)
        position = store.position(index.id)

    def iso(value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds")
        return value

    lessons = []
    for lesson in index.lessons:
        recorded = steps_by_lesson.get(lesson.id, {})
        steps = []
        for step_id in lesson.step_ids:
            if step_id in recorded:
                row = asdict(recorded[step_id])
                row.pop("lesson_id", None)
                row.pop("step_id", None)
                steps.append(
                    {"id": step_id, **{k: (iso(v) if k.endswith(("_activity", "_at")) else v) for k, v in row.items()}}
                )
            else:
                steps.append({"id": step_id, "status": NOT_STARTED})
        lessons.append(
            {
                "id": lesson.id,
                "title": lesson.title,
                "track": lesson.track,
                "status": lesson_status(lesson.step_ids, recorded),
                "steps": steps,
            }
        )
    doc = {
        "progress_format": 1,
        "pack": {"id": index.id, "title": index.title, "version": index.version},
        "position": {"lesson": position.lesson_id, "step": position.step_id} if position else None,
        "lessons": lessons,
    }
    click.echo(json.dumps(doc, indent=2))


def _when(timestamp: float | None) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M") if timestamp else "-"


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
    table = Table(title=f"{index.title} ({index.id} {index.version})", title_justify="left")
    table.add_column("track", max_width=12)
    table.add_column("lesson", min_width=14, ratio=1)
    table.add_column("status", no_wrap=True)
    for column in ("steps", "checks", "hints", "sol."):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("last seen", no_wrap=True)
    tracks = {t.id: t.title for t in index.tracks}
    total_steps = total_done = 0
    for lesson in index.lessons:
        steps = steps_by_lesson.get(lesson.id, {})
        current = [steps[s] for s in lesson.step_ids if s in steps]
        done = sum(1 for s in current if s.passed)
        total_steps += len(lesson.steps)
        total_done += done
        last = max((s.last_activity or 0 for s in current), default=0) or None
        table.add_row(
            tracks.get(lesson.track, lesson.track),
            lesson.title,
            words[lesson_status(lesson.step_ids, steps)],
            f"{done}/{len(lesson.steps)}",
            str(sum(s.attempts for s in current)),
            str(sum(s.hints_used for s in current)),
            str(sum(1 for s in current if s.solution_viewed)),
            _when(last),
        )
    console = Console()
    console.print(table)
    percent = round(100 * total_done / total_steps) if total_steps else 0
    click.echo(f"{total_done} of {total_steps} steps done ({percent}%).")
    gone = sorted(set(steps_by_lesson) - {lesson.id for lesson in index.lessons})
    if gone:
        click.echo(f"Kept progress of lessons no longer in this pack: {', '.join(gone)}")
    last_lesson = index.lesson(position.lesson_id) if position is not None else None
    if position is not None and last_lesson is not None:
        click.echo(f"Last position: {last_lesson.title}, step '{position.step_id}' (run backend-tutor and press c).")


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
