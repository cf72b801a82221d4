"""`code_http` and `code_tests` on a right and a wrong solution, with reports in plain words."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tutor.checks import evaluate
from tutor.checks.base import CheckContext
from tutor.code.workspace import CodeEvidenceImpl, Workspace
from tutor.pack.checks import CodeHttpCheck, CodeTestsCheck

OPEN: list[CodeEvidenceImpl] = []


@pytest.fixture(autouse=True)
def _close_evidence() -> Iterator[None]:
    """Each test's workspace evidence is closed, so its spare child ends with the test."""
    yield
    while OPEN:
        OPEN.pop().close()


def context(tmp_path: Path, source: str) -> CheckContext:
    starter = tmp_path / "starter"
    starter.mkdir()
    (starter / "app.py").write_text(textwrap.dedent(source))
    workspace = Workspace(tmp_path / "ws", starter)
    workspace.prepare()
    evidence = CodeEvidenceImpl(workspace, "app", tmp_path, None)
    OPEN.append(evidence)
    return CheckContext(code=evidence)


PROBE = CodeHttpCheck.model_validate(
    {
        "kind": "code_http",
        "steps": [
            {
                "request": {"method": "POST", "path": "/items", "json": {"name": "pen"}},
                "expect": {"status": 201},
                "save": {"id": "json:id"},
            },
            {"request": {"path": "/items/{id}"}, "expect": {"status": 200, "json": {"name": "pen"}}},
        ],
    }
)
APP = """
from fastapi import FastAPI
app = FastAPI()
items = {}

@app.post("/items", status_code=STATUS)
def create(body: dict):
    items[len(items) + 1] = body
    return {"id": len(items)}

@app.get("/items/{item_id}")
def read(item_id: int):
    return items[item_id]
"""


def test_code_http_accepts_a_right_app(tmp_path: Path) -> None:
    result = evaluate(PROBE, context(tmp_path, APP.replace("STATUS", "201")))
    assert result.passed, result.explain()


def test_code_http_reports_request_response_and_first_difference(tmp_path: Path) -> None:
    result = evaluate(PROBE, context(tmp_path, APP.replace("STATUS", "200")))
    assert not result.passed
    assert result.summary == "Request 1 of 2: POST /items answered 200, not what this step needs."
    assert result.first_difference == "status: expected 201, got 200"
    assert "sent:      POST /items" in result.details
    assert any(line.startswith("your app:  200 in ") for line in result.details)


def test_code_http_names_the_learners_line_when_an_endpoint_raises(tmp_path: Path) -> None:
    source = APP.replace("STATUS", "201").replace("    return items[item_id]", "    return items[item_id + 1]")
    result = evaluate(PROBE, context(tmp_path, source))
    assert not result.passed
    assert "your code raised KeyError: 2 at app.py:13" in result.summary


PAGE = CodeHttpCheck.model_validate(
    {"kind": "code_http", "steps": [{"request": {"path": "/page"}, "expect": {"status": 200, "json": {"ids[0]": 1}}}]}
)
PAGE_APP = """
import os, sqlite3, tempfile
from fastapi import FastAPI
app = FastAPI()
PATH = os.path.join(tempfile.mkdtemp(), "books.db")
with sqlite3.connect(PATH) as connection:
    connection.execute("CREATE TABLE books (id INTEGER PRIMARY KEY)")
    connection.executemany("INSERT INTO books VALUES (?)", [(i,) for i in range(1, 11)])

@app.get("/page")
def page():
    connection = sqlite3.connect(PATH)
    return {"ids": [row[0] for row in connection.execute("SELECT id FROM books WHERE id > 0 LIMIT 3ORDER")]}
"""


def test_code_http_shows_an_order_that_was_only_luck(tmp_path: Path) -> None:
    """Without ORDER BY, SQLite returns a range of ids in whatever order its plan walks: the app's
    connections run with reverse_unordered_selects on, so a page that relied on it comes out reversed."""
    (tmp_path / "lucky").mkdir()
    (tmp_path / "ordered").mkdir()
    lucky = evaluate(PAGE, context(tmp_path / "lucky", PAGE_APP.replace("ORDER", "")))
    assert not lucky.passed
    assert lucky.first_difference is not None and "expected 1, got 10" in lucky.first_difference
    ordered = evaluate(PAGE, context(tmp_path / "ordered", PAGE_APP.replace("LIMIT 3ORDER", "ORDER BY id LIMIT 3")))
    assert ordered.passed, ordered.explain()


TESTS = '''
import app

def test_double():
    """double(4) should be 8: twice the number, not the number plus two."""
    assert app.double(4) == 8

def test_zero():
    """double(0) should be 0."""
    assert app.double(0) == 0
'''


def double_check(tmp_path: Path) -> CodeTestsCheck:
    (tmp_path / "test_double.py").write_text(textwrap.dedent(TESTS))
    return CodeTestsCheck.model_validate({"kind": "code_tests", "tests": "test_double.py"})


def test_code_tests_passes_a_right_module(tmp_path: Path) -> None:
    result = evaluate(double_check(tmp_path), context(tmp_path, "def double(n):\n    return n * 2\n"))
    assert result.passed, result.explain()
    assert result.summary == "All 2 tests pass against your code."


def test_code_tests_explains_the_first_failure_in_words(tmp_path: Path) -> None:
    result = evaluate(double_check(tmp_path), context(tmp_path, "def double(n):\n    return n + 2\n"))
    assert not result.passed
    assert result.summary == "Not yet: double(4) should be 8: twice the number, not the number plus two."
    assert result.details[0] == "what failed: assert 6 == 8"
    assert "Traceback" not in result.explain() and "====" not in result.explain()


def test_code_tests_reports_a_syntax_error_where_it_is(tmp_path: Path) -> None:
    result = evaluate(double_check(tmp_path), context(tmp_path, "def double(n)\n    return n * 2\n"))
    assert not result.passed
    assert "app.py" in result.explain()
