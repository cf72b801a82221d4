"""`backend-tutor pack ...`: validate, describe and export the schema of lesson packs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from tutor.cli import LazyGroup, resolve_pack_path

PACK_ARGUMENT = click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


@click.group(cls=LazyGroup, lazy_key="pack")
def pack() -> None:
    """Work with lesson packs (default PATH: the built-in pack)."""


@pack.command()
@PACK_ARGUMENT
@click.option("--quiet", "-q", is_flag=True, help="Print errors only, no summary or warnings.")
def validate(path: Path | None, quiet: bool) -> None:
    """Check a pack; print every problem as FILE:LINE:COL: message. Exit 0 valid, 1 invalid."""
    from tutor.pack.loader import load_pack

    result = load_pack(resolve_pack_path(path))
    for problem in result.problems:
        if problem.severity == "error" or not quiet:
            click.echo(str(problem))
    errors, warnings = len(result.errors), len(result.warnings)
    if not quiet:
        if result.ok and result.pack is not None:
            steps = sum(len(e.lesson.steps) for e in result.pack.lessons)
            click.echo(
                f"ok: {result.pack.id} {result.pack.version}: {len(result.pack.lessons)} lessons, "
                f"{steps} steps, {_plural(warnings, 'warning')}"
            )
        else:
            click.echo(
                f"invalid: {_plural(errors, 'error')}, {_plural(warnings, 'warning')}",
                err=True,
            )
    _exit_now(0 if result.ok else 1)


def _exit_now(code: int) -> None:
    """Exit without tearing down a big pack's objects one by one.

    A 1,000-lesson pack leaves millions of parsed values alive, and the interpreter's orderly
    shutdown frees each of them, which took longer than reading them. Nothing is left to flush
    or close but the standard streams.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@pack.command()
@PACK_ARGUMENT
@click.option("--json", "as_json", is_flag=True, help="A stable machine-readable document (see docs/pack-format.md).")
def info(path: Path | None, as_json: bool) -> None:
    """Tracks, lessons, steps, check kinds and sandboxes of a pack."""
    from tutor.pack.info import info_document, render_text
    from tutor.pack.loader import load_pack

    doc = info_document(load_pack(resolve_pack_path(path)))
    if as_json:
        click.echo(json.dumps(doc, indent=2))
    else:
        click.echo(render_text(doc), nl=False)
    sys.exit(0 if doc["valid"] else 1)


@pack.command()
@click.argument("which", required=False, type=click.Choice(["lesson", "pack"]), default=None)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write lesson.schema.json and pack.schema.json into this folder.",
)
def schema(which: str | None, out_dir: Path | None) -> None:
    """Print the JSON Schema of a lesson file or of pack.yaml (both with --out).

    Point editors at it from the first line of a YAML file:
    `# yaml-language-server: $schema=../schema/lesson.schema.json`
    """
    from tutor.pack.schema import SCHEMAS, dumps

    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, make in SCHEMAS.items():
            target = out_dir / f"{name}.schema.json"
            target.write_text(dumps(make()), encoding="utf-8")
            click.echo(str(target))
        return
    if which is None:
        click.echo(json.dumps({name: make() for name, make in SCHEMAS.items()}, indent=2))
        return
    click.echo(dumps(SCHEMAS[which]()), nl=False)


@pack.command(name="test")
@PACK_ARGUMENT
@click.option("--lesson", "lesson_id", default=None, help="Test only this lesson (by id).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document with every case.")
@click.option("--strict", is_flag=True, help="Warnings (no wrong answers, no hints) count as failures.")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Use this state folder (and its built databases) instead of a throwaway one.",
)
def test_command(path: Path | None, lesson_id: str | None, as_json: bool, strict: bool, home: Path | None) -> None:
    """Apply every step's solution (must pass) and wrong answers (must fail) through the real engine.

    Prints one line per failure as FILE:LINE: lesson/step: what went wrong, then `N passed, M failed`.
    Exit 0 only when nothing failed.
    """
    from tutor.pack.loader import load_pack
    from tutor.packtest import Case, run_pack_test

    result = load_pack(resolve_pack_path(path))
    if not result.ok or result.pack is None:
        for problem in result.errors:
            click.echo(str(problem))
        click.echo("the pack does not validate; fix the errors above first", err=True)
        sys.exit(1)
    if lesson_id is not None and result.pack.lesson(lesson_id) is None:
        raise click.BadParameter(f"no lesson '{lesson_id}' in this pack", param_hint="--lesson")

    def show(case: Case) -> None:
        if not as_json and (not case.passed or case.severity == "warning"):
            click.echo(case.line_text())

    report = run_pack_test(result.pack, lesson_id=lesson_id, home=home, strict=strict, on_case=show)
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
    else:
        click.echo(f"{report.passed_count} passed, {report.failed_count} failed")
    sys.exit(0 if report.failed_count == 0 else 1)
