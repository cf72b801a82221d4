"""A build-it lesson with `code_http` and `code_tests` steps: the test runs' database copies never take
the one the app's spare child was started with (the spare serves the next `code_http` check)."""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

from tutor.checks import evaluate
from tutor.checks.base import CheckContext
from tutor.code.workspace import CodeEvidenceImpl, Workspace
from tutor.pack.checks import CodeHttpCheck, CodeTestsCheck

APP = """
import os, sqlite3
from fastapi import FastAPI
app = FastAPI()

@app.get("/count")
def count():
    with sqlite3.connect(os.environ["BACKEND_TUTOR_DB"]) as connection:
        return {"books": connection.execute("SELECT count(*) FROM books").fetchone()[0]}
"""

TESTS = """
import app

def test_imports():
    \"\"\"The module imports.\"\"\"
    assert app.app is not None
"""


def test_test_runs_leave_the_spare_apps_database_alone(tmp_path: Path) -> None:
    starter = tmp_path / "starter"
    starter.mkdir()
    (starter / "app.py").write_text(textwrap.dedent(APP))
    (tmp_path / "test_it.py").write_text(textwrap.dedent(TESTS))
    database = tmp_path / "lesson.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE books (id INTEGER PRIMARY KEY)")
        connection.executemany("INSERT INTO books VALUES (?)", [(1,), (2,), (3,)])
    workspace = Workspace(tmp_path / "ws", starter)
    workspace.prepare()
    code = CodeEvidenceImpl(workspace, "app", tmp_path, database, tmp_path / "copies")
    try:
        http = CodeHttpCheck.model_validate(
            {"kind": "code_http", "steps": [{"request": {"path": "/count"}, "expect": {"json": {"books": 3}}}]}
        )
        tests = CodeTestsCheck.model_validate({"kind": "code_tests", "tests": "test_it.py"})
        context = CheckContext(code=code)
        assert evaluate(http, context).passed  # leaves a spare child with its own copy, for the next check
        for _ in range(3):
            assert evaluate(tests, context).passed
        result = evaluate(http, context)  # served by that spare
        assert result.passed, result.explain()
    finally:
        code.close()
