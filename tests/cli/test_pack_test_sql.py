"""`pack test` on a SQL lesson: wrong answers that change the database don't leak; broken SQL is named."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from tests.conftest import REPO
from tests.pack.helpers import write_pack
from tutor.pack.loader import load_pack_or_raise
from tutor.packtest import run_pack_test

LESSON = """\
id: deletes
title: Deleting rows
track: databases
sandboxes:
  sql:
    tables:
      - name: t
        rows: 100
        seed: 3
        primary_key: id
        columns:
          - {name: id, gen: sequence}
          - {name: v, gen: int, min: 0, max: 9}
steps:
  - id: delete-odd
    title: Delete the odd rows
    text: Delete every row whose id is odd.
    check: {kind: sql_state, query: "SELECT count(*) FROM t", expect: [[50]]}
    hints: [Use DELETE with a WHERE on id % 2.]
    solution: {sql: "DELETE FROM t WHERE id % 2 = 1"}
    wrong_answers:
      - sql: DELETE FROM t
      - sql: "DELETE FROM t WHERE id % 2 = 0 AND id < 10"
  - id: still-fifty
    title: Nothing else changed
    text: Leave the table as it is.
    check: {kind: sql_state, query: "SELECT count(*), min(id) % 2 FROM t", expect: [[50, 0]]}
    hints: [Do nothing.]
    solution: {sql: "SELECT count(*) FROM t"}
    wrong_answers:
      - sql: "DELETE FROM t WHERE id < 10"
"""


def _pack(tmp_path: Path, lesson: str = LESSON) -> Path:
    return write_pack(tmp_path / "pack", {"databases/01.yaml": lesson})


def test_wrong_answers_that_delete_rows_do_not_leak(tmp_path: Path) -> None:
    before = {t.ident for t in threading.enumerate()}
    report = run_pack_test(load_pack_or_raise(_pack(tmp_path)))
    outcome = [(c.step, c.case, c.passed) for c in report.cases if c.severity == "case"]
    assert outcome == [
        ("delete-odd", "wrong answer 1", True),
        ("delete-odd", "wrong answer 2", True),
        ("delete-odd", "solution", True),
        ("still-fifty", "wrong answer 1", True),
        ("still-fifty", "solution", True),
    ], [c.line_text() for c in report.failures]
    assert {t.ident for t in threading.enumerate()} <= before


def test_a_solution_whose_sql_fails_is_named(tmp_path: Path) -> None:
    broken = LESSON.replace('solution: {sql: "DELETE FROM t WHERE id % 2 = 1"}', 'solution: {sql: "DELETE FROM tt"}')
    result = subprocess.run(
        [sys.executable, "-m", "tutor", "pack", "test", str(_pack(tmp_path, broken))],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("databases/01.yaml:20: deletes/delete-odd: the solution was rejected: its SQL failed:")
    assert "no such table: tt" in lines[0]
    # the failed solution left the table whole, so the next step's solution fails too, visibly
    assert lines[1].startswith("databases/01.yaml:29: deletes/still-fifty: the solution was rejected:")
    assert lines[-1] == "3 passed, 2 failed"
