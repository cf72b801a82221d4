"""The learner's Textual app. Only this package imports Textual.

app = make_app(pack_path, home)   # what the CLI and the tests both use
app.run()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from tutor.app.app import TutorApp
    from tutor.paths import Home


QUIT_GRACE_SECONDS = 0.1


def make_app(pack_path: Path | None = None, home: Home | None = None, *, collector_paused: bool = False) -> TutorApp:
    """Build the app: read the pack's outline (fast, no validation) and open the progress store."""
    from tutor.app.app import TutorApp
    from tutor.pack.index import read_index
    from tutor.paths import Home, builtin_pack_path
    from tutor.progress import ProgressError, ProgressStore, ProgressTooNew

    home = home if home is not None else Home.from_env()
    root = pack_path if pack_path is not None else builtin_pack_path()
    index = read_index(root, cache_dir=home.cache)
    notice: str | None = None
    try:
        store = ProgressStore.open(home.progress_db)
        notice = store.notice
        if index.renamed or index.renamed_steps:  # progress follows lessons and steps the pack renamed
            store.apply_renames(index.id, index.renamed, index.renamed_steps)
    except ProgressTooNew:
        raise  # never shown as "no progress": `run` says which backend-tutor reads it
    except ProgressError as exc:
        store = ProgressStore.memory()
        notice = f"{exc}. Progress is kept in memory only for this run."
    return TutorApp(index=index, store=store, home=home, startup_notice=notice, collector_paused=collector_paused)


def run(pack_path: Path | None, *, collector_paused: bool = False) -> int:
    """Run the app. `collector_paused`: the launcher turned the garbage collector off for the start-up;
    the app turns it back on once the first frame is drawn."""
    from tutor.progress import ProgressTooNew

    try:
        app = make_app(pack_path, collector_paused=collector_paused)
    except ProgressTooNew as exc:
        import sys

        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        app.run()
    finally:
        # Quitting is instant: the sandboxes got their stop signal on the key; give them a moment to close
        # their sockets, then leave (their threads are daemons; progress is already committed).
        app.close_sessions(wait=QUIT_GRACE_SECONDS)
        app.store.close()
    return app.return_code or 0
