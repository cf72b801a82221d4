"""One tutor per lesson at a time: a lock in the lesson's session folder.

Two tutors on one home that open the same lesson would share `sessions/<lesson>/`: the second would put a
fresh database in place of the first one's (whose work is then lost and whose writes fail) and take over
its API port file. The first to open the lesson holds `sessions/<lesson>/lesson.lock`; the other is told
which process has it and since when.

    lock = LessonLock.acquire(home.sessions / lesson_id)   # raises LessonInUse
    lock.release()

The lock is the operating system's (flock on Linux and macOS, a byte-range lock on Windows): a tutor that
is killed or crashes lets go of it at once, so there is never a stale lock to clear by hand. The file
itself only says who holds it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

LOCK_FILE = "lesson.lock"
OWN_WAIT_SECONDS = 10.0
"""This process closing the lesson in the background while opening it again: wait this long for that."""
_WINDOWS_OFFSET = 1 << 20  # Windows locks a byte range; one far past the holder's note keeps the note readable


@dataclass(frozen=True)
class Holder:
    pid: int
    since: float  # when it opened the lesson (epoch seconds)

    def describe(self) -> str:
        when = time.strftime("%H:%M:%S", time.localtime(self.since))
        if time.strftime("%Y-%m-%d", time.localtime(self.since)) != time.strftime("%Y-%m-%d"):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.since))
        return f"process {self.pid}, since {when}"


class LessonInUse(Exception):
    """Another tutor has this lesson open."""

    def __init__(self, folder: Path, holder: Holder | None) -> None:
        self.folder = folder
        self.holder = holder
        who = f" ({holder.describe()})" if holder is not None else ""
        super().__init__(
            f"This lesson is open in another backend-tutor{who} on the same home folder. Opening it here too "
            "would replace that tutor's lesson database under it. Close the lesson there (Esc) or quit that "
            "tutor, then open it here again."
        )


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        os.lseek(fd, _WINDOWS_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:
        import msvcrt

        os.lseek(fd, _WINDOWS_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
        return
    fcntl.flock(fd, fcntl.LOCK_UN)


def read_holder(path: Path) -> Holder | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Holder(int(data["pid"]), float(data["since"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class LessonLock:
    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, folder: Path, *, own_wait: float = OWN_WAIT_SECONDS) -> LessonLock:
        """Hold the lesson whose session folder is `folder`, or raise LessonInUse naming who holds it.
        When the holder is this very process (a session of the lesson still closing), wait for it."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOCK_FILE
        deadline = time.monotonic() + own_wait
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            if _try_lock(fd):
                break
            os.close(fd)
            holder = read_holder(path)
            if holder is not None and holder.pid == os.getpid() and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            raise LessonInUse(folder, holder)
        note = json.dumps({"pid": os.getpid(), "since": time.time()}).encode()
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, note)
        return cls(path, fd)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
            _unlock(fd)
        finally:
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None
