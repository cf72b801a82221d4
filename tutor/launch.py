"""The `backend-tutor` entry point. With no arguments (how a learner starts it) it opens the app
directly, without importing click: the first screen's budget is shared, and the command-line parser
has nothing to parse. Anything else goes to the click CLI in `tutor.cli`."""

from __future__ import annotations

import os
import sys


def main() -> None:
    if len(sys.argv) == 1:
        from tutor.app import run

        code = run(None)
        # Everything is saved and closed by now (progress is committed as it happens; the sandboxes got
        # their stop signal on the key). Skip the interpreter's teardown, which spends most of a second
        # freeing memory, so quitting is instant; the sandbox threads end with the process.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    from tutor.cli import main as cli_main

    cli_main()
