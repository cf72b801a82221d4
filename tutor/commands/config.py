"""`backend-tutor config`: where the settings file is, and every setting with the value in force.

    backend-tutor config            # the path, theme, editor and every key (changed ones marked), problems
    backend-tutor config --json     # the same for scripts
    backend-tutor config schema     # the settings file's JSON Schema, for editors

Never imports Textual; exit 1 when the settings file has problems (the tutor then uses its defaults
for what is wrong), 0 otherwise.
"""

from __future__ import annotations

import json
import os
import sys

import click

from tutor.keymap import DEFAULTS, display
from tutor.paths import Home
from tutor.settings import load_settings, schema


@click.group(name="config", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
@click.pass_context
def config(ctx: click.Context, as_json: bool) -> None:
    """Where your settings file is, and the theme, editor and keys in force."""
    if ctx.invoked_subcommand is not None:
        return
    settings = load_settings(Home.from_env())
    keys = settings.keys_in_force()
    editor = settings.editor or os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if as_json:
        click.echo(
            json.dumps(
                {
                    "path": str(settings.path),
                    "exists": settings.exists,
                    "theme": settings.theme,
                    "editor": editor,
                    "keys": keys,
                    "changed": sorted(settings.keys),
                    "problems": list(settings.problems),
                },
                indent=2,
            )
        )
    else:
        state = "" if settings.exists else "  (not there yet: create it to change a setting)"
        click.echo(f"settings file: {settings.path}{state}")
        click.echo(f"theme:  {settings.theme or '(the one picked in the tutor, else textual-dark)'}")
        source = "settings file" if settings.editor else ("$VISUAL/$EDITOR" if editor else "not set")
        click.echo(f"editor: {editor or '(none: set editor, $VISUAL or $EDITOR for build-it code)'}  [{source}]")
        click.echo("keys (binding id, keys, what it does; * = changed in the settings file):")
        width = max(len(name) for name in DEFAULTS)
        where = ""
        for name, default in DEFAULTS.items():
            if default.where != where:
                where = default.where
                click.echo(f"  {where}")
            mark = "*" if name in settings.keys else " "
            click.echo(f"  {mark} {name:<{width}}  {display(keys[name]):<16}  {default.what}")
        for problem in settings.problems:
            click.echo(f"problem: {problem}", err=True)
    sys.exit(1 if settings.problems else 0)


@config.command(name="schema")
def schema_command() -> None:
    """The settings file's JSON Schema (point your editor at it for completion and checks)."""
    click.echo(json.dumps(schema(), indent=2))
