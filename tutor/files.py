"""Files the tutor rewrites: written whole or not at all, and set aside (never crashed on) when damaged.

    write_atomic(path, data)             # bytes or str: a temporary file in the same folder, fsync, rename
    write_atomic(path, data, durable=False)   # a cache: whole or absent, no fsync (a lost cache costs time)
    read_json(path) -> JsonFile          # .data (None: missing or damaged), .notice (one line, when set aside)
    set_aside(path) -> Path              # path.damaged-<time>: the file is kept for a human, out of the way
    sweep_leftovers(folder, "install")   # `.install-<pid>-...` scratch of processes that are gone
    scratch_prefix("install")            # the prefix to give mkdtemp/mkstemp so a sweep can find it

A reader never sees half a file: the new content is complete on disk (fsync) before a rename puts it in
place, and a rename within one folder is atomic on POSIX and on Windows (`os.replace`). A process killed
mid-write leaves only its temporary file, which the next write of the same file removes.

Standard library only: the progress store and the first screen import this.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LEFTOVER_AGE_SECONDS = 3600
"""Scratch without a process id in its name (made before names carried one) is a leftover after this."""

_umask_lock = threading.Lock()
_umask_value: int | None = None


def _umask() -> int:
    """The process's umask, read once. Linux reports it without changing it; elsewhere it is set and put
    back, under a lock, the first time only (umask is process-wide, so other threads could race it)."""
    global _umask_value
    if _umask_value is None:
        with _umask_lock:
            if _umask_value is None:
                value: int | None = None
                with contextlib.suppress(OSError, ValueError):
                    for line in Path("/proc/self/status").read_text().splitlines():
                        if line.startswith("Umask:"):
                            value = int(line.split()[1], 8)
                if value is None:
                    value = os.umask(0o022)
                    os.umask(value)
                _umask_value = value
    return _umask_value


def scratch_prefix(purpose: str) -> str:
    """`.{purpose}-{pid}-`: give it to mkdtemp/mkstemp, and `sweep_leftovers` finds what a killed run left."""
    return f".{purpose}-{os.getpid()}-"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (a reused id counts as alive: its scratch is kept)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        import shutil

        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def sweep_leftovers(folder: Path, purpose: str) -> list[Path]:
    """Remove `.{purpose}-{pid}-*` entries of `folder` whose process is gone (a killed install, build or
    write). Entries of live processes stay. Returns what was removed."""
    removed: list[Path] = []
    pattern = re.compile(rf"\.{re.escape(purpose)}-(?:(\d+)-)?")
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        match = pattern.match(entry.name)
        if match is None:
            continue
        if match.group(1) is not None:
            if pid_alive(int(match.group(1))):
                continue
        else:
            try:
                if now - entry.stat(follow_symlinks=False).st_mtime < LEFTOVER_AGE_SECONDS:
                    continue
            except OSError:
                continue
        _remove(Path(entry.path))
        removed.append(Path(entry.path))
    return removed


def write_atomic(
    path: Path, data: bytes | str, *, encoding: str = "utf-8", durable: bool = True, mode: int | None = None
) -> None:
    """Replace `path` with `data` so that a reader (or a tutor started after a crash) sees the old content
    or the new one, never a mix. `durable`: fsync the file and its folder (state the learner would miss);
    False for caches. `mode`: the new file's permissions (default: the old file's, else 0o666 minus umask).
    The folder is created when missing."""
    import tempfile

    path = Path(path)
    blob = data.encode(encoding) if isinstance(data, str) else data
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    purpose = f"{path.name}.tmp"
    sweep_leftovers(folder, purpose)  # what a write of this file that was killed left behind
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o7777
        except OSError:
            mode = 0o666 & ~_umask()
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=scratch_prefix(purpose))
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(blob)
            out.flush()
            if durable:
                os.fsync(out.fileno())
        os.chmod(temporary, mode)  # mkstemp makes 0600
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if durable:
        _fsync_folder(folder)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself survive a power cut (POSIX; Windows cannot open a folder and needs nothing)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def set_aside(path: Path, *, label: str = "damaged", sidecars: tuple[str, ...] = ()) -> Path:
    """Rename `path` to `path.{label}-YYYYmmdd-HHMMSS` (with -2, -3... when taken) and return the new path.
    `sidecars`: suffixes of files that belong to it (SQLite's "-wal", "-shm"), moved along."""
    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.{label}-{stamp}")
    n = 1
    while target.exists() or any(Path(f"{target}{s}").exists() for s in sidecars):
        n += 1
        target = path.with_name(f"{path.name}.{label}-{stamp}-{n}")
    os.replace(path, target)
    for suffix in sidecars:
        source = Path(f"{path}{suffix}")
        if source.exists():
            try:
                os.replace(source, Path(f"{target}{suffix}"))
            except OSError:
                source.unlink(missing_ok=True)
    return target


@dataclass(frozen=True)
class JsonFile:
    data: Any = None
    """The parsed content; None when the file is missing or was damaged."""
    notice: str | None = None
    """One line for the person using the tutor, when a damaged file was set aside."""


def read_json(path: Path, *, expect: type = dict, what: str | None = None) -> JsonFile:
    """Read a JSON file the tutor wrote. Missing: no data, no notice. Not UTF-8, not JSON, or not a
    `expect` at the top: the file is set aside (kept for a human) and the notice says where, so the
    caller carries on with its defaults instead of failing every time. `what`: how to name the file in
    the notice ("your request history"); default its name."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return JsonFile()
    except OSError as exc:
        return JsonFile(notice=f"{what or path.name} could not be read ({exc.strerror or exc}); defaults are used")
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, expect):
            raise ValueError(f"expected a JSON {expect.__name__}, found {type(data).__name__}")
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return JsonFile(notice=damaged_notice(path, exc, what))
    return JsonFile(data=data)


def damaged_notice(path: Path, error: BaseException | str, what: str | None = None) -> str:
    """Set `path` aside and say so in one line (or say it could not be moved)."""
    reason = _short_reason(error)
    try:
        kept = set_aside(path)
    except OSError as exc:
        return f"{what or path.name} is damaged ({reason}) and could not be set aside: {exc}"
    return f"{what or path.name} was damaged ({reason}); it was set aside as {kept.name} and a fresh one started"


def _short_reason(error: BaseException | str) -> str:
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 text at byte {error.start}"
    if isinstance(error, json.JSONDecodeError):
        return f"not valid JSON at line {error.lineno}, column {error.colno}"
    return str(error)
