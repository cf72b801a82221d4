"""The `backend-tutor` command.

Cheap commands (pack validate/info/schema, progress, --version) never import textual, fastapi or
uvicorn: a test runs them in a subprocess and inspects `sys.modules`. Subcommands live in
`tutor/commands/` and are imported only when invoked (see LAZY_COMMANDS).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import click

from tutor import __version__

# "group command" -> "module:attribute"; the module is imported only when the command runs or helps.
LAZY_COMMANDS: dict[str, dict[str, str]] = {
    "main": {
        "pack": "tutor.commands.pack:pack",
        "progress": "tutor.commands.progress:progress",
        "sandbox": "tutor.commands.sandbox:sandbox",
    },
    "sandbox": {"api": "tutor.commands.sandbox_api:api"},
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def __init__(self, *args: Any, lazy_key: str = "main", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_key = lazy_key

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS.get(self.lazy_key, {})})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        lazy = LAZY_COMMANDS.get(self.lazy_key, {})
        if cmd_name in lazy:
            module_name, attribute = lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attribute)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)


def pack_path_option(function: Any) -> Any:
    return click.option(
        "--pack",
        "pack_path",
        type=click.Path(exists=True, path_type=Path),
        default=None,
        help="A lesson-pack folder or .zip (default: the built-in pack).",
    )(function)


@click.group(cls=LazyGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="backend-tutor")
@pack_path_option
@click.pass_context
def main_group(ctx: click.Context, pack_path: Path | None) -> None:
    """Learn backend engineering on real systems: run with no command to open the tutor."""
    if ctx.invoked_subcommand is not None:
        return
    if pack_path is not None:
        from tutor.commands.pack import resolve_pack_path

        pack_path = resolve_pack_path(pack_path)
    from tutor.app import run

    sys.exit(run(pack_path))


def main() -> None:
    main_group(prog_name="backend-tutor")
