"""The learner's SQL runs in a worker process with a memory cap and a deadline that kills it: the hostile
cases that used to take the tutor past its time limit, into gigabytes of memory or down with signal 11.

Every case runs on the real sandbox (a real worker subprocess, a real SQLite file), ends within the
lesson's time limit plus one second, leaves the tutor's own memory where it was, answers the next
statement, and leaves no worker behind once the sandbox is closed (the process table is read)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from sandboxes.sql.process import CANCEL_GRACE, QueryLimit
from sandboxes.sql.sandbox import SqlSandbox
from tests.sql.conftest import settings
from tutor.paths import Home

LIMIT = 1.0  # the conftest lesson's time_limit
ROOMY = 10.0  # for cases a limit other than time must stop, however busy the machine
HUGE_PRINTF = "SELECT length(printf('%.*c', 2000000000, 'x'))"  # one C call: ~5 s here, never reaches a tick
BIG_INSTR = "SELECT instr(printf('%.*c', 1000000, 'a'), printf('%.*c', 500000, 'a') || 'b')"
MB = 1024 * 1024


def workers() -> list[psutil.Process]:
    """This test process's SQL workers, from the process table."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "sandboxes.sql.worker" in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def rss() -> int:
    return int(psutil.Process().memory_info().rss)


@pytest.fixture
def box(home: Home, tmp_path: Path) -> Iterator[SqlSandbox]:
    sandbox = SqlSandbox.open(settings(), pack_root=tmp_path, home=home, lesson_id="hostile")
    try:
        yield sandbox
    finally:
        sandbox.close()
        deadline = time.monotonic() + 5
        while workers() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert workers() == [], "a worker outlived its sandbox"


def timed(sandbox: SqlSandbox, sql: str) -> tuple[object, float]:
    started = time.monotonic()
    result = sandbox.run_learner(sql)
    return result, time.monotonic() - started


def answers(sandbox: SqlSandbox) -> bool:
    last = sandbox.run_learner("SELECT count(*) FROM authors").last
    return last is not None and last.rows == [(500,)]


@pytest.mark.parametrize("sql", [HUGE_PRINTF, BIG_INSTR], ids=["printf", "instr"])
def test_one_long_function_call_ends_at_the_limit_and_the_next_statement_runs(box: SqlSandbox, sql: str) -> None:
    assert answers(box)
    first = box._learner.pid  # type: ignore[union-attr]
    before = rss()
    result, elapsed = timed(box, sql)
    assert elapsed < LIMIT + 1, f"took {elapsed:.1f} s"
    failed = result.error  # type: ignore[attr-defined]
    assert failed is not None and failed.stopped and failed.restarted
    assert failed.error == (
        f"interrupted: it ran past the time limit of {LIMIT:g} s, so it was stopped; your connection was restarted"
    )
    assert answers(box)
    assert box._learner.pid != first and not psutil.pid_exists(first)  # type: ignore[union-attr]
    assert rss() - before < 20 * MB
    assert len(workers()) == 1


def test_an_open_transaction_is_rolled_back_and_said_so(box: SqlSandbox) -> None:
    result, elapsed = timed(box, f"BEGIN; DELETE FROM books WHERE id <= 10; {HUGE_PRINTF}")
    assert elapsed < LIMIT + 1
    failed = result.error  # type: ignore[attr-defined]
    assert failed is not None and failed.where == "statement 3 (line 1, column 42)"
    assert failed.error.endswith("your connection was restarted: an open transaction was rolled back")
    assert not box.in_transaction
    assert [(r.sql, r.transaction) for r in box.ran()] == [
        ("BEGIN;", "rolled_back"),
        ("DELETE FROM books WHERE id <= 10;", "rolled_back"),
    ]
    assert box.run_learner("SELECT count(*) FROM books").last.rows == [(20000,)]  # type: ignore[union-attr]


def test_foreign_keys_stay_on_and_temporary_tables_are_said_to_be_gone(box: SqlSandbox) -> None:
    box.run_learner("PRAGMA foreign_keys = ON; CREATE TEMP TABLE scratch(a)")
    result = box.run_learner(HUGE_PRINTF)
    assert (result.error.error or "").endswith("temporary tables and scratch databases are gone")  # type: ignore[union-attr]
    assert box.foreign_keys
    assert box.run_learner("PRAGMA foreign_keys").last.rows == [(1,)]  # type: ignore[union-attr]
    refused = box.run_learner("INSERT INTO books (id, title, author_id) VALUES (999999, 'x', 987654)")
    assert "FOREIGN KEY constraint failed" in (refused.error.error or "")  # type: ignore[union-attr]


def test_cancel_ends_a_call_that_never_reaches_the_progress_handler(box: SqlSandbox) -> None:
    box.settings = box.settings.model_copy(update={"time_limit": 30})
    out: dict[str, object] = {}
    worker = threading.Thread(target=lambda: out.setdefault("r", box.run_learner(HUGE_PRINTF)))
    worker.start()
    time.sleep(0.3)
    pressed = time.monotonic()
    box.cancel()
    worker.join(10)
    assert not worker.is_alive() and time.monotonic() - pressed < CANCEL_GRACE + 1
    failed = out["r"].error  # type: ignore[attr-defined]
    assert failed.error.startswith("interrupted: cancelled; it did not stop, so it was ended")
    assert answers(box)


def test_fts3_tokenizer_is_refused_and_crashes_nothing(box: SqlSandbox) -> None:
    pid = box._learner.pid  # type: ignore[union-attr]
    for sql in (
        "SELECT hex(fts3_tokenizer('simple'))",
        "SELECT fts3_tokenizer('simple', x'4141414141414141'); CREATE VIRTUAL TABLE t USING fts3(x, tokenize=simple);"
        " INSERT INTO t VALUES ('boom')",
        "SELECT rtreenode(2, x'00')",
    ):
        result = box.run_learner(sql)
        assert result.error is not None and (result.error.error or "").startswith("not authorized: ")
        assert "memory" in (result.error.error or "")
    assert box._learner.pid == pid and answers(box)  # type: ignore[union-attr]


def test_a_crash_of_the_worker_is_a_message_not_the_tutors_end(box: SqlSandbox) -> None:
    """What signal 11 in SQLite does now: the worker dies, the tutor says so and starts another."""
    box.settings = box.settings.model_copy(update={"time_limit": 30})
    pid = box._learner.pid  # type: ignore[union-attr]
    assert pid is not None and answers(box)
    threading.Timer(0.5, os.kill, (pid, signal.SIGSEGV)).start()
    result, elapsed = timed(box, HUGE_PRINTF)
    assert elapsed < 3
    assert (result.error.error or "").startswith("stopped: SQLite crashed on it (SIGSEGV)")  # type: ignore[attr-defined]
    assert answers(box)


def test_a_hundred_rows_of_nine_megabyte_blobs_stay_out_of_the_tutor(box: SqlSandbox) -> None:
    box.settings = box.settings.model_copy(update={"time_limit": ROOMY})  # 0.4 s here; more on a busy machine
    before = rss()
    sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100) SELECT x, zeroblob(9000000) FROM c"
    result, elapsed = timed(box, sql)
    assert elapsed < ROOMY + 1
    shown = result.last  # type: ignore[attr-defined]
    assert result.ok and shown.total_rows == 100 and 1 <= len(shown.rows) < 100  # type: ignore[attr-defined]
    assert rss() - before < 60 * MB  # the first row (9 MB) comes across; the other 891 MB never do
    assert answers(box)


def test_a_statement_past_the_memory_cap_is_refused_in_words(box: SqlSandbox) -> None:
    box.settings = box.settings.model_copy(update={"time_limit": ROOMY})
    before = rss()
    sql = "SELECT " + ", ".join(f"zeroblob(9000000) AS c{i}" for i in range(100))  # 900 MB in one row
    result, elapsed = timed(box, sql)
    assert elapsed < ROOMY + 1
    assert result.error is not None  # type: ignore[attr-defined]
    assert (result.error.error or "").endswith("needed more than 256 MB of memory; nothing of it was kept")  # type: ignore[attr-defined]
    assert rss() - before < 20 * MB
    assert answers(box)


def test_a_four_million_row_rerun_for_a_check_is_cut_short(box: SqlSandbox) -> None:
    before = rss()
    started = time.monotonic()
    with pytest.raises(QueryLimit) as stopped:
        box.query("SELECT b.id, b.title, b.year FROM books b, authors a WHERE a.id <= 200")  # 4,000,000 rows
    assert time.monotonic() - started < LIMIT + 1
    assert stopped.value.reason == "rows"
    assert str(stopped.value) == (
        "it returns more than 50,000 rows, more than a check reads back (a WHERE or a LIMIT makes it smaller)"
    )
    assert rss() - before < 60 * MB
    with pytest.raises(QueryLimit) as slow:
        box.query(HUGE_PRINTF)
    assert slow.value.reason == "time"
    assert box.query("SELECT count(*) FROM books")[1] == [(20000,)]
    assert answers(box)


def test_a_scratch_database_is_capped_like_the_lesson_database(box: SqlSandbox) -> None:
    box.settings = box.settings.model_copy(update={"time_limit": ROOMY})  # the cap, not the clock, must stop it
    result = box.run_learner(
        "ATTACH '' AS scratch; CREATE TABLE scratch.t(b);"
        " INSERT INTO scratch.t WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 60)"
        " SELECT zeroblob(9000000) FROM c"
    )
    failed = result.error
    assert failed is not None and failed.statement.number == 3
    assert (failed.error or "").startswith("refused: the lesson database may not grow past")
    assert box.run_learner("PRAGMA scratch.max_page_count").last.rows == [(65536,)]  # type: ignore[union-attr]
    third = box.run_learner("ATTACH '' AS two; ATTACH '' AS three")
    assert "at most 2 scratch databases" in (third.error.error or "")  # type: ignore[union-attr]


def test_a_trial_past_the_limit_loses_the_learners_transaction_and_says_so(box: SqlSandbox) -> None:
    box.run_learner("BEGIN; DELETE FROM notes")
    outcomes = box.trial(["SELECT 1", HUGE_PRINTF, "SELECT 2"])
    assert outcomes[0].rows == ((1,),)
    assert (outcomes[1].error or "").endswith("an open transaction was rolled back")
    assert (outcomes[2].error or "").startswith("not run: ")
    assert not box.in_transaction and [r.transaction for r in box.ran()] == ["rolled_back", "rolled_back"]


def test_no_worker_outlives_a_killed_tutor(tmp_path: Path) -> None:
    """The tutor killed with SIGKILL in the middle of a long call: its worker goes with it."""
    from tests.conftest import REPO

    probe = f"""
import sys, time
from pathlib import Path
from sandboxes.sql.sandbox import SqlSandbox
from tests.sql.conftest import settings
from tutor.paths import Home
box = SqlSandbox.open(settings(time_limit=30), pack_root=Path({str(tmp_path)!r}),
                      home=Home(Path({str(tmp_path / "home")!r})), lesson_id="killed")
box.run_learner("SELECT 1")
print(box._learner.pid, flush=True)
box.run_learner({HUGE_PRINTF!r})
"""
    tutor = subprocess.Popen([sys.executable, "-c", probe], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert tutor.stdout is not None
    worker = int(tutor.stdout.readline())
    assert psutil.pid_exists(worker)
    time.sleep(0.3)
    tutor.kill()
    tutor.wait()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            if psutil.Process(worker).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the worker outlived the tutor")
