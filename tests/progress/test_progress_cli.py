"""`backend-tutor progress` and `progress reset`, run as a learner would, in a subprocess."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.conftest import run_cli
from tutor.progress import ProgressStore

PACK = str(Path(__file__).resolve().parent.parent / "app" / "fixtures" / "pack")


def run(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run_cli(*args, home=home, stdin=stdin, env={"COLUMNS": "120"}, timeout=60)


def seed(home: Path) -> None:
    with ProgressStore.open(home / "progress.db") as store:
        store.record_attempt("test-pack", "1.0.0", "first", "pick", passed=True)
        store.record_hint("test-pack", "1.0.0", "first", "type-it")
        store.visit("test-pack", "1.0.0", "first", "type-it")


def test_progress_prints_a_table(tutor_home: Path) -> None:
    seed(tutor_home)
    result = run(tutor_home, "progress", "--pack", PACK)
    assert result.returncode == 0, result.stderr
    assert "First lesson" in result.stdout
    assert "started" in result.stdout and "1/4" in result.stdout
    assert "1 of 6 steps done" in result.stdout
    assert "Last position" in result.stdout


def test_reset_asks_first_and_no_keeps_everything(tutor_home: Path) -> None:
    seed(tutor_home)
    result = run(tutor_home, "progress", "reset", "first", "--pack", PACK, stdin="n\n")
    assert result.returncode == 1
    assert "Forget your progress" in result.stdout and "Nothing was changed" in result.stdout
    with ProgressStore.open(tutor_home / "progress.db") as store:
        assert store.pack_steps("test-pack")


def test_reset_with_yes_forgets_the_lesson(tutor_home: Path) -> None:
    seed(tutor_home)
    result = run(tutor_home, "progress", "reset", "first", "--pack", PACK, "--yes")
    assert result.returncode == 0, result.stderr
    assert "forgot 2 step(s)" in result.stdout
    with ProgressStore.open(tutor_home / "progress.db") as store:
        assert store.pack_steps("test-pack") == {}


def test_reset_of_an_unknown_lesson_says_so(tutor_home: Path) -> None:
    result = run(tutor_home, "progress", "reset", "no-such-lesson", "--pack", PACK, "--yes")
    assert result.returncode == 2
    assert "no lesson 'no-such-lesson'" in result.stderr


def test_a_corrupt_progress_file_gives_a_note_not_a_traceback(tutor_home: Path) -> None:
    (tutor_home / "progress.db").write_bytes(b"garbage" * 500)
    result = run(tutor_home, "progress", "--pack", PACK)
    assert result.returncode == 0
    assert "set aside as" in result.stderr and "Traceback" not in result.stderr


def test_progress_json_is_the_export_an_instructor_collects(tutor_home: Path) -> None:
    import json

    seed(tutor_home)
    result = run(tutor_home, "progress", "--pack", PACK, "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["progress_format"] == 1
    assert doc["pack"]["id"] == "test-pack"
    assert doc["position"] == {"lesson": "first", "step": "type-it"}
    first = next(lesson for lesson in doc["lessons"] if lesson["id"] == "first")
    assert first["status"] == "in_progress"
    steps = {s["id"]: s for s in first["steps"]}
    assert steps["pick"]["status"] == "passed" and steps["pick"]["attempts"] == 1
    assert steps["pick"]["completed_at"].endswith("+00:00")
    assert steps["type-it"]["hints_used"] == 1
    untouched = [s for lesson in doc["lessons"] for s in lesson["steps"] if s["status"] == "not_started"]
    assert untouched and all(set(s) == {"id", "status"} for s in untouched)


def test_progress_at_80_columns_is_one_line_per_lesson_with_the_whole_date(tutor_home: Path) -> None:
    """At 80 columns the table wrapped each title over several lines and cut "last seen" to "2026-12-0":
    one line per lesson now, every line within 80 columns, the date whole, and the last position named
    by the step's title rather than its id."""
    seed(tutor_home)
    builtin = str(Path(__file__).resolve().parent.parent.parent / "lessons")
    with ProgressStore.open(tutor_home / "progress.db") as store:
        store.visit("backend-tutor-core", "0.1.0", "status-codes", "classes")
    result = run_cli("progress", "--pack", builtin, home=tutor_home, env={"COLUMNS": "80"}, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    table = [line for line in lines if line.startswith(("│", "┃", "┏", "┡", "└"))]
    assert all(len(line) <= 80 for line in table), max(table, key=len)
    from tutor.pack.index import read_index

    index = read_index(Path(builtin))
    assert len(table) <= len(index.lessons) + len(index.tracks) + 5  # a row each, a heading per track
    row = next(line for line in table if "Status codes" in line)
    assert "◐ started" in row and re.search(r"\d\d-\d\d \d\d:\d\d", row), row
    step = next(s.title for s in index.lesson("status-codes").steps if s.id == "classes")  # type: ignore[union-attr]
    assert f"Last position: Status codes say what happened: {step}" in result.stdout
