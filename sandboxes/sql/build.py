"""Build a lesson's database template once, cache it by the content of its definition, copy it fast.

    template = ensure_template(settings, pack_root=..., cache_dir=home.cache, progress=...)
    fresh_copy(template, home.sessions / "lesson-id" / "live.db")      # ~50 ms for a 1M-row database

The cache key hashes the settings (tables, scripts' names, inline SQL), the *contents* of the script
files and the generator version: edit a script and the next start rebuilds; change nothing and every
start reuses the template. A template is built under a temporary name and renamed into place, so an
interrupted build never leaves a half-built template behind, and two builds racing both end well.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from tutor.pack.sandbox_sql import DataTable, GeneratedTable, SqlSettings

from .generate import GENERATOR_VERSION, build_tables

Progress = Callable[[str, float], None]

TEMPLATE_DIR = "sql"


class SqlBuildError(Exception):
    """The lesson database could not be built (a script failed, a file is missing)."""


def settings_key(settings: SqlSettings, pack_root: Path) -> str:
    digest = hashlib.sha256()
    digest.update(f"backend-tutor sql template v{GENERATOR_VERSION}\n".encode())
    digest.update(settings.model_dump_json(exclude={"time_limit", "memory_limit"}).encode())
    for script in settings.scripts:
        path = Path(pack_root) / script
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise SqlBuildError(f"cannot read script '{script}': {exc.strerror or exc}") from exc
        digest.update(b"\0script\0" + str(script).encode() + b"\0" + hashlib.sha256(content).digest())
    for table in settings.tables:
        data_file = getattr(table, "csv", None) or getattr(table, "json_file", None)
        if data_file:
            try:
                content = (Path(pack_root) / data_file).read_bytes()
            except OSError as exc:
                raise SqlBuildError(f"cannot read '{data_file}': {exc.strerror or exc}") from exc
            digest.update(b"\0data\0" + str(data_file).encode() + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()[:32]


def template_path(settings: SqlSettings, pack_root: Path, cache_dir: Path) -> Path:
    return Path(cache_dir) / TEMPLATE_DIR / f"{settings_key(settings, pack_root)}.db"


class _SetupGuard:
    """The authorizer a pack's own SQL (`scripts`, `sql`) runs under while its database is built: the
    learner's guard with the setup rules (`sandboxes.sql.guard.deny_reason`), so a pack that runs no
    code reaches no file but its database, no pointer and no native code. Remembers why it refused."""

    def __init__(self) -> None:
        self.denied: str | None = None

    def __call__(self, action: int, arg1: str | None, arg2: str | None, db: str | None, src: str | None) -> int:
        from .guard import deny_reason

        reason = deny_reason(action, arg1, arg2, "setup")
        if reason is None:
            return sqlite3.SQLITE_OK
        self.denied = reason.replace(" here", " in a pack's SQL")
        return sqlite3.SQLITE_DENY

    def explain(self, exc: sqlite3.Error) -> str:
        if self.denied and "not authorized" in str(exc):
            return f"not authorized: {self.denied}"
        return str(exc)


def build_database(settings: SqlSettings, pack_root: Path, target: Path, progress: Progress | None = None) -> None:
    """Build the database `settings` describe into the (new) file `target`. The pack's own SQL runs under
    the setup guard (`_SetupGuard`)."""
    conn = sqlite3.connect(target, isolation_level=None)
    if hasattr(conn, "enable_load_extension"):
        conn.enable_load_extension(False)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        # 16 MiB of page cache: as fast as 64 MiB for a million rows here, and the memory a build frees is
        # memory the tutor keeps holding (see _give_back_memory)
        conn.execute("PRAGMA cache_size = -16384")
        conn.execute("PRAGMA temp_store = MEMORY")
        extra = len(settings.scripts) + (1 if settings.sql else 0)
        tables_end = 1.0 if extra == 0 else 0.9 if settings.tables else 0.0
        generated = [t for t in settings.tables if isinstance(t, GeneratedTable)]
        given = [t for t in settings.tables if isinstance(t, DataTable)]
        if generated:
            build_tables(conn, generated, progress, start=0.0, end=tables_end)
        if given:
            from tutor.pack.table_data import insert_tables

            if progress is not None:
                progress("loading the pack's tables", tables_end)
            try:
                insert_tables(conn, given, Path(pack_root))
            except (ValueError, sqlite3.Error) as exc:
                raise SqlBuildError(f"a table's rows could not be loaded: {exc}") from exc
        guard = _SetupGuard()
        conn.set_authorizer(guard)
        for number, script in enumerate(settings.scripts):
            if progress is not None:
                progress(f"running {script}", tables_end + (1 - tables_end) * number / extra)
            text = (Path(pack_root) / script).read_text(encoding="utf-8")
            try:
                conn.executescript(text)
            except sqlite3.Error as exc:
                raise SqlBuildError(f"script '{script}' failed: {guard.explain(exc)}") from exc
        if settings.sql:
            if progress is not None:
                progress("running the lesson's SQL", tables_end + (1 - tables_end) * (extra - 1) / extra)
            try:
                conn.executescript(settings.sql)
            except sqlite3.Error as exc:
                raise SqlBuildError(f"the lesson's inline `sql` failed: {guard.explain(exc)}") from exc
        conn.set_authorizer(None)
        conn.execute("DROP TABLE IF EXISTS temp._bt_words")
        conn.execute("PRAGMA journal_mode = DELETE")
    finally:
        conn.close()


def _give_back_memory() -> None:
    """Return the heap a build freed to the system. glibc keeps freed memory for reuse; after building a
    million-row table that was about 34 MB the app held for the rest of the lesson. Elsewhere (no
    glibc) this does nothing."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def ensure_template(
    settings: SqlSettings, *, pack_root: Path, cache_dir: Path, progress: Progress | None = None
) -> Path:
    """The template for `settings`: reused when cached, built (with progress) when not."""
    target = template_path(settings, pack_root, cache_dir)
    if target.is_file():
        if progress is not None:
            progress("lesson database ready (cached)", 1.0)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    from tutor.files import scratch_prefix, sweep_leftovers

    sweep_leftovers(target.parent, "building")  # half-built databases of builds that were killed
    temporary = target.with_name(f"{scratch_prefix('building')}{target.stem}.{threading.get_ident()}")
    temporary.unlink(missing_ok=True)
    try:
        build_database(settings, pack_root, temporary, progress)
        _give_back_memory()
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    if progress is not None:
        progress("lesson database built", 1.0)
    return target


def fresh_copy(template: Path, live: Path) -> Path:
    """Copy `template` to `live` atomically (a reader never sees half a file); remove stale journals."""
    live.parent.mkdir(parents=True, exist_ok=True)
    temporary = live.with_name(f".{live.name}.{os.getpid()}.{threading.get_ident()}.copy")
    shutil.copyfile(template, temporary)
    replace_live(temporary, live)
    return live


def replace_live(new_file: Path, live: Path) -> None:
    """Move `new_file` onto `live`, dropping journals left by the old file (a hot journal would be
    rolled back into the new one)."""
    _drop_journals(live)
    trash: Path | None = live.with_name(f".{live.name}.{os.getpid()}.{threading.get_ident()}.old")
    try:
        os.link(live, str(trash))  # freeing a big file's blocks takes tens of ms
    except OSError:
        trash = None
    os.replace(new_file, live)
    _drop_journals(live)
    if trash is not None:
        threading.Thread(target=trash.unlink, kwargs={"missing_ok": True}, daemon=True).start()


def _drop_journals(live: Path) -> None:
    for suffix in ("-journal", "-wal", "-shm"):
        Path(f"{live}{suffix}").unlink(missing_ok=True)
