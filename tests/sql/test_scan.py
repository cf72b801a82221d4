"""The static scan `pack validate` uses says what the guard refuses when the statement runs: the two
agree on hostile and harmless statements alike, and the scan points at the token."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sandboxes.sql.guard import GuardedConnection
from sandboxes.sql.scan import refusals

STATEMENTS = [
    ("ATTACH DATABASE 'elsewhere.db' AS o", True),
    ("ATTACH 'file:elsewhere.db?mode=rwc' AS o", True),
    ("ATTACH '' AS scratch", False),
    ("DETACH DATABASE main", True),
    ("VACUUM INTO 'copy.db'", True),
    ("VACUUM", False),
    ("SELECT load_extension('evil')", True),
    ("SELECT \"load_extension\"('evil')", True),
    ("SELECT hex(fts3_tokenizer('simple'))", True),
    ("SELECT rtreenode(2, x'00')", True),
    ("SELECT rtreedepth(x'00')", True),
    ("PRAGMA writable_schema = ON", True),
    ("PRAGMA journal_mode = WAL", True),
    ("PRAGMA main.max_page_count = 2000000000", True),
    ("PRAGMA cache_size", False),
    ("PRAGMA table_info(books)", False),
    ("PRAGMA foreign_keys = ON", False),
    ("SELECT * FROM pragma_table_info('books')", False),
    ("SELECT 'ATTACH x', \"vacuum\" FROM books -- VACUUM INTO 'y'", False),
    ("CREATE TABLE fts3_tokenizer_log(a)", False),
    ("SELECT count(*) FROM books", False),
]


@pytest.mark.parametrize(("sql", "refused"), STATEMENTS)
def test_the_scan_and_the_guard_agree(tmp_path: Path, sql: str, refused: bool) -> None:
    db = tmp_path / "lesson.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT)")
    guarded = GuardedConnection(str(db), time_limit=2.0)
    try:
        error = guarded.run(sql).error
    finally:
        guarded.close()
    denied_when_run = error is not None and (error.error or "").startswith("not authorized")
    assert denied_when_run == refused, error
    assert bool(refusals(sql, "learner")) == refused


def test_the_scan_points_at_the_token_in_a_script() -> None:
    script = (
        "CREATE TABLE t(a);\n-- ATTACH in a comment\nINSERT INTO t VALUES ('VACUUM INTO x');\n  vacuum  into 'x.db';"
    )
    found = refusals(script, "setup")
    assert [(f.token, script[: f.offset].count("\n") + 1) for f in found] == [("vacuum", 4)]
    assert script[found[0].offset :].startswith("vacuum  into")
