"""Watch a workspace and call back on every save (watchfiles, with a short debounce so a verdict
follows the save quickly). Runs in the caller's thread until `stop` is set."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from tutor.code.workspace import BACKUPS, STATE

IGNORED_PARTS = {BACKUPS, "__pycache__", ".pytest_cache", ".git"}


def learner_change(_change: object, path: str) -> bool:
    """A save of the learner's: not the tutor's bookkeeping, caches, backups or editor swap files."""
    parts = Path(path).parts
    name = parts[-1] if parts else ""
    if IGNORED_PARTS & set(parts) or name == STATE:
        return False
    return not (name.endswith(("~", ".swp", ".swx", ".tmp")) or name.startswith((".#", ".")))


def watch(folder: Path, on_save: Callable[[list[str]], None], stop: threading.Event) -> None:
    from watchfiles import watch as watch_files

    for changes in watch_files(
        folder, watch_filter=learner_change, debounce=150, step=30, stop_event=stop, raise_interrupt=False
    ):
        names = sorted({Path(path).relative_to(folder).as_posix() for _, path in changes})
        if names:
            on_save(names)
