"""The progress store: what it keeps, how it survives a kill -9, two writers, and damaged files."""

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

from tutor.progress import (
    EVIDENCE_KEPT,
    IN_PROGRESS,
    MAX_EVIDENCE_BYTES,
    NOT_STARTED,
    PASSED,
    ProgressStore,
    lesson_status,
)


@pytest.fixture
def store(tmp_path: Path):
    with ProgressStore.open(tmp_path / "progress.db") as s:
        yield s


def test_a_step_moves_from_started_to_passed_with_counts(store: ProgressStore) -> None:
    store.visit("pack", "1.0", "lesson", "one")
    assert store.step("pack", "lesson", "one").status == IN_PROGRESS
    store.record_hint("pack", "1.0", "lesson", "one")
    store.record_attempt("pack", "1.0", "lesson", "one", passed=False)
    store.record_solution_viewed("pack", "1.0", "lesson", "one")
    done = store.record_attempt("pack", "1.0", "lesson", "one", passed=True)
    assert (done.status, done.attempts, done.hints_used, done.solution_viewed) == (PASSED, 2, 1, True)
    assert done.first_activity is not None and done.completed_at is not None
    assert done.first_activity <= done.completed_at
    # a later wrong attempt does not undo a pass
    again = store.record_attempt("pack", "1.0", "lesson", "one", passed=False)
    assert again.status == PASSED and again.completed_at == done.completed_at


def test_the_last_position_is_kept_per_pack(store: ProgressStore) -> None:
    store.visit("a", "1", "l1", "s1")
    store.visit("a", "1", "l2", "s3")
    store.visit("b", "1", "x", "y")
    assert (store.position("a").lesson_id, store.position("a").step_id) == ("l2", "s3")  # type: ignore[union-attr]
    assert store.position("b").lesson_id == "x"  # type: ignore[union-attr]
    assert store.position("nope") is None


def test_progress_outlives_a_pack_update_that_renames_a_lesson(store: ProgressStore) -> None:
    store.record_attempt("pack", "1.0", "kept", "s1", passed=True)
    store.record_attempt("pack", "1.0", "old-name", "s1", passed=True)
    # version 2 renamed old-name; the store is keyed by ids, so "kept" is untouched
    store.visit("pack", "2.0", "new-name", "s1")
    steps = store.pack_steps("pack")
    assert steps["kept"]["s1"].passed
    assert lesson_status(["s1"], steps["kept"]) == PASSED
    assert lesson_status(["s1", "s2"], steps["kept"]) == IN_PROGRESS  # a step added in v2 is not done yet
    assert lesson_status(["s1"], {}) == NOT_STARTED


def test_reset_one_lesson_or_a_whole_pack(store: ProgressStore) -> None:
    for lesson in ("a", "b"):
        store.visit("pack", "1", lesson, "s")
    store.visit("other", "1", "a", "s")
    assert store.reset("pack", "a") == 1
    assert set(store.pack_steps("pack")) == {"b"}
    assert store.reset("pack") == 1
    assert store.pack_steps("pack") == {}
    assert store.position("pack") is None
    assert store.pack_steps("other")  # another pack keeps its progress


def test_settings_round_trip(store: ProgressStore) -> None:
    assert store.setting("theme") is None
    store.set_setting("theme", "nord")
    store.set_setting("theme", "gruvbox")
    assert store.setting("theme") == "gruvbox"


def test_the_file_uses_wal_and_a_busy_timeout(store: ProgressStore, tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "progress.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


@pytest.mark.parametrize("content", [b"this is not a database" * 100, b"SQLite format 3\x00" + b"\xff" * 5000])
def test_a_corrupt_file_is_moved_aside_and_a_fresh_one_started(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "progress.db"
    path.write_bytes(content)
    with ProgressStore.open(path) as store:
        assert store.notice is not None and "set aside as" in store.notice
        store.visit("p", "1", "l", "s")
    aside = list(tmp_path.glob("progress.db.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == content
    with ProgressStore.open(path) as store:
        assert store.notice is None and store.step("p", "l", "s").status == IN_PROGRESS


def test_an_sqlite_file_that_is_not_a_progress_file_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "progress.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE step_progress (x)")
    conn.commit()
    conn.close()
    with ProgressStore.open(path) as store:
        assert store.notice is not None
        store.visit("p", "1", "l", "s")


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from tutor.progress import ProgressStore

    store = ProgressStore.open(Path(sys.argv[1]))
    prefix = sys.argv[2]
    i = 0
    while True:
        evidence = {"action": {"answer": str(i)}} if i % 2 == 0 else None
        store.record_attempt("pack", "1", f"{prefix}-{i % 7}", f"step-{i}", passed=i % 2 == 0, evidence=evidence)
        print(i, flush=True)  # acknowledged: the transaction committed
        i += 1
        if len(sys.argv) > 3 and i >= int(sys.argv[3]):
            break
    """
)


def _writer(path: Path, prefix: str, count: int | None = None) -> subprocess.Popen[str]:
    args = [sys.executable, "-c", WRITER, str(path), prefix] + ([str(count)] if count else [])
    return subprocess.Popen(args, stdout=subprocess.PIPE, text=True)


def test_a_writer_killed_mid_way_loses_nothing_it_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "progress.db"
    proc = _writer(path, "killed")
    assert proc.stdout is not None
    acknowledged = -1
    deadline = time.monotonic() + 20
    while acknowledged < 150 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            acknowledged = int(line)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert acknowledged >= 150, "the writer did not get going"
    with ProgressStore.open(path) as store:
        assert store.notice is None
        steps = store.pack_steps("pack")
        saved = {step_id for lesson in steps.values() for step_id in lesson}
        for i in range(acknowledged + 1):
            assert f"step-{i}" in saved
            progress = steps[f"killed-{i % 7}"][f"step-{i}"]
            assert progress.attempts == 1 and progress.passed == (i % 2 == 0)
            kept = store.evidence("pack", f"killed-{i % 7}", f"step-{i}")
            assert [e["action"] for e in kept] == ([{"answer": str(i)}] if i % 2 == 0 else [])


def test_two_writers_at_once_neither_crashes_nor_corrupts(tmp_path: Path) -> None:
    path = tmp_path / "progress.db"
    ProgressStore.open(path).close()
    writers = [_writer(path, name, 200) for name in ("left", "right")]
    outputs = [w.communicate(timeout=60)[0] for w in writers]
    assert [w.returncode for w in writers] == [0, 0]
    assert all(out.split()[-1] == "199" for out in outputs)
    with ProgressStore.open(path) as store:
        steps = store.pack_steps("pack")
        for name in ("left", "right"):
            assert sum(len(v) for k, v in steps.items() if k.startswith(name)) == 200
        assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_threads_share_one_store(store: ProgressStore) -> None:
    def work(n: int) -> None:
        for i in range(30):
            store.record_hint("pack", "1", f"l{n}", f"s{i}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(v) for v in store.pack_steps("pack").values()) == 120


def test_a_pass_keeps_its_evidence_with_the_counts_of_that_moment(store: ProgressStore) -> None:
    store.record_attempt("p", "1", "l", "s", passed=False)
    store.record_hint("p", "1", "l", "s")
    for n in range(EVIDENCE_KEPT + 2):
        store.record_attempt("p", "1", "l", "s", passed=True, evidence={"action": {"answer": n}})
    kept = store.evidence("p", "l", "s")
    assert [e["action"]["answer"] for e in kept] == [EVIDENCE_KEPT + 1 - n for n in range(EVIDENCE_KEPT)]
    assert (kept[-1]["attempts"], kept[-1]["hints_used"], kept[-1]["solution_viewed"]) == (4, 1, False)
    store.record_solution_viewed("p", "1", "l", "s")
    assert store.evidence("p", "l", "s")[0]["solution_viewed"] is False  # as it was when the step passed
    assert store.pack_evidence("p") == {"l": {"s": kept[0]}}
    store.apply_renames("p", {"l": "l2"}, {"l2": {"s": "s2"}})
    assert store.evidence("p", "l2", "s2") == kept
    store.reset("p")
    assert store.pack_evidence("p") == {}


def test_evidence_that_cannot_be_kept_never_costs_the_pass(store: ProgressStore) -> None:
    big = {"action": {"sql": "x" * (MAX_EVIDENCE_BYTES + 10)}, "lesson": "l"}
    assert store.record_attempt("p", "1", "l", "big", passed=True, evidence=big).passed
    (kept,) = store.evidence("p", "l", "big")
    assert kept["action"] == {} and "more than" in kept["incomplete"][-1] and kept["lesson"] == "l"
    odd = {"action": {"answer": object()}}
    assert store.record_attempt("p", "1", "l", "odd", passed=True, evidence=odd).passed
    (kept,) = store.evidence("p", "l", "odd")
    assert kept["action"] == {} and "could not be stored" in kept["incomplete"][-1]


def test_a_file_from_before_evidence_gets_the_table_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "progress.db"
    with ProgressStore.open(path) as store:
        store.record_attempt("p", "1", "l", "s", passed=True)
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE step_evidence")  # as an older tutor wrote it
    conn.commit()
    conn.close()
    with ProgressStore.open(path) as store:
        assert store.notice is None and store.step("p", "l", "s").passed
        assert store.evidence("p", "l", "s") == []
        store.record_attempt("p", "1", "l", "s", passed=True, evidence={"action": {"answer": 1}})
        assert store.evidence("p", "l", "s")[0]["attempts"] == 2
