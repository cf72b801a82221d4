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


def resolve_pack_path(path: Path | None, param_hint: str = "PATH") -> Path:
    """The pack folder to use: the built-in pack, a folder, or a .zip unpacked safely into the state folder."""
    from tutor.paths import Home, builtin_pack_path

    if path is None:
        return builtin_pack_path()
    from tutor.pack.archive import ArchiveError, resolve_pack_source

    try:
        return resolve_pack_source(path, Home.from_env().packs)
    except ArchiveError as exc:
        raise click.BadParameter(str(exc), param_hint=param_hint) from None


def pack_path_option(function: Any) -> Any:
    """`--pack PATH` for every command: a folder or a .zip, resolved (and unpacked) here, so each command
    gets a pack folder, or None for the built-in pack."""

    def resolve(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
        return None if value is None else resolve_pack_path(value, "--pack")

    return click.option(
        "--pack",
        "pack_path",
        type=click.Path(exists=True, path_type=Path),
        default=None,
        callback=resolve,
        help="A lesson-pack folder or .zip (default: the built-in pack).",
    )(function)


@click.group(cls=LazyGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="backend-tutor")
@pack_path_option
@click.option(
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where build-it lessons keep your code (default: workspace/ in the tutor's home).",
)
@click.pass_context
def main_group(ctx: click.Context, pack_path: Path | None, workspace: Path | None) -> None:
    """Learn backend engineering on real systems: run with no command to open the tutor."""
    if workspace is not None:
        import os

        from tutor.code.workspace import ENV_WORKSPACE

        os.environ[ENV_WORKSPACE] = str(workspace.expanduser().resolve())
    if ctx.invoked_subcommand is not None:
        return
    from tutor.app import run

    sys.exit(run(pack_path))


def main() -> None:
    main_group(prog_name="backend-tutor")
