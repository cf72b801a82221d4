"""Generated probes catch code shaped to a check's script: each class of bug the fixed requests let
through, against a reference app, on real child processes.

- a cache that holds one book for every id (ids across the table);
- a cursor pasted into SQL with an f-string (quotes and SQL in a parameter);
- a page size with no upper bound (a parameter at and past its bounds);
- a token check that skips expiry (an expired token signed with the lesson's key);
- a login that says which users exist, by its words or by its time.
"""

from __future__ import annotations

import sqlite3
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tutor.checks import evaluate
from tutor.checks.base import CheckContext, CheckResult
from tutor.code.workspace import CodeEvidenceImpl, Workspace
from tutor.pack.checks import CodeHttpCheck

OPEN: list[CodeEvidenceImpl] = []
KEY = "the-lesson-signing-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def _close_evidence() -> Iterator[None]:
    yield
    while OPEN:
        OPEN.pop().close()


def _database(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT NOT NULL)")
    conn.executemany("INSERT INTO books VALUES (?, ?)", [(i, f"Book {i}") for i in range(1, 61)])
    conn.commit()
    conn.close()
    return path


BOOKS = """
import os, sqlite3
from fastapi import FastAPI, HTTPException, Query

app = FastAPI()

def db():
    return sqlite3.connect(os.environ["BACKEND_TUTOR_DB"])

CACHE = {}

@app.get("/books/{book_id}")
def book(book_id: int):
    if KEYED not in CACHE:
        row = db().execute("SELECT id, title FROM books WHERE id = ?", (book_id,)).fetchone()
        if row is None:
            raise HTTPException(404)
        CACHE[KEYED] = {"id": row[0], "title": row[1]}
    return CACHE[KEYED]

@app.get("/books")
def books(cursor: str = "0", limit: int = Query(10, ge=1, le=LIMIT)):
    if not cursor.isdecimal() or not cursor.isascii():
        raise HTTPException(400, "bad cursor")
    rows = db().execute(SQL).fetchall()
    return {"items": [{"id": r[0], "title": r[1]} for r in rows]}
"""

RIGHT_BOOKS = (
    BOOKS.replace("KEYED", "book_id")
    .replace("LIMIT", "50")
    .replace("SQL", '"SELECT id, title FROM books WHERE id > ? ORDER BY id LIMIT ?", (int(cursor), limit)')
)


def context(tmp_path: Path, learner: str, reference: str, environment: dict[str, str] | None = None) -> CheckContext:
    pack = tmp_path / "pack"
    (pack / "starter").mkdir(parents=True)
    (pack / "starter" / "app.py").write_text("from fastapi import FastAPI\napp = FastAPI()\n")
    (pack / "reference").mkdir()
    (pack / "reference" / "app.py").write_text(textwrap.dedent(reference))
    workspace = Workspace(tmp_path / "ws", pack / "starter")
    workspace.prepare()
    (workspace.root / "app.py").write_text(textwrap.dedent(learner))
    database = _database(tmp_path / "lesson.db")
    evidence = CodeEvidenceImpl(workspace, "app", pack, database, tmp_path / "copies", environment)
    OPEN.append(evidence)
    return CheckContext(code=evidence)


def check(ctx: CheckContext, probes: dict[str, Any], step: dict[str, Any] | None = None) -> CheckResult:
    spec = CodeHttpCheck.model_validate(
        {
            "kind": "code_http",
            "steps": [step or {"request": {"path": "/books/1"}, "expect": {"status": 200}}],
            "probes": {"reference": "reference", **probes},
        }
    )
    return evaluate(spec, ctx)


IDS = {"ids": {"path": "/books/{id}", "query": "SELECT id FROM books", "count": 3}, "compare": ["status", "body"]}


def test_a_cache_that_holds_one_book_is_caught_by_another_id(tmp_path: Path) -> None:
    one_entry = (
        BOOKS.replace("KEYED", "'the-book'")
        .replace("LIMIT", "50")
        .replace("SQL", '"SELECT id, title FROM books WHERE id > ? ORDER BY id LIMIT ?", (int(cursor), limit)')
    )
    result = check(context(tmp_path / "a", one_entry, RIGHT_BOOKS), IDS)
    assert not result.passed
    assert result.summary.startswith("For GET /books/")
    assert "your app's body is" in result.summary
    assert check(context(tmp_path / "b", RIGHT_BOOKS, RIGHT_BOOKS), IDS).passed


CURSOR = {"params": [{"path": "/books", "name": "cursor", "hostile": True}], "compare": ["status", "body"]}


def test_a_cursor_pasted_into_sql_is_caught_by_sql_in_the_parameter(tmp_path: Path) -> None:
    pasted = (
        BOOKS.replace("KEYED", "book_id")
        .replace("LIMIT", "50")
        .replace(
            '    if not cursor.isdecimal() or not cursor.isascii():\n        raise HTTPException(400, "bad cursor")\n',
            "",
        )
        .replace(
            "rows = db().execute(SQL).fetchall()",
            'rows = db().execute(f"SELECT id, title FROM books WHERE id > {cursor} ORDER BY id LIMIT {limit}")'
            ".fetchall()",
        )
    )
    pasted = pasted.replace("    rows = db()", "    try:\n        rows = db()").replace(
        ".fetchall()\n    return",
        ".fetchall()\n    except sqlite3.Error:\n        raise HTTPException(400)\n    return",
    )
    result = check(context(tmp_path, pasted, RIGHT_BOOKS), CURSOR)
    assert not result.passed, result.explain()
    assert result.summary.startswith("For GET /books?cursor=")


def test_a_page_size_without_a_bound_is_caught_past_the_bound(tmp_path: Path) -> None:
    unbounded = RIGHT_BOOKS.replace("le=50", "le=100000")
    probes = {"params": [{"path": "/books", "name": "limit", "bounds": [1, 50]}], "compare": ["status"]}
    result = check(context(tmp_path / "a", unbounded, RIGHT_BOOKS), probes)
    assert not result.passed
    assert "GET /books?limit=51" in result.summary and "a correct app answers 422" in result.summary
    assert check(context(tmp_path / "b", RIGHT_BOOKS, RIGHT_BOOKS), probes).passed


PAGE = {"sequences": [[{"method": "GET", "path": "/books", "query": {"limit": 5}}]], "compare": ["status", "vm_steps"]}


def test_a_page_read_whole_and_sliced_in_python_is_caught_by_its_work(tmp_path: Path) -> None:
    """Same answer, same one statement, a seek on the key: only the rows SQLite stepped through differ."""
    sliced = (
        RIGHT_BOOKS.replace(
            '"SELECT id, title FROM books WHERE id > ? ORDER BY id LIMIT ?", (int(cursor), limit)',
            '"SELECT id, title FROM books WHERE id > ? ORDER BY id", (int(cursor),)',
        )
        .replace("rows = db().execute(SQL).fetchall()", "")
        .replace(".fetchall()\n", ".fetchall()[:limit]\n")
    )
    assert "fetchall()[:limit]" in sliced
    result = check(context(tmp_path / "a", sliced, RIGHT_BOOKS), PAGE)
    assert not result.passed, result.explain()
    assert "steps of work for this request" in result.summary
    assert check(context(tmp_path / "b", RIGHT_BOOKS, RIGHT_BOOKS), PAGE).passed


BEHIND = {
    "sequences": [
        [
            {"method": "GET", "path": "/books", "query": {"limit": 3}},
            {"sql": "UPDATE books SET title = 'A new edition' WHERE id = 2"},
            {"method": "GET", "path": "/books", "query": {"limit": 3}},
        ]
    ],
    "compare": ["status", "json:items"],
}


def test_a_copy_read_at_start_up_is_caught_by_a_change_made_behind_the_app(tmp_path: Path) -> None:
    # RIGHT_BOOKS runs one query per request; this app reads every book once, when it starts
    snapshot = RIGHT_BOOKS.replace(
        'rows = db().execute("SELECT id, title FROM books WHERE id > ? ORDER BY id LIMIT ?", (int(cursor), limit))'
        ".fetchall()",
        "rows = [r for r in ALL if r[0] > int(cursor)][:limit]",
    )
    snapshot += '\nALL = db().execute("SELECT id, title FROM books ORDER BY id").fetchall()\n'
    assert "ALL if" in snapshot
    result = check(context(tmp_path / "a", snapshot, RIGHT_BOOKS), BEHIND)
    assert not result.passed, result.explain()
    assert "another client's `UPDATE books" in result.summary and "A new edition" in result.summary
    # a right app with another body around `items` (a cursor of its own) still agrees on `json:items`
    extra = RIGHT_BOOKS.replace('return {"items":', 'return {"next": "opaque", "items":')
    assert check(context(tmp_path / "b", extra, RIGHT_BOOKS), BEHIND).passed


def test_compare_items_are_checked_when_the_lesson_loads() -> None:
    from pydantic import ValidationError

    for bad in (["vm_steps:fast"], ["json:"], ["sql_statements:0.5"], ["rows"]):
        with pytest.raises(ValidationError):
            CodeHttpCheck.model_validate(
                {
                    "kind": "code_http",
                    "steps": [{"request": {"path": "/"}}],
                    "probes": {"reference": "r", **PAGE, "compare": bad},
                }
            )


AUTH = """
import os, time, jwt
from fastapi import FastAPI, Header, HTTPException

app = FastAPI()
KEY = os.environ["JWT_KEY"]

def refuse():
    return HTTPException(401, "log in again", headers={"WWW-Authenticate": "Bearer"})

@app.post("/login")
def login():
    now = int(time.time())
    return {"access_token": jwt.encode({"sub": "ada", "iat": now, "exp": now + 300}, KEY, algorithm="HS256")}

@app.get("/report")
def report(authorization: str = Header("")):
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise refuse()
    try:
        jwt.decode(token, KEY, algorithms=["HS256"]OPTIONS)
    except jwt.PyJWTError:
        raise refuse()
    return {"report": "numbers"}
"""

TOKENS = {"tokens": {"path": "/report", "login": {"method": "POST", "path": "/login"}, "key_env": "JWT_KEY"}}


def test_a_token_check_that_skips_expiry_is_caught_by_an_expired_token(tmp_path: Path) -> None:
    right = AUTH.replace("OPTIONS", "")
    skips = AUTH.replace("OPTIONS", ', options={"verify_exp": False}')
    step = {"request": {"method": "POST", "path": "/login"}, "expect": {"status": 200}}
    env = {"JWT_KEY": KEY}
    result = check(context(tmp_path / "a", skips, right, env), TOKENS, step)
    assert not result.passed
    assert result.summary.startswith("For GET /report with a token that expired an hour ago: your app answered 200")
    assert check(context(tmp_path / "b", right, right, env), TOKENS, step).passed


def test_a_long_leeway_is_caught_by_a_token_that_expired_minutes_ago(tmp_path: Path) -> None:
    """A leeway of 50 minutes passes the default expired token (an hour old) but not one five minutes
    old; a minute's leeway, the small one RFC 7519 allows, passes both."""
    right = AUTH.replace("OPTIONS", ", leeway=60")
    long = AUTH.replace("OPTIONS", ", leeway=50 * 60")
    step = {"request": {"method": "POST", "path": "/login"}, "expect": {"status": 200}}
    env = {"JWT_KEY": KEY}
    five_minutes = {"tokens": {**TOKENS["tokens"], "expired_seconds": 300}}
    assert check(context(tmp_path / "a", long, right, env), TOKENS, step).passed
    result = check(context(tmp_path / "b", long, right, env), five_minutes, step)
    assert not result.passed
    assert "a token that expired 5 minutes ago: your app answered 200" in result.summary
    assert check(context(tmp_path / "c", right, right, env), five_minutes, step).passed


LOGIN = """
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError
from fastapi import FastAPI, HTTPException

app = FastAPI()
# a real cost (argon2id, 64 MiB, 3 passes): a busy machine's noise stays small beside it
hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=1)
USERS = {"ada": hasher.hash("correct horse")}
DUMMY = hasher.hash("not anybody's password")

@app.post("/login")
def login(body: dict):
    stored = USERS.get(body.get("username"))
    UNKNOWN
    try:
        hasher.verify(stored or DUMMY, body.get("password", ""))
    except VerifyMismatchError:
        raise HTTPException(401, WRONG)
    if stored is None:
        raise HTTPException(401, "wrong username or password")
    return {"access_token": "t"}
"""

ENUMERATION = {"login": {"path": "/login", "known_user": "ada", "repeat": 5}}


def test_a_login_that_tells_which_users_exist_is_caught(tmp_path: Path) -> None:
    right = LOGIN.replace("UNKNOWN", "").replace("WRONG", '"wrong username or password"')
    words = LOGIN.replace("UNKNOWN", 'if stored is None: raise HTTPException(401, "no such user")').replace(
        "WRONG", '"wrong password"'
    )
    quick = LOGIN.replace(
        "UNKNOWN", 'if stored is None: raise HTTPException(401, "wrong username or password")'
    ).replace("WRONG", '"wrong username or password"')
    step = {"request": {"method": "POST", "path": "/login", "json": {"username": "ada", "password": "correct horse"}}}
    by_words = check(context(tmp_path / "a", words, right), ENUMERATION, step)
    assert not by_words.passed and "the words tell which users exist" in by_words.summary
    by_time = check(context(tmp_path / "b", quick, right), ENUMERATION, step)
    assert not by_time.passed and "the time tells which users exist" in by_time.summary, by_time.explain()
    assert check(context(tmp_path / "c", right, right), ENUMERATION, step).passed


MIGRATION = """
import os, sqlite3
from fastapi import FastAPI

app = FastAPI()
setup = sqlite3.connect(os.environ["BACKEND_TUTOR_DB"])
setup.execute("CREATE INDEX IFNOT books_title ON books(title)")
setup.close()

@app.get("/books/{book_id}")
def book(book_id: int):
    conn = sqlite3.connect(os.environ["BACKEND_TUTOR_DB"])
    row = conn.execute("SELECT id, title FROM books WHERE id = ?", (book_id,)).fetchone()
    conn.close()
    return {"id": row[0], "title": row[1]}
"""


def test_start_up_code_must_be_safe_to_run_twice(tmp_path: Path) -> None:
    spec = CodeHttpCheck.model_validate(
        {
            "kind": "code_http",
            "steps": [
                {"request": {"path": "/books/1"}, "expect": {"status": 200}},
                {"restart_before": True, "request": {"path": "/books/2"}, "expect": {"status": 200}},
            ],
        }
    )
    once = context(tmp_path / "a", MIGRATION.replace("IFNOT ", ""), RIGHT_BOOKS)
    result = evaluate(spec, once)
    assert not result.passed and "already exists" in result.explain()
    twice = context(tmp_path / "b", MIGRATION.replace("IFNOT", "IF NOT EXISTS"), RIGHT_BOOKS)
    assert evaluate(spec, twice).passed


def test_the_reference_answers_are_kept_for_the_next_check_and_dropped_when_it_changes(tmp_path: Path) -> None:
    """The second check of a step starts only the learner's app (the reference's answers to the same
    probes on a fresh copy are the same); a changed reference folder is asked again."""
    ctx = context(tmp_path, RIGHT_BOOKS, RIGHT_BOOKS)
    code = ctx.code
    assert isinstance(code, CodeEvidenceImpl)
    starts: list[str] = []
    start_reference = code.start_reference

    def counted(folder: str) -> Any:
        starts.append(folder)
        return start_reference(folder)

    code.start_reference = counted  # type: ignore[method-assign]
    assert check(ctx, IDS).passed
    assert check(ctx, IDS).passed
    assert starts == ["reference"]
    # the reference now answers another title: kept answers of the old one must not be used
    reference = tmp_path / "pack" / "reference" / "app.py"
    reference.write_text(textwrap.dedent(RIGHT_BOOKS).replace('"title": row[1]', '"title": row[1].upper()') + "\n")
    result = check(ctx, IDS)
    assert starts == ["reference", "reference"]
    assert not result.passed and "body" in result.summary


def test_answers_are_not_kept_when_the_apps_share_a_sandbox(tmp_path: Path) -> None:
    ctx = context(tmp_path, RIGHT_BOOKS, RIGHT_BOOKS)
    code = ctx.code
    assert isinstance(code, CodeEvidenceImpl)
    code.keep_reference_answers = False
    starts: list[str] = []
    start_reference = code.start_reference
    code.start_reference = lambda folder: starts.append(folder) or start_reference(folder)  # type: ignore[method-assign]
    assert check(ctx, IDS).passed
    assert check(ctx, IDS).passed
    assert starts == ["reference", "reference"]
