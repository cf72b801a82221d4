"""`backend-tutor pack ...`: validate, describe and export the schema of lesson packs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tutor.cli import LazyGroup, resolve_pack_path

if TYPE_CHECKING:
    from collections.abc import Callable

    from tutor.pack.loader import Pack
    from tutor.packtest import Case
    from tutor.paths import Home

PACK_ARGUMENT = click.argument("path", required=False, type=click.Path(path_type=Path))
TRUST_OPTION = click.option(
    "--trust",
    "trusted",
    is_flag=True,
    help="Run the pack's code (build-it lessons) without asking, as in CI. The built-in pack never asks.",
)


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

    result = load_pack(resolve_pack_path(path), cache_dir=_cache_dir())
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


def _cache_dir() -> Path:
    """The tutor's cache folder: unchanged pack files are not parsed again (tutor.pack.parse_cache)."""
    from tutor.paths import Home

    return Home.from_env().cache


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

    doc = info_document(load_pack(resolve_pack_path(path), cache_dir=_cache_dir()))
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
        from tutor.files import write_atomic

        out_dir.mkdir(parents=True, exist_ok=True)
        for name, make in SCHEMAS.items():
            target = out_dir / f"{name}.schema.json"
            write_atomic(target, dumps(make()))
            click.echo(str(target))
        return
    if which is None:
        click.echo(json.dumps({name: make() for name, make in SCHEMAS.items()}, indent=2))
        return
    click.echo(dumps(SCHEMAS[which]()), nl=False)


@pack.command(name="test")
@PACK_ARGUMENT
@click.option("--lesson", "lesson_ids", multiple=True, help="Test only this lesson (by id); give it again for several.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document with every case.")
@click.option("--strict", is_flag=True, help="Warnings (no wrong answers, no hints) count as failures.")
@click.option(
    "--mutants",
    is_flag=True,
    help="Also derive wrong answers from each hands-on step's solution and report how many its check rejects.",
)
@click.option("--verbose", "-v", is_flag=True, help="Print every case, with why each wrong answer and mutant failed.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Lessons tested at once, each in a process of its own (default: the number of cores, at most 4).",
)
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Use this state folder (and its built databases) instead of a throwaway one.",
)
@TRUST_OPTION
def test_command(
    path: Path | None,
    lesson_ids: tuple[str, ...],
    as_json: bool,
    strict: bool,
    mutants: bool,
    verbose: bool,
    jobs: int | None,
    home: Path | None,
    trusted: bool,
) -> None:
    """Apply every step's solution (must pass) and wrong answers (must fail) through the real engine.

    Prints one line per failure as FILE:LINE: lesson/step: what went wrong, then `N passed, M failed`.
    With --mutants, also one line with the mutation score of the whole pack. Exit 0 only when nothing
    failed (a surviving mutant is a failure: a weakness of the check, or a right answer to declare).
    A pack that runs code is asked about first (see --trust).
    """
    from tutor.pack.loader import load_pack
    from tutor.packtest import run_pack_test

    result = load_pack(resolve_pack_path(path), cache_dir=_cache_dir())
    if not result.ok or result.pack is None:
        for problem in result.errors:
            click.echo(str(problem))
        click.echo("the pack does not validate; fix the errors above first", err=True)
        sys.exit(1)
    for lesson_id in lesson_ids:
        if result.pack.lesson(lesson_id) is None:
            raise click.BadParameter(f"no lesson '{lesson_id}' in this pack", param_hint="--lesson")
    _allow_code(result.pack, trusted, "pack test", lesson_ids[0] if len(lesson_ids) == 1 else None)

    from tutor.packtest import default_jobs

    show = _case_printer(result.pack, quiet=as_json, verbose=verbose)
    report = run_pack_test(
        result.pack,
        lesson_id=lesson_ids or None,
        home=home,
        strict=strict,
        mutants=mutants,
        jobs=jobs if jobs is not None else default_jobs(),
        on_case=show,
    )
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
    else:
        click.echo(f"{report.passed_count} passed, {report.failed_count} failed")
        summary = report.mutation_summary()
        if summary is not None:
            click.echo(_mutation_line(summary))
    sys.exit(0 if report.failed_count == 0 else 1)


def _mutation_line(summary: dict[str, Any]) -> str:
    score = "-" if summary["score"] is None else f"{summary['score']:.1%}"
    lowest = "" if summary["lowest_step_score"] is None else f", lowest step {summary['lowest_step_score']:.0%}"
    return (
        f"mutants: {summary['generated']} derived, {summary['rejected']} rejected, {summary['declared_right']} "
        f"declared right, {summary['survived']} survived, {summary['did_not_run']} did not run: score {score}"
        f"{lowest}, {summary['steps_below_90']} step(s) below 90%"
    )


def _home() -> Home:
    from tutor.paths import Home

    return Home.from_env()


@pack.command(name="new")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--title", default=None, help="The pack's title (default: from the folder name).")
@click.option("--id", "pack_id", default=None, help="The pack's id (default: from the folder name).")
def new_command(folder: Path, title: str | None, pack_id: str | None) -> None:
    """Start a pack in FOLDER: one example lesson per kind of step, a README, editor schemas."""
    from tutor.pack.scaffold import ScaffoldError, scaffold

    try:
        written = scaffold(folder, title=title, pack_id=pack_id)
    except ScaffoldError as exc:
        raise click.BadParameter(str(exc), param_hint="FOLDER") from None
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"next: backend-tutor pack validate {folder} && backend-tutor pack test {folder}")


def _case_printer(pack_obj: Pack, quiet: bool = False, verbose: bool = False) -> Callable[[Case], None]:
    """Print failures and warnings (every case with `verbose`); mark a failure that may only follow from an
    earlier failed solution in the same lesson, and show the step's instructor notes beside its first failure.
    A surviving mutant is printed with its action, ready to paste among the step's alternatives."""
    failed_solution: dict[str, str] = {}
    noted: set[tuple[str, str]] = set()

    def show(case: Case) -> None:
        if quiet or (case.passed and case.severity != "warning" and not verbose):
            return
        line = case.line_text()
        earlier = failed_solution.get(case.lesson)
        if not case.passed and earlier is not None and earlier != case.step:
            line += (
                f" [perhaps a consequence: the solution of step '{earlier}' failed earlier, "
                "and a solution's effects carry forward; fix that one first]"
            )
        click.echo(line)
        if case.mutant == "survived" and case.action is not None:
            import yaml

            for text in yaml.safe_dump([case.action], sort_keys=False, width=100).splitlines():
                click.echo(f"    {text}")
        if not case.passed and case.case == "solution":
            failed_solution.setdefault(case.lesson, case.step)
        lesson = pack_obj.lesson(case.lesson)
        step = next((s for s in lesson.steps if s.id == case.step), None) if lesson else None
        if not case.passed and step is not None and step.notes and (case.lesson, case.step) not in noted:
            noted.add((case.lesson, case.step))
            click.echo(f"    notes: {' '.join(step.notes.split())}")

    return show


def _allow_code(pack_obj: Pack, trusted: bool, command: str, lesson_id: str | None = None) -> None:
    """Before `pack test` or `pack build` runs a pack's code: the built-in pack, a pack (or lesson) that
    runs none, `--trust`, or a pack whose current content the user trusted before, go ahead. Otherwise
    ask in a terminal (a yes is remembered for this content), and refuse anywhere else."""
    from tutor.code import trust

    if trusted or trust.is_builtin(pack_obj) or not trust.runs_code(pack_obj, lesson_id):
        return
    home = _home()
    if trust.is_trusted(home, pack_obj):
        return
    if not sys.stdin.isatty():
        click.echo(
            f"not run: {pack_obj.id} runs Python code from its author on this machine (build-it lessons), "
            f"and {command} would run it. If you trust the author, run it in a terminal to be asked, or "
            "pass --trust (as in CI).",
            err=True,
        )
        sys.exit(1)
    if not click.confirm(trust.question(pack_obj), default=False, err=True):
        click.echo(f"not run: you chose not to run {pack_obj.id}'s code", err=True)
        sys.exit(1)
    trust.trust(home, pack_obj)


def _run_tests(root: Path, trusted: bool = False) -> tuple[object, int]:
    from tutor.pack.loader import load_pack
    from tutor.packtest import run_pack_test

    result = load_pack(root, cache_dir=_cache_dir())
    for problem in result.problems:
        click.echo(str(problem))
    if not result.ok or result.pack is None:
        click.echo(f"refused: the pack does not validate ({_plural(len(result.errors), 'error')})", err=True)
        sys.exit(1)
    _allow_code(result.pack, trusted, "pack build (which runs `pack test` first)")
    report = run_pack_test(result.pack, on_case=_case_printer(result.pack))
    click.echo(f"pack test: {report.passed_count} passed, {report.failed_count} failed")
    if report.failed_count:
        click.echo("refused: `pack test` failed; fix the cases above first", err=True)
        sys.exit(1)
    return result.pack, report.passed_count


@pack.command(name="build")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The zip to write (default: ID-VERSION.zip in the current folder).",
)
@TRUST_OPTION
def build_command(path: Path, output: Path | None, trusted: bool) -> None:
    """Validate and test the pack in PATH, then write it as one zip with a checksum."""
    from tutor.pack.build import build_zip
    from tutor.pack.loader import Pack

    built_pack, _ = _run_tests(path, trusted)
    assert isinstance(built_pack, Pack)
    target = output or Path(f"{built_pack.id}-{built_pack.version}.zip")
    result = build_zip(built_pack, target)
    if result.left_out:
        click.echo(f"left out ({len(result.left_out)}): {', '.join(result.left_out)}")
    click.echo(f"built {result.archive} ({len(result.files)} files, {result.archive.stat().st_size:,} bytes)")
    click.echo(f"sha256 {result.sha256}  (also in {result.archive.name}.sha256)")
    click.echo(
        "note: lesson files go in whole: solutions, wrong answers and notes are readable in the zip "
        "(the tutor shows a solution on F7 and a wrong answer's feedback; it never shows notes)"
    )


@pack.command(name="install")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--trust", is_flag=True, help="Allow a pack that runs Python code from its author on this machine.")
@click.option("--force", is_flag=True, help="Install even when an installed version is newer.")
def install_command(source: Path, trust: bool, force: bool) -> None:
    """Validate a pack (folder or .zip) and install it into $BACKEND_TUTOR_HOME/packs/ID."""
    from tutor.pack.install import InstallError, install

    try:
        report = install(source, _home(), trust=trust, force=force)
    except InstallError as exc:
        for problem in exc.problems:
            click.echo(problem)
        click.echo(f"not installed: {exc}", err=True)
        sys.exit(1)
    entry = report.pack
    if report.previous_version is None:
        click.echo(f"installed {entry.id} {entry.version}: {entry.title}")
    elif report.previous_version == entry.version:
        click.echo(f"reinstalled {entry.id} {entry.version}: progress kept")
    else:
        click.echo(f"upgraded {entry.id} {report.previous_version} -> {entry.version}: progress kept")
    if report.left_out:
        click.echo(f"left out ({len(report.left_out)}), as pack build leaves them out: {', '.join(report.left_out)}")
    for old, new in report.moved:
        click.echo(f"progress moved: {old} -> {new} (renamed)")
    if report.hidden:
        click.echo(f"progress kept but not shown (no longer in this version): {', '.join(report.hidden)}")
    if entry.runs_code:
        click.echo("note: this pack runs Python code (you passed --trust)")
    click.echo(f"open it with: backend-tutor --pack {entry.id}")


@pack.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON list: id, title, version, source, runs_code, path.")
def list_command(as_json: bool) -> None:
    """Installed packs (and packs published as Python packages)."""
    from tutor.pack.install import installed

    entries = installed(_home())
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": e.id,
                        "title": e.title,
                        "version": e.version,
                        "source": e.source,
                        "runs_code": e.runs_code,
                        "path": str(e.root),
                    }
                    for e in entries
                ],
                indent=2,
            )
        )
        return
    if not entries:
        click.echo("no packs installed (the built-in pack is always there); install one: backend-tutor pack install")
        return
    width = max(len(e.id) for e in entries)
    for e in entries:
        flag = "  [runs code]" if e.runs_code else ""
        click.echo(f"{e.id:<{width}}  {e.version:<8}  {e.title}  ({e.source}){flag}")


@pack.command(name="remove")
@click.argument("pack_id")
def remove_command(pack_id: str) -> None:
    """Remove an installed pack. Your progress in it is kept."""
    from tutor.pack.install import InstallError, remove

    try:
        remove(pack_id, _home())
    except InstallError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"removed {pack_id} (your progress in it is kept)")
