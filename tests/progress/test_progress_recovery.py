"""A damaged progress file keeps every row that can still be read; a newer one is refused, untouched.

The files are real progress stores written by ProgressStore, damaged the way a disk or a hand edit
damages them: a page overwritten, a row a CHECK forbids, a newer format number."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tutor.progress import IN_PROGRESS, PASSED, ProgressStore, ProgressTooNew

PACK = str(Path(__file__).resolve().parents[1] / "app" / "fixtures" / "pack")
STEPS = 300


def _store(path: Path) -> dict[tuple[str, str], tuple[str, int]]:
    """A progress file with STEPS step records over many pages, a position and a name; what it holds."""
    with ProgressStore.open(path) as store:
        for i in range(STEPS):
            store.record_attempt("acme", "1.0", f"lesson-{i // 10:02d}", f"step-{i:03d}", passed=i % 3 == 0)
        store.visit("acme", "1.0", "lesson-29", "step-299")
        store.set_setting("learner_name", "Ada Lovelace")
        return {
            (s.lesson_id, s.step_id): (s.status, s.attempts)
            for d in store.pack_steps("acme").values()
            for s in d.values()
        }


def _held(store: ProgressStore) -> dict[tuple[str, str], tuple[str, int]]:
    steps = store.pack_steps("acme").values()
    return {(s.lesson_id, s.step_id): (s.status, s.attempts) for lesson in steps for s in lesson.values()}


def _read(path: Path) -> dict[tuple[str, str], tuple[str, int]]:
    with ProgressStore.open(path) as store:
        assert store.notice is None, "the rebuilt file opens cleanly"
        return {
            (s.lesson_id, s.step_id): (s.status, s.attempts)
            for d in store.pack_steps("acme").values()
            for s in d.values()
        }


def _layout(path: Path) -> tuple[int, int, list[int]]:
    """(page size, the step table's root page, its leaf pages) of an intact file."""
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'step_progress'").fetchone()[0]
    conn.close()
    data = path.read_bytes()
    page = data[(root - 1) * page_size : root * page_size]
    assert page[0] == 5, "enough rows for an interior page over several leaves"
    cells = int.from_bytes(page[3:5], "big")
    pointers = [int.from_bytes(page[12 + 2 * i : 14 + 2 * i], "big") for i in range(cells)]
    children = [int.from_bytes(page[p : p + 4], "big") for p in pointers] + [int.from_bytes(page[8:12], "big")]
    return page_size, root, children


def _overwrite(path: Path, page: int, page_size: int) -> None:
    with path.open("r+b") as handle:
        handle.seek((page - 1) * page_size)
        handle.write(bytes([0xA5]) * page_size)


def test_the_interior_page_over_every_step_is_damaged_and_every_step_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "progress.db"
    before = _store(path)
    page_size, root, _ = _layout(path)
    _overwrite(path, root, page_size)
    damaged = path.read_bytes()

    with ProgressStore.open(path) as store:
        notice = store.notice
        assert store.setting("learner_name") == "Ada Lovelace"
        assert store.position("acme") is not None and store.position("acme").step_id == "step-299"  # type: ignore[union-attr]
    assert notice is not None
    assert f"Kept: {STEPS} step records, 1 position, 1 setting." in notice
    assert f"The damaged part (page {root} of the file) only pointed to the others: nothing is missing." in notice
    assert "missing" not in notice.replace("nothing is missing", "")
    (aside,) = tmp_path.glob("progress.db.damaged-*")
    assert f"The damaged file is kept as {aside}." in notice
    assert aside.read_bytes() == damaged, "the original is kept as it was"
    assert _read(path) == before


def test_a_damaged_leaf_page_loses_only_its_own_rows_and_says_which_page(tmp_path: Path) -> None:
    path = tmp_path / "progress.db"
    before = _store(path)
    page_size, _, leaves = _layout(path)
    _overwrite(path, leaves[3], page_size)

    with ProgressStore.open(path) as store:
        notice = store.notice
    after = _read(path)
    assert notice is not None and f"page {leaves[3]}" in notice and "steps recorded only there are missing" in notice
    assert 0 < STEPS - len(after) < STEPS // 4, "one page's rows are lost, the rest are kept"
    assert all(before[key] == value for key, value in after.items()), "what is kept is exactly what was saved"
    assert f"Kept: {len(after)} step records" in notice


def test_a_damaged_index_page_loses_nothing(tmp_path: Path) -> None:
    """The review's case: page 3 overwritten, which in a small store is the primary key's index."""
    path = tmp_path / "progress.db"
    with ProgressStore.open(path) as store:
        for i in range(3):
            store.record_attempt("acme", "1.0", "basics", f"s{i}", passed=True)
        store.set_setting("learner_name", "Ada Lovelace")
    conn = sqlite3.connect(path)
    index_root = conn.execute("SELECT rootpage FROM sqlite_master WHERE type = 'index'").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    _overwrite(path, index_root, page_size)

    with ProgressStore.open(path) as store:
        assert store.notice is not None and "Kept: 3 step records" in store.notice
        assert "missing" not in store.notice
        assert [s.status for s in store.lesson_steps("acme", "basics").values()] == [PASSED] * 3
        assert store.setting("learner_name") == "Ada Lovelace"


def test_a_row_with_a_status_this_version_does_not_know_is_kept_as_started(tmp_path: Path) -> None:
    path = tmp_path / "progress.db"
    _store(path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA ignore_check_constraints = ON")
    conn.execute("UPDATE step_progress SET status = 'weird', attempts = 'many' WHERE step_id = 'step-007'")
    conn.commit()
    conn.close()

    with ProgressStore.open(path) as store:
        notice = store.notice
        weird = store.step("acme", "lesson-00", "step-007")
        kept = sum(len(d) for d in store.pack_steps("acme").values())
    assert notice is not None and f"Kept: {STEPS} step records" in notice
    assert "Repaired: 1 step record with a status this version does not know ('weird'), kept as started" in notice
    assert (weird.status, weird.attempts) == (IN_PROGRESS, 0)
    assert kept == STEPS


def test_text_in_a_count_does_not_crash_the_progress_command(tutor_home: Path) -> None:
    with ProgressStore.open(tutor_home / "progress.db") as store:
        store.record_attempt("test-pack", "1", "first", "type-it", passed=False)
    conn = sqlite3.connect(tutor_home / "progress.db")
    conn.execute("UPDATE step_progress SET attempts = 'many'")
    conn.commit()
    conn.close()
    result = run_cli("progress", "--pack", PACK, home=tutor_home)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _newer(path: Path) -> None:
    _store(path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE settings SET value = 'backend-tutor 0.4.0' WHERE key = 'written_by'")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()


def test_a_file_from_a_newer_tutor_is_refused_with_the_version_it_needs_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "progress.db"
    _newer(path)
    digest = _digest(path)
    with pytest.raises(ProgressTooNew) as raised:
        ProgressStore.open(path)
    message = str(raised.value)
    assert "progress format 2" in message and "reads format 1" in message
    assert "It needs backend-tutor 0.4.0 or newer" in message
    assert _digest(path) == digest and not list(tmp_path.glob("progress.db.*")), "nothing moved, nothing changed"


def test_a_damaged_file_from_a_newer_tutor_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "progress.db"
    _newer(path)
    page_size, root, _ = _layout(path)
    _overwrite(path, root, page_size)
    with pytest.raises(ProgressTooNew, match="progress format 2"):
        ProgressStore.open(path)
    assert not list(tmp_path.glob("progress.db.damaged-*"))


def test_the_progress_command_and_the_tutor_refuse_a_newer_file(tutor_home: Path) -> None:
    path = tutor_home / "progress.db"
    _newer(path)
    digest = _digest(path)
    shown = run_cli("progress", "--pack", PACK, home=tutor_home)
    assert shown.returncode == 2 and "Traceback" not in shown.stderr
    assert "backend-tutor 0.4.0 or newer" in shown.stderr and "0 of" not in shown.stdout
    opened = run_cli("--pack", PACK, home=tutor_home, timeout=60)
    assert opened.returncode == 2 and "backend-tutor 0.4.0 or newer" in opened.stderr, opened.stderr[-2000:]
    assert _digest(path) == digest


def test_the_progress_command_shows_what_was_kept(tutor_home: Path) -> None:
    """What a learner sees: the note on stderr, and the steps still passed in the table."""
    path = tutor_home / "progress.db"
    with ProgressStore.open(path) as store:
        store.record_attempt("test-pack", "1", "first", "type-it", passed=True)
        for i in range(STEPS):
            store.record_attempt("other", "1", "l", f"s{i}", passed=False)
    page_size, root, _ = _layout(path)
    _overwrite(path, root, page_size)
    result = run_cli("progress", "--pack", PACK, home=tutor_home)
    assert result.returncode == 0, result.stderr
    assert (
        "note: Your progress file was damaged" in result.stderr and f"Kept: {STEPS + 1} step records" in result.stderr
    )
    assert "1 of 6 steps done" in result.stdout


def test_steps_saved_in_the_write_ahead_log_of_a_killed_tutor_are_kept(tmp_path: Path) -> None:
    """A tutor killed after saving leaves its last steps in progress.db-wal; recovery reads them too."""
    import subprocess
    import sys

    path = tmp_path / "progress.db"
    _store(path)
    page_size, _, leaves = _layout(path)
    writer = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from tutor.progress import ProgressStore\n"
        "store = ProgressStore.open(Path(sys.argv[1]))\n"
        "store._conn.execute('PRAGMA wal_autocheckpoint = 0')\n"
        "for i in range(5):\n"
        "    store.record_attempt('acme', '1.0', 'late', f'late-{i}', passed=True)\n"
        "os._exit(0)\n"  # no close, no checkpoint: as after kill -9
    )
    subprocess.run([sys.executable, "-c", writer, str(path)], check=True, cwd=Path(__file__).resolve().parents[2])
    assert Path(f"{path}-wal").stat().st_size > 0
    _overwrite(path, leaves[0], page_size)

    with ProgressStore.open(path) as store:
        assert store.notice is not None and f"page {leaves[0]}" in store.notice
        late = store.lesson_steps("acme", "late")
    assert sorted(late) == [f"late-{i}" for i in range(5)] and all(s.passed for s in late.values())
