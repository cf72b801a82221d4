"""Watch a workspace and call back on every save of the learner's (watchfiles, with a short debounce so a
verdict follows the save quickly). Runs in the caller's thread until `stop` is set.

A save is the learner's when the file is one of theirs (`tutor.code.workspace.learner_file`: the
starter's files and `.py` files, or the lesson's `build.watch` globs) and, unless it is a `.py` file, it
did not change while the learner's app was running (`tutor.code.runner.written_by_app`): an app that
writes its log, its SQLite file or its uploads beside its code must not start check after check.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from tutor.code.workspace import BACKUPS, STATE, learner_file

IGNORED_PARTS = {BACKUPS, "__pycache__", ".pytest_cache", ".git"}


def learner_change(_change: object, path: str) -> bool:
    """A save of the learner's: not the tutor's bookkeeping, caches, backups or editor swap files."""
    parts = Path(path).parts
    name = parts[-1] if parts else ""
    if IGNORED_PARTS & set(parts) or name == STATE:
        return False
    return not (name.endswith(("~", ".swp", ".swx", ".tmp")) or name.startswith((".#", ".")))


def saved_by_learner(folder: Path, rel: str) -> bool:
    """`rel` changed: is that a save of the learner's (see the module's docstring)?"""
    if not learner_file(folder, rel):
        return False
    if rel.endswith(".py"):
        return True
    from tutor.code.runner import written_by_app

    try:
        mtime = (folder / rel).stat().st_mtime
    except OSError:
        return True  # deleted: the app's files are not in this set, so the learner removed it
    return not written_by_app(folder, mtime)


def watch(folder: Path, on_save: Callable[[list[str]], None], stop: threading.Event) -> None:
    from watchfiles import watch as watch_files

    for changes in watch_files(
        folder, watch_filter=learner_change, debounce=150, step=30, stop_event=stop, raise_interrupt=False
    ):
        changed = {Path(path).relative_to(folder).as_posix() for _, path in changes}
        names = sorted(rel for rel in changed if saved_by_learner(folder, rel))
        if names:
            on_save(names)
