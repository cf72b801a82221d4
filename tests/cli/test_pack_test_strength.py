"""`pack test` measures how much a check proves: a wrong answer that never reached the check proves
nothing; a later step must pass after every alternative of an earlier one; `--mutants` derives wrong
answers from the solution, counts those the check rejects, and lists the survivors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO
from tests.pack.helpers import write_pack
from tutor.pack.loader import load_pack_or_raise
from tutor.packtest import run_pack_test

TABLE = """\
id: {id}
title: Authors and books
track: databases
sandboxes:
  sql:
    tables:
      - name: books
        rows: 200
        seed: 3
        primary_key: id
        columns:
          - {{name: id, gen: sequence}}
          - {{name: author_id, gen: int, min: 1, max: 10}}
          - {{name: year, gen: int, min: 1990, max: 1995}}
steps:
"""

TYPO = (
    TABLE.format(id="typo")
    + """\
  - id: count
    title: Count
    text: Count the books of author 3.
    check: {kind: sql_result, reference: "SELECT count(*) FROM books WHERE author_id = 3"}
    hints: [COUNT(*) with a WHERE.]
    solution: {sql: "SELECT count(*) FROM books WHERE author_id = 3"}
    wrong_answers:
      - sql: "SELECT count(*) FROM book WHERE author_id = 3"
      - sql: "SELECT count(*) FROM books"
"""
)


def _pack(tmp_path: Path, lesson: str) -> Path:
    return write_pack(tmp_path / "pack", {"databases/01.yaml": lesson})


def test_a_wrong_answer_that_never_reached_the_check_proves_nothing(tmp_path: Path) -> None:
    report = run_pack_test(load_pack_or_raise(_pack(tmp_path, TYPO)))
    first, second = [c for c in report.cases if c.case.startswith("wrong answer")]
    assert not first.passed
    assert first.message.startswith("it proves nothing about the check: it failed before the check could judge it")
    assert "no such table: book" in first.message
    assert second.passed and second.message == "Same number of rows (1), but not the same rows."  # the check's reason
    declared = TYPO.replace(
        'FROM book WHERE author_id = 3"', 'FROM book WHERE author_id = 3"\n        fails_to_run: true'
    )
    report = run_pack_test(load_pack_or_raise(_pack(tmp_path / "2", declared)))
    assert report.failed_count == 0


DEPENDS = (
    TABLE.format(id="depends")
    + """\
  - id: make-index
    title: An index
    text: Make the author query seek.
    check:
      kind: sql_plan
      query: SELECT * FROM books WHERE author_id = 3
      uses_index: {table: books, columns: [author_id]}
    hints: [CREATE INDEX.]
    solution: {sql: "CREATE INDEX ix_author_year ON books(author_id, year)"}
    alternatives:
      - sql: "CREATE INDEX ix_author ON books(author_id)"
        why: a one-column index serves the query too
    wrong_answers:
      - sql: "CREATE INDEX ix_year ON books(year)"
  - id: no-sort
    title: No sort
    text: List author 3's books by year without a sort step.
    check:
      kind: sql_plan
      query: SELECT * FROM books WHERE author_id = 3 ORDER BY year
      sorts: false
    hints: [The index can give the order too.]
    solution: {sql: "SELECT 1"}
    wrong_answers:
      - sql: "DROP INDEX ix_author_year"
"""
)


def test_a_later_step_that_passes_only_after_the_reference_is_caught(tmp_path: Path) -> None:
    report = run_pack_test(load_pack_or_raise(_pack(tmp_path, DEPENDS)))
    (chained,) = [c for c in report.cases if c.case.startswith("solution after")]
    assert (chained.step, chained.case, chained.passed) == (
        "no-sort",
        "solution after alternative 1 of step make-index",
        False,
    )
    assert "sorts" in chained.message or "sort" in chained.message
    assert chained.line_text().startswith("databases/01.yaml:")


WEAK = (
    TABLE.format(id="weak")
    + """\
  - id: list
    title: A list
    text: List the ids of author 3's books, oldest first, then by id.
    check: {kind: sql_result, reference: "SELECT id FROM books WHERE author_id = 3 ORDER BY year, id"}
    hints: [ORDER BY year, id.]
    solution: {sql: "SELECT id FROM books WHERE author_id = 3 ORDER BY year, id"}
    wrong_answers:
      - sql: "SELECT id FROM books WHERE author_id = 4 ORDER BY year, id"
"""
)


def test_mutants_count_what_the_check_rejects_and_list_survivors(tmp_path: Path) -> None:
    report = run_pack_test(load_pack_or_raise(_pack(tmp_path, WEAK)), mutants=True)
    mutants = {c.case: c for c in report.cases if c.severity == "mutant"}
    assert mutants["mutant: drop WHERE"].mutant == "rejected"
    assert mutants["mutant: change 3 to 4 in WHERE"].mutant == "rejected"
    # the check ignores order (no `ordered: true`), so dropping the ORDER BY survives
    dropped = mutants["mutant: drop ORDER BY"]
    assert (dropped.mutant, dropped.passed) == ("survived", False)
    assert dropped.action == {"sql": "SELECT id FROM books WHERE author_id = 3;"}
    (score,) = report.mutation_scores()
    assert (score.generated, score.rejected, score.survived) == (4, 2, 2)
    # made strict about order, every mutant is rejected
    strict = WEAK.replace('ORDER BY year, id"}\n    hints', 'ORDER BY year, id", ordered: true}\n    hints')
    report = run_pack_test(load_pack_or_raise(_pack(tmp_path / "2", strict)), mutants=True)
    assert report.failed_count == 0
    assert report.mutation_summary() == {
        "generated": 4,
        "rejected": 4,
        "declared_right": 0,
        "survived": 0,
        "did_not_run": 0,
        "score": 1.0,
        "lowest_step_score": 1.0,
        "steps_below_90": 0,
    }


def test_a_surviving_mutant_declared_right_counts_as_declared(tmp_path: Path) -> None:
    lesson = WEAK.replace(
        "    wrong_answers:",
        "    alternatives:\n"
        "      - sql: select id from books where author_id = 3\n"
        "        why: the task does not ask for an order\n"
        "      - sql: SELECT id FROM books WHERE author_id = 3 ORDER BY year\n"
        "    wrong_answers:",
    )
    report = run_pack_test(load_pack_or_raise(_pack(tmp_path, lesson)), mutants=True)
    outcomes = {c.case: c.mutant for c in report.cases if c.severity == "mutant"}
    assert outcomes["mutant: drop ORDER BY"] == "declared"
    assert outcomes["mutant: drop the last ORDER BY term (the tie-breaker)"] == "declared"
    assert report.failed_count == 0


def test_the_command_prints_survivors_and_the_score_line(tmp_path: Path) -> None:
    root = _pack(tmp_path, WEAK)
    result = subprocess.run(
        [sys.executable, "-m", "tutor", "pack", "test", str(root), "--mutants"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any("mutant: drop ORDER BY (survived)" in line for line in lines)
    assert "    - sql: SELECT id FROM books WHERE author_id = 3;" in lines
    assert lines[-1].startswith(
        "mutants: 4 derived, 2 rejected, 0 declared right, 2 survived, 0 did not run: score 50.0%"
    )
    as_json = subprocess.run(
        [sys.executable, "-m", "tutor", "pack", "test", str(root), "--mutants", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    doc = json.loads(as_json.stdout)
    assert doc["mutants"]["steps"][0]["score"] == 0.5


def test_only_steps_that_can_see_earlier_work_are_replayed_after_an_alternative() -> None:
    """A build-it step of a lesson without an API starts from its own files and the database as built, and
    a choice reads only its answer: replaying them after an earlier alternative proves nothing new. A SQL
    step, or a build-it step whose app calls the lesson's API sandbox, can see what came before."""
    from tutor.packtest import reads_earlier_work
    from tutor.paths import builtin_pack_path

    pack = load_pack_or_raise(builtin_pack_path())

    def step(lesson_id: str, step_id: str) -> tuple[Any, Any]:
        entry = pack.lesson_file(lesson_id)
        assert entry is not None
        return entry.lesson, next(s for s in entry.lesson.steps if s.id == step_id)

    assert not reads_earlier_work(*step("build-etag-cache", "cache-aside"))  # code_http, no API
    assert reads_earlier_work(*step("timeouts-and-retries", "build-retry"))  # code_http calling an upstream
    assert not reads_earlier_work(*step("timeouts-and-retries", "predict-storm"))  # a choice
    assert reads_earlier_work(*step("composite-indexes", "both-columns"))  # sql_plan


def test_lessons_run_longest_first_by_their_expected_cost() -> None:
    """Workers take the lessons that start apps, wait on upstreams or send load tests first, so a long
    lesson is not left for the end while the other workers sit idle."""
    from tutor.packtest import expected_cost
    from tutor.paths import builtin_pack_path

    pack = load_pack_or_raise(builtin_pack_path())
    cost = {e.lesson.id: expected_cost(e.lesson) for e in pack.lessons}
    slow = ["timeouts-and-retries", "build-etag-cache", "slow-under-load", "build-login-jwt"]
    quick = ["status-codes", "password-storage", "tokens-401-403"]
    assert min(cost[s] for s in slow) > 3 * max(cost[q] for q in quick)
