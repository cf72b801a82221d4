"""The `backend-tutor` entry point. With no arguments (how a learner starts it) it opens the app
directly, without importing click: the first screen's budget is shared, and the command-line parser
has nothing to parse. Anything else goes to the click CLI in `tutor.cli`."""

from __future__ import annotations

import sys


def main() -> None:
    if len(sys.argv) == 1:
        from tutor.app import run

        sys.exit(run(None))
    from tutor.cli import main as cli_main

    cli_main()
