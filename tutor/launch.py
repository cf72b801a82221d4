"""The `backend-tutor` entry point. With no arguments (how a learner starts it) it opens the app
directly, without importing click: the first screen's budget is shared, and the command-line parser
has nothing to parse. Anything else goes to the click CLI in `tutor.cli`."""

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
            from tutor.app import run

            exit_now(run(None))
        from tutor.cli import open_tutor

        exit_now(open_tutor(None))
    from tutor.cli import main as cli_main

    cli_main()


def exit_now(code: int) -> None:
    """Leave once the app has closed. Everything is saved and closed by now (progress is committed as
    it happens; the sandboxes got their stop signal on the key). Skip the interpreter's teardown,
    which spends most of a second freeing memory, so quitting is instant; the sandbox threads end
    with the process."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _has_installed_packs(packs: Path) -> bool:
    try:
        return any(not e.name.startswith(".") and e.is_dir() for e in os.scandir(packs))
    except OSError:
        return False


def _has_wheel_packs(home: Home) -> bool:
    from tutor.pack.wheel_check import has_wheel_packs

    return has_wheel_packs(home)
