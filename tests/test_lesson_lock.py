"""Two tutors on one home cannot open the same lesson at once: the second is told who has it, and the
first one's database is untouched. Real processes, a real lesson database."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tutor.locks import LessonInUse, LessonLock
from tutor.pack.loader import load_pack
from tutor.paths import Home
from tutor.session import Session

REPO = Path(__file__).resolve().parent.parent
PACK = REPO / "tests" / "app" / "fixtures" / "pack"

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from tutor.pack.loader import load_pack
    from tutor.paths import Home
    from tutor.session import Session

    pack = load_pack(Path(sys.argv[1])).pack
    lesson = pack.lesson("make-table")
    session = Session(pack, lesson, Home(Path(sys.argv[2])))
    session.start()
    session.sql.run_learner("CREATE TABLE mine_a (x)")
    print(session.sql.path, flush=True)
    sys.stdin.readline()   # hold the lesson until told
    result = session.sql.run_learner("INSERT INTO mine_a VALUES (1)")
    print("write:", "ok" if result.ok else result.statements[-1].error, flush=True)
    session.close()
    """
)


def _holder(home: Path) -> tuple[subprocess.Popen[str], Path]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(PACK), str(home)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert proc.stdout is not None
    return proc, Path(proc.stdout.readline().strip())


def _session(home: Path) -> Session:
    pack = load_pack(PACK).pack
    assert pack is not None
    lesson = pack.lesson("make-table")
    assert lesson is not None
    return Session(pack, lesson, Home(home))


def test_a_second_tutor_is_told_who_has_the_lesson_and_the_first_keeps_its_work(tutor_home: Path) -> None:
    proc, live = _holder(tutor_home)
    try:
        inode = live.stat().st_ino
        second = _session(tutor_home)
        with pytest.raises(LessonInUse) as refused:
            second.start()
        second.close()
        message = str(refused.value)
        assert f"process {proc.pid}, since " in message and "Close the lesson there" in message
        assert live.stat().st_ino == inode, "the first tutor's database was not replaced"
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "write: ok"
    finally:
        proc.wait(timeout=30)


def test_a_killed_tutor_lets_go_of_the_lesson_at_once(tutor_home: Path) -> None:
    proc, _ = _holder(tutor_home)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    session = _session(tutor_home)
    try:
        session.start()
        assert session.sql is not None
        assert (
            sqlite3.connect(session.sql.path).execute("SELECT name FROM sqlite_master WHERE name = 'mine_a'").fetchall()
            == []
        )
    finally:
        session.close()


def test_reopening_a_lesson_this_tutor_is_still_closing_waits_for_it(tutor_home: Path) -> None:
    first = _session(tutor_home)
    first.start()
    closer = threading.Timer(0.3, first.close)  # the app closes a lesson in a background thread
    closer.start()
    second = _session(tutor_home)
    started = time.monotonic()
    try:
        second.start()
        assert time.monotonic() - started >= 0.25
    finally:
        closer.join()
        second.close()


def test_the_lock_is_free_again_after_close(tmp_path: Path) -> None:
    lock = LessonLock.acquire(tmp_path)
    with pytest.raises(LessonInUse):
        LessonLock.acquire(tmp_path, own_wait=0.1)
    lock.release()
    LessonLock.acquire(tmp_path).release()
