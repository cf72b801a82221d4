"""`code_own_tests`: the learner's own pytest file, run for real against a right app and against apps with one
bug each. A file that catches every bug passes; one that misses a bug, breaks at import, fails on the right
app, breaks instead of asserting, leans on test order or writes into the shared database is told so."""

from __future__ import annotations

import sqlite3
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pack.helpers import problems, write_pack
from tutor.checks import evaluate
from tutor.checks.base import CheckContext, CheckResult
from tutor.code.workspace import CodeEvidenceImpl, Workspace
from tutor.pack.checks import CodeOwnTestsCheck

OPEN: list[CodeEvidenceImpl] = []


@pytest.fixture(autouse=True)
def _close_evidence() -> Iterator[None]:
    yield
    while OPEN:
        OPEN.pop().close()


APP = """
import os
import sqlite3

from fastapi import FastAPI, HTTPException, Query

app = FastAPI()


def db():
    return sqlite3.connect(os.environ["BACKEND_TUTOR_DB"])


@app.get("/books/{book_id}")
def book(book_id: int):
    row = db().execute("SELECT id, title FROM books WHERE id = ?", (book_id,)).fetchone()
    if row is None:
        raise HTTPException(404, "no such book")
    return {"id": row[0], "title": row[1]}


@app.get("/books")
def books(limit: int = Query(10, ge=1, le=50)):
    rows = db().execute("SELECT id FROM books ORDER BY id LIMIT ?", (limit,)).fetchall()
    return {"items": [r[0] for r in rows]}


@app.post("/books", status_code=201)
def add(body: dict):
    connection = db()
    cursor = connection.execute("INSERT INTO books (title) VALUES (?)", (body["title"],))
    connection.commit()
    return {"id": cursor.lastrowid}
"""
BUG_MISSING = APP.replace('raise HTTPException(404, "no such book")', 'return {"id": book_id, "title": None}')
BUG_LIMIT = APP.replace("ge=1, le=50", "ge=1")

FIXTURE = """
import os
import shutil

import pytest
from fastapi.testclient import TestClient

import app


@pytest.fixture
def client(tmp_path, monkeypatch):
    copy = tmp_path / "books.db"
    shutil.copyfile(os.environ["BACKEND_TUTOR_DB"], copy)
    monkeypatch.setenv("BACKEND_TUTOR_DB", str(copy))
    return TestClient(app.app)
"""
GOOD = (
    FIXTURE
    + '''

def test_a_missing_book_is_404(client):
    """A book that does not exist answers 404."""
    assert client.get("/books/999999").status_code == 404


def test_a_limit_past_50_is_refused(client):
    assert client.get("/books", params={"limit": 51}).status_code == 422


def test_a_book_added_can_be_read(client):
    made = client.post("/books", json={"title": "New"})
    assert made.status_code == 201
    assert client.get(f"/books/{made.json()['id']}").json()["title"] == "New"
'''
)
MISSES_LIMIT = (
    FIXTURE
    + """

def test_a_missing_book_is_404(client):
    assert client.get("/books/999999").status_code == 404


def test_the_list_answers(client):
    assert client.get("/books", params={"limit": 5}).status_code == 200
"""
)
BREAKS_AT_IMPORT = "import app\nfrom app import no_such_name\n\n\ndef test_it():\n    assert True\n"
FAILS_ON_REFERENCE = (
    FIXTURE
    + '''

def test_book_one_is_missing(client):
    """Book 1 is not there (it is)."""
    assert client.get("/books/1").status_code == 404
'''
)
BREAKS_INSTEAD_OF_ASSERTING = (
    FIXTURE
    + """

def test_a_missing_book_has_no_title(client):
    body = client.get("/books/999999").json()
    assert body["detail"]


def test_a_limit_past_50_is_refused(client):
    assert client.get("/books", params={"limit": 51}).status_code == 422
"""
)
SHARED_DATABASE = """
from fastapi.testclient import TestClient

import app

client = TestClient(app.app)


def test_1_add(client=client):
    assert client.post("/books", json={"title": "New"}).json()["id"] == 4


def test_2_read_it(client=client):
    assert client.get("/books/4").status_code == 200
    assert client.get("/books/999999").status_code == 404
    assert client.get("/books", params={"limit": 51}).status_code == 422
"""
ORDER_DEPENDENT = """
import os
import shutil

import pytest
from fastapi.testclient import TestClient

import app


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    copy = tmp_path_factory.mktemp("db") / "books.db"
    shutil.copyfile(os.environ["BACKEND_TUTOR_DB"], copy)
    os.environ["BACKEND_TUTOR_DB"] = str(copy)
    return TestClient(app.app)


def test_1_add(client):
    assert client.post("/books", json={"title": "New"}).json()["id"] == 4


def test_2_read_it(client):
    assert client.get("/books/4").status_code == 200
    assert client.get("/books/999999").status_code == 404
    assert client.get("/books", params={"limit": 51}).status_code == 422
"""
WRONG_PATH = (
    FIXTURE
    + """

def test_a_missing_book_is_404(client):
    assert client.get("/books/999999").status_code == 404


def test_the_first_book_is_book_one(client):
    assert client.get("/books/1").json()["id"] == 1
    assert client.get("/books/1").status_code == 201
"""
)


def context(tmp_path: Path, tests: str) -> CheckContext:
    pack = tmp_path / "pack"
    for name, text in (("starter", APP), ("reference", APP), ("bug-missing", BUG_MISSING), ("bug-limit", BUG_LIMIT)):
        (pack / name).mkdir(parents=True)
        (pack / name / "app.py").write_text(textwrap.dedent(text))
    (pack / "starter" / "tests").mkdir()
    (pack / "starter" / "tests" / "test_books.py").write_text(textwrap.dedent(tests))
    database = tmp_path / "books.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT NOT NULL)")
        connection.executemany("INSERT INTO books (title) VALUES (?)", [("A",), ("B",), ("C",)])
    connection.close()
    workspace = Workspace(tmp_path / "ws", pack / "starter")
    workspace.prepare()
    evidence = CodeEvidenceImpl(workspace, "app", pack, database)
    OPEN.append(evidence)
    return CheckContext(code=evidence)


SPEC = CodeOwnTestsCheck.model_validate(
    {
        "kind": "code_own_tests",
        "tests": "tests/test_*.py",
        "reference": "reference",
        "bugs": [
            {
                "files": "bug-missing",
                "description": "an unknown book answers 200 instead of 404",
                "path": "/books/{id}",
            },
            {"files": "bug-limit", "description": "a limit of 51 or more is served", "method": "GET", "path": "/books"},
        ],
    }
)


def check(tmp_path: Path, tests: str) -> CheckResult:
    return evaluate(SPEC, context(tmp_path, tests))


def test_tests_that_catch_every_bug_pass(tmp_path: Path) -> None:
    result = check(tmp_path, GOOD)
    assert result.passed, result.explain()
    assert result.summary == "Your 3 tests pass on the correct app and catch all 2 planted bugs."


def test_tests_that_miss_a_bug_are_told_which_in_the_packs_words(tmp_path: Path) -> None:
    result = check(tmp_path, MISSES_LIMIT)
    assert not result.passed and result.judged
    assert result.summary == "Your tests still pass when a limit of 51 or more is served."
    assert "(Your tests caught 1 of the 2 bugs the tutor planted.)" in result.details


def test_a_file_that_breaks_at_import_is_not_judged_and_says_where(tmp_path: Path) -> None:
    result = check(tmp_path, BREAKS_AT_IMPORT)
    assert not result.passed and not result.judged
    assert result.summary.startswith("pytest could not load your tests (tests/test_books.py")
    assert "no_such_name" in result.summary


def test_a_test_that_fails_on_the_right_app_is_wrong(tmp_path: Path) -> None:
    result = check(tmp_path, FAILS_ON_REFERENCE)
    assert not result.passed
    assert result.summary == (
        "Your tests fail against a correct app: test_book_one_is_missing (Book 1 is not there (it is).)."
    )
    assert result.details[0].startswith("It failed by its assert at tests/test_books.py:")
    assert result.details[0].endswith(": assert 200 == 404")  # the assert's first line, not pytest's where-lines


def test_a_test_that_breaks_on_the_bug_instead_of_asserting_does_not_catch_it(tmp_path: Path) -> None:
    result = check(tmp_path, BREAKS_INSTEAD_OF_ASSERTING)
    assert not result.passed
    assert result.summary.startswith(
        "When an unknown book answers 200 instead of 404, test_a_missing_book_has_no_title broke with KeyError at "
        "tests/test_books.py:"
    )


def test_tests_that_write_into_the_shared_database_are_refused(tmp_path: Path) -> None:
    result = check(tmp_path, SHARED_DATABASE)
    assert not result.passed
    assert result.summary.startswith("Your tests pass, but they wrote into the lesson's database itself")


def test_tests_that_lean_on_their_order_fail_when_reversed(tmp_path: Path) -> None:
    result = check(tmp_path, ORDER_DEPENDENT)
    assert not result.passed
    assert result.summary == (
        "Your tests pass in the order you wrote them, but test_2_read_it fails when they run last to first: it "
        "leans on what another test left behind."
    )


def test_a_failure_away_from_the_bugs_path_does_not_catch_it(tmp_path: Path) -> None:
    spec = SPEC.model_copy(update={"bugs": SPEC.bugs[1:], "reverse_order": False})
    # the limit bug: a test that fails by an assert on /books/1 (as it also does on the reference) is refused first
    assert not evaluate(spec, context(tmp_path / "a", WRONG_PATH)).passed
    only_path = WRONG_PATH.replace('    assert client.get("/books/1").status_code == 201\n', "")
    bugged = only_path.replace("def test_the_first_book_is_book_one(client):", "def test_the_first_book(client):")
    bugged += '\n\ndef test_bug_only(client):\n    import app\n    assert "ge=1)" not in open(app.__file__).read()\n'
    result = evaluate(spec, context(tmp_path / "b", bugged))
    assert not result.passed
    assert result.summary.startswith(
        "When a limit of 51 or more is served, test_bug_only failed, but it never sent a request to GET /books"
    )


def test_the_pack_format_places_its_errors(tmp_path: Path) -> None:
    lesson = """\
id: own
title: Own tests
track: http
build:
  starter: http/own/starter
steps:
  - id: tests
    title: Tests
    text: Write tests.
    check:
      kind: code_own_tests
      tests: ../test_*.py
      reference: http/own/gone
      bugs:
        - {files: http/own/bug, description: a bug}
    hints: [Write one.]
    solution:
      files: http/own/starter
"""

    def pack(folder: Path, text: str) -> Path:
        root = write_pack(folder, {"http/01-own.yaml": text})
        (root / "http" / "own" / "starter").mkdir(parents=True)
        (root / "http" / "own" / "starter" / "app.py").write_text("app = None\n")
        return root

    found = problems(pack(tmp_path / "one", lesson))
    assert found == [
        "http/01-own.yaml:12:14: `tests` is a glob inside the learner's workspace: no absolute path, no '..'"
    ]
    found = problems(pack(tmp_path / "two", lesson.replace("../test_*.py", "t/*.py")))
    assert "http/01-own.yaml:13:18: folder not found: 'http/own/gone' (paths are relative to the pack folder)" in found
    assert "http/01-own.yaml:15:19: folder not found: 'http/own/bug' (paths are relative to the pack folder)" in found


READS_THE_SOURCE = (
    FIXTURE
    + """

def test_book_one_is_there(client):
    assert client.get("/books/1").status_code == 200


def test_a_book_added_can_be_read(client):
    made = client.post("/books", json={"title": "New"})
    assert client.get(f"/books/{made.json()['id']}").json()["title"] == "New"


def test_the_app_is_the_one_i_know(client):
    import hashlib

    client.get("/books/999999")
    client.get("/books", params={"limit": 51})
    with open(app.__file__, "rb") as source:
        assert hashlib.sha256(source.read()).hexdigest() == REFERENCE
"""
)


def test_a_test_that_notices_the_changed_file_and_not_an_answer_does_not_catch_the_bug(tmp_path: Path) -> None:
    """It passes on the right app and fails by an assert on each bugged copy after a request to the bug's path,
    but it fails just as well when those copies are answered by the right app: it read the file, not the API."""
    import hashlib

    reference = hashlib.sha256(textwrap.dedent(APP).encode()).hexdigest()
    result = check(tmp_path, READS_THE_SOURCE.replace("REFERENCE", repr(reference)))
    assert not result.passed
    assert result.summary.startswith(
        "When an unknown book answers 200 instead of 404, test_the_app_is_the_one_i_know failed, but it fails as "
        "well when that copy's requests are answered the correct way"
    ), result.explain()


ASYNC_WITH_ANYIO = """
import os
import shutil

import httpx
import pytest

import app


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def copy(tmp_path, monkeypatch):
    path = tmp_path / "books.db"
    shutil.copyfile(os.environ["BACKEND_TUTOR_DB"], path)
    monkeypatch.setenv("BACKEND_TUTOR_DB", str(path))


@pytest.mark.anyio
async def test_a_missing_book_is_404(copy):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.app), base_url="http://test") as client:
        assert (await client.get("/books/999999")).status_code == 404


@pytest.mark.anyio
async def test_a_limit_past_50_is_refused(copy):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.app), base_url="http://test") as client:
        assert (await client.get("/books", params={"limit": 51})).status_code == 422
"""


def test_async_tests_with_anyios_marker_run(tmp_path: Path) -> None:
    result = check(tmp_path, ASYNC_WITH_ANYIO)
    assert result.passed, result.explain()
