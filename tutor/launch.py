"""The `backend-tutor` entry point. With no arguments (how a learner starts it), or with only
`--pack FOLDER` (how a bootcamp's learner starts it), it opens the app directly, without importing
click: the first screen's budget is shared, and the command-line parser has nothing to parse.
Anything else goes to the click CLI in `tutor.cli`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutor.paths import Home


def main() -> None:
    if len(sys.argv) == 1:
        from tutor.paths import Home

        home = Home.from_env()
        if not _has_installed_packs(home.packs) and not _has_wheel_packs(home):
            _pause_collector()
            from tutor.app import run

            exit_now(run(None, collector_paused=True))
        from tutor.cli import open_tutor

        exit_now(open_tutor(None))
    folder = _pack_folder(sys.argv[1:])
    if folder is not None:
        _pause_collector()
        from tutor.app import run

        exit_now(run(folder, collector_paused=True))
    from tutor.cli import main as cli_main

    cli_main()


def _pause_collector() -> None:
    """No cyclic garbage collection until the first frame is drawn (the app resumes it then, see
    TutorApp.on_ready). Importing Textual and building the first screen create hundreds of thousands
    of objects that all stay alive, and the collector's passes over them took about 25 ms of the first
    screen; the garbage made meanwhile is a few hundred objects."""
    import gc

    gc.disable()


def exit_now(code: int) -> None:
    """Leave once the app has closed. Everything is saved and closed by now (progress is committed as
    it happens; the sandboxes got their stop signal on the key). Skip the interpreter's teardown,
    which spends most of a second freeing memory, so quitting is instant; the sandbox threads end
    with the process."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _pack_folder(args: list[str]) -> Path | None:
    """The folder of `--pack FOLDER` (or `--pack=FOLDER`) when that is the whole command line and FOLDER
    holds a pack.yaml. A bare name (`--pack acme`) may also be an installed pack's id, a .zip is
    unpacked first, and anything else may need click's errors: those go to the CLI."""
    if len(args) == 2 and args[0] == "--pack":
        value = args[1]
    elif len(args) == 1 and args[0].startswith("--pack="):
        value = args[0].removeprefix("--pack=")
    else:
        return None
    path = Path(value)
    if len(path.parts) < 2 or not (path / "pack.yaml").is_file():
        return None
    return path


def _has_installed_packs(packs: Path) -> bool:
    try:
        return any(not e.name.startswith(".") and e.is_dir() for e in os.scandir(packs))
    except OSError:
        return False


def _has_wheel_packs(home: Home) -> bool:
    from tutor.pack.wheel_check import has_wheel_packs

    return has_wheel_packs(home)
