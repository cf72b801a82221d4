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
        "check": "tutor.commands.check:check",
        "config": "tutor.commands.config:config",
        "pack": "tutor.commands.pack:pack",
        "progress": "tutor.commands.progress:progress",
        "sandbox": "tutor.commands.sandbox:sandbox",
        "whoami": "tutor.commands.progress:whoami",
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
    """The pack folder to use: the built-in pack, a folder, a .zip unpacked safely into the state folder,
    or the id of an installed pack."""
    from tutor.paths import Home, builtin_pack_path

    if path is None:
        return builtin_pack_path()
    home = Home.from_env()
    if not path.exists():
        from tutor.pack.install import find, installed

        found = find(str(path), home)
        if found is None:
            known = ", ".join(p.id for p in installed(home)) or "none installed"
            raise click.BadParameter(
                f"'{path}' is neither a pack folder, a .zip, nor the id of an installed pack ({known})",
                param_hint=param_hint,
            )
        return found.root
    if path.is_dir() and len(path.parts) == 1 and (home.packs / path.name / "pack.yaml").is_file():
        click.echo(
            f"note: using the folder ./{path.name}; for the installed pack '{path.name}', run this from another folder",
            err=True,
        )
    from tutor.pack.archive import ArchiveError, resolve_pack_source

    try:
        return resolve_pack_source(path, home.cache / "unpacked")
    except ArchiveError as exc:
        raise click.BadParameter(str(exc), param_hint=param_hint) from None


def pick_pack() -> Path | bool | None:
    """With packs installed besides the built-in one, ask which to open (a picker screen).
    Returns the chosen folder, None for the built-in pack when there is nothing to pick, False to quit."""
    from tutor.paths import Home, builtin_pack_path

    home = Home.from_env()
    from tutor.pack.install import _outline, installed

    others = installed(home)
    if not others:
        return None
    from tutor.app.screens.pack_picker import PackChoice, PackPickerApp

    builtin = _outline(builtin_pack_path(), "built-in")
    entries = ([builtin] if builtin is not None else []) + others
    # the built-in pack is trusted (its build-it lessons ship with the tutor): no warning for it
    choices = [
        PackChoice(e.id, e.title, e.version, e.source, e.root, e.runs_code and e is not builtin) for e in entries
    ]
    chosen = PackPickerApp(choices).run()
    return chosen if chosen is not None else False


def open_tutor(pack_path: Path | None) -> int:
    """Open the app on `pack_path` (or ask which pack when several are installed)."""
    if pack_path is None:
        picked = pick_pack()
        if picked is False:
            return 0
        pack_path = picked if isinstance(picked, Path) else None
    from tutor.app import run  # which moves progress along the pack's renames (make_app)

    return run(pack_path)


def pack_path_option(function: Any) -> Any:
    """`--pack PATH` for every command: a folder or a .zip, resolved (and unpacked) here, so each command
    gets a pack folder, or None for the built-in pack."""

    def resolve(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
        return None if value is None else resolve_pack_path(value, "--pack")

    return click.option(
        "--pack",
        "pack_path",
        type=click.Path(path_type=Path),
        default=None,
        callback=resolve,
        help="A lesson-pack folder, a .zip, or an installed pack's id (default: the built-in pack).",
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
    sys.exit(open_tutor(pack_path))


def main() -> None:
    main_group(prog_name="backend-tutor")
