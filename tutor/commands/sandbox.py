"""`backend-tutor sandbox ...`: serve a lesson's sandboxes in the foreground, for your own tools.

Subcommands are lazy (see LAZY_COMMANDS["sandbox"] in tutor/cli.py): `sql` and `api`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tutor.cli import LazyGroup, pack_path_option


@click.group(cls=LazyGroup, lazy_key="sandbox")
def sandbox() -> None:
    """Run a lesson's sandbox (database or API) outside the tutor."""


# -- sandbox sql: the SQLite sandbox (`api` lives in sandbox_api.py, registered lazily) ----------


def _table(columns: list[str], rows: list[tuple[object, ...]], total: int) -> str:
    def cell(value: object) -> str:
        text = "NULL" if value is None else str(value)
        return text if len(text) <= 40 else text[:37] + "..."

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    lines.extend(" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells)
    shown = f"{total:,} row{'s' if total != 1 else ''}"
    if total > len(rows):
        shown += f" (first {len(rows):,} shown)"
    lines.append(shown)
    return "\n".join(lines)


def _shell(box: object) -> None:
    from sandboxes.sql.sandbox import SqlSandbox

    assert isinstance(box, SqlSandbox)
    import sqlite3

    click.echo("SQL shell on the lesson database (guarded like the workbench). End statements with ';'.")
    click.echo(".plan QUERY shows the query plan; .quit or Ctrl-D leaves.")
    buffer = ""
    while True:
        try:
            line = input("sql> " if not buffer else "...> ")
        except (EOFError, KeyboardInterrupt):
            click.echo()
            return
        stripped = line.strip()
        if not buffer and stripped in (".quit", ".exit", ".q"):
            return
        if not buffer and stripped.startswith(".plan "):
            from sandboxes.sql.plan import explain

            try:
                click.echo(explain(box.connect(), stripped[6:]).render())
            except sqlite3.Error as exc:
                click.echo(f"Error: {exc}")
            continue
        buffer += line + "\n"
        if not sqlite3.complete_statement(buffer):
            continue
        try:
            result = box.run_learner(buffer)
        except KeyboardInterrupt:
            box.cancel()
            result = None
        buffer = ""
        if result is None:
            continue
        for one in result.statements:
            if one.error is not None:
                click.echo(f"Error in {one.where}: {one.error}")
            elif one.returns_rows:
                click.echo(_table(one.columns, one.rows[:50], one.total_rows))
            elif one.changes >= 0:
                click.echo(f"{one.changes:,} row{'s' if one.changes != 1 else ''} changed")
        click.echo(f"({result.elapsed * 1000:.0f} ms)")


@sandbox.command("sql")
@click.argument("lesson_id")
@pack_path_option
@click.option("--shell", is_flag=True, help="Open an interactive SQL prompt on the guarded connection.")
def sql(lesson_id: str, pack_path: Path | None, shell: bool) -> None:
    """Build (or reuse) LESSON_ID's database; print a fresh copy's path as the last line.

    Open it with `sqlite3 PATH`, or use --shell for the tutor's own guarded prompt."""
    from sandboxes.sql.build import SqlBuildError
    from sandboxes.sql.sandbox import SqlSandbox
    from tutor.pack.loader import load_pack
    from tutor.paths import Home, builtin_pack_path

    loaded = load_pack(pack_path if pack_path is not None else builtin_pack_path(), cache_dir=Home.from_env().cache)
    if loaded.pack is None:
        for problem in loaded.errors:
            click.echo(str(problem), err=True)
        raise click.ClickException("the pack is not valid (see `backend-tutor pack validate`)")
    lesson = loaded.pack.lesson(lesson_id)
    if lesson is None:
        ids = [e.lesson.id for e in loaded.pack.lessons if e.lesson.sandboxes.sql is not None]
        raise click.ClickException(f"no lesson '{lesson_id}'; lessons with a database: {', '.join(ids) or 'none'}")
    settings = lesson.sandboxes.sql
    if settings is None:
        raise click.ClickException(f"lesson '{lesson_id}' has no SQL sandbox")
    last = [-1]

    def progress(what: str, fraction: float) -> None:
        percent = int(fraction * 100)
        if percent >= last[0] + 10 or fraction >= 1.0:
            last[0] = percent
            click.echo(f"[{percent:3d}%] {what}", err=True)

    home = Home.from_env()
    try:
        box = SqlSandbox.open(
            settings,
            pack_root=loaded.pack.root,
            home=home,
            lesson_id=lesson_id,
            progress=progress,
            live_name="shell",
            start_learner=shell,
        )
    except (SqlBuildError, OSError) as exc:
        raise click.ClickException(f"building the lesson database failed: {exc}") from exc
    try:
        if shell:
            _shell(box)
        click.echo(str(box.path))
    finally:
        box.close()
    sys.stdout.flush()
