"""`backend-tutor pack test`: a solution that fails and a wrong answer that passes are both caught."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.conftest import BUILTIN, REPO
from tests.pack.helpers import GOOD_LESSON, write_pack
from tutor.pack.loader import load_pack_or_raise
from tutor.packtest import run_pack_test

API_PACK = REPO / "tests" / "app" / "fixtures" / "api-pack"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tutor", "pack", "test", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=900,  # the built-in pack's build-it lessons start a child process for every case
    )


def builtin_lessons() -> list[str]:
    """The built-in lessons, the longest first by `expected_cost` (the same order on every test worker), so
    the workers do not end the run with a long lesson left for one of them."""
    from tutor.pack.loader import load_pack_or_raise
    from tutor.packtest import expected_cost

    pack = load_pack_or_raise(BUILTIN)
    return [e.lesson.id for e in sorted(pack.lessons, key=lambda e: -expected_cost(e.lesson))]


@pytest.fixture(scope="session")
def shared_pack_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One state folder for every lesson's `pack test` in this run, on every test worker (the workers'
    temporary folders share a parent): lessons with the same database build it once. Two workers
    building the same one at once each build it and the second rename wins, as two tutors would."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if base.name.startswith("popen-gw") else base
    home = root / "shared-pack-test-home"
    home.mkdir(exist_ok=True)
    return home


@pytest.mark.parametrize("lesson", builtin_lessons())
def test_builtin_pack_passes(lesson: str, shared_pack_home: Path) -> None:
    """Every lesson of the built-in pack, one test each (so the lessons spread over the test workers, one
    lesson at a time each: several lessons' real-time waits at once on two cores slowed the timing-bound
    checks past their limits): its solutions pass, its wrong answers fail, its alternatives pass with the
    later steps after them."""
    result = run(str(BUILTIN), "--lesson", lesson, "--jobs", "1", "--home", str(shared_pack_home))
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.splitlines()[-1]
    passed, failed = last.split(", ")
    assert failed == "0 failed"
    assert int(passed.split()[0]) >= 3


def test_the_builtin_pack_has_every_track() -> None:
    from tutor.pack.index import read_index

    index = read_index(BUILTIN)
    assert [t.id for t in index.tracks] == ["http", "databases", "caching", "auth", "operating"]
    assert len(index.lessons) >= 35


def test_a_solution_the_check_rejects(tmp_path: Path) -> None:
    lesson = GOOD_LESSON.format(id="first").replace("solution: {answer: a}", "solution: {answer: b}")
    lesson = lesson.replace("      - answer: b", "      - answer: a")
    root = write_pack(tmp_path, {"http/01.yaml": lesson})
    result = run(str(root))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "http/01.yaml:14: first/one: the solution was rejected: Not this one: B" in lines
    assert "http/01.yaml:16: first/one: wrong answer 1 was accepted (Right.)" in lines
    assert lines[-1] == "0 passed, 2 failed"


def test_a_wrong_answer_the_check_accepts(tmp_path: Path) -> None:
    lesson = GOOD_LESSON.format(id="first").replace("      - answer: b", "      - answer: b\n      - answer: a")
    root = write_pack(tmp_path, {"http/01.yaml": lesson})
    result = run(str(root), "--json")
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert (doc["passed"], doc["failed"]) == (2, 1)
    (bad,) = [c for c in doc["cases"] if not c["passed"]]
    assert (bad["file"], bad["line"], bad["lesson"], bad["step"], bad["case"]) == (
        "http/01.yaml",
        17,
        "first",
        "one",
        "wrong answer 2",
    )


def test_warnings_and_strict(tmp_path: Path) -> None:
    root = write_pack(tmp_path, {"http/01.yaml": GOOD_LESSON.format(id="first")})
    relaxed = run(str(root))
    assert relaxed.returncode == 0
    assert "http/01.yaml:5: first/one: warning: no hints" in relaxed.stdout
    strict = run(str(root), "--strict")
    assert strict.returncode == 1
    assert strict.stdout.splitlines()[-1] == "2 passed, 1 failed"


def test_invalid_pack_and_unknown_lesson(tmp_path: Path) -> None:
    root = write_pack(tmp_path, {"http/01.yaml": "id: [\n"})
    assert run(str(root)).returncode == 1
    assert run(str(BUILTIN), "--lesson", "no-such-lesson").returncode == 2


def test_runs_in_a_throwaway_home_and_leaves_nothing(tmp_path: Path, tutor_home: Path) -> None:
    """A lesson with both sandboxes (the whole built-in pack is run by `test_builtin_pack_passes`)."""
    before = {t.ident for t in threading.enumerate()}
    report = run_pack_test(load_pack_or_raise(API_PACK))
    assert report.failed_count == 0 and report.passed_count >= 2
    # The threads allowed to stay are the two launchers: a child's parent-death signal fires when the
    # thread that started it ends, so learner code and SQL workers are started from one long-lived thread
    # each (made by the first sandbox of the process, so present or not depending on earlier tests).
    left = {t.name for t in threading.enumerate() if t.ident not in before}
    launchers = ("tutor-code-launcher", "sql-worker-launcher")
    assert {name for name in left if not name.startswith(launchers)} == set()
    assert list(tutor_home.iterdir()) == []  # the learner's (here: the test's) home was never touched


def test_alternatives_must_pass_too(tmp_path: Path) -> None:
    """An `alternatives:` entry is another right answer: pack test fails when the check rejects it."""
    text_lesson = """\
    id: second
    title: Another lesson
    track: http
    steps:
      - id: two
        title: Two
        text: Name the method.
        check:
          kind: text
          accept: [PUT, PATCH]
        solution: {answer: PUT}
        alternatives:
          - answer: patch
          - answer: POST
        wrong_answers:
          - answer: GET
    """
    root = write_pack(tmp_path, {"http/01.yaml": text_lesson})
    result = run(str(root), "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    by_case = {c["case"]: c for c in doc["cases"] if c["severity"] == "case"}
    assert by_case["alternative 1"]["passed"] is True
    assert by_case["alternative 2"]["passed"] is False
    assert by_case["alternative 2"]["line"] == 14
    assert by_case["solution"]["passed"] is True
    plain = run(str(root))
    assert "http/01.yaml:14: second/two: alternative 2 (a right answer) was rejected" in plain.stdout
