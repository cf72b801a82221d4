"""SQLite's own limits on the learner's connection: huge values and a runaway database are refused at
once with a plain message, memory stays bounded, and the connection stays usable."""

from __future__ import annotations

import resource
import sqlite3
import time
from pathlib import Path

import pytest

from sandboxes.sql.guard import MAX_VALUE_BYTES, GuardedConnection


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "lesson.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT)")
        conn.executemany("INSERT INTO books (title) VALUES (?)", [(f"Book {i}",) for i in range(100)])
    return path


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def test_a_gigabyte_blob_is_refused_at_once_and_memory_stays_bounded(db: Path) -> None:
    conn = GuardedConnection(str(db), time_limit=5.0)
    before = _peak_rss_mb()
    started = time.perf_counter()
    result = conn.run("SELECT randomblob(1000000000)")
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5
    failed = result.error
    assert failed is not None and failed.error is not None
    assert failed.error.startswith("refused: one value may be at most 10 MB")
    assert _peak_rss_mb() - before < 100
    assert conn.run("SELECT count(*) FROM books").last.rows == [(100,)]  # still usable


def test_a_value_grown_step_by_step_stops_at_the_limit(db: Path) -> None:
    conn = GuardedConnection(str(db), time_limit=120.0)  # the size limit, not the clock, must stop it
    sql = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 5000000) "
        "SELECT length(group_concat(printf('%0100d', x))) FROM c"
    )
    result = conn.run(sql)
    assert result.error is not None and "refused" in (result.error.error or "")
    assert conn.run(f"SELECT length(zeroblob({MAX_VALUE_BYTES - 1}))").ok


def test_the_lesson_database_may_not_fill_the_disk(db: Path) -> None:
    size = db.stat().st_size
    conn = GuardedConnection(str(db), time_limit=5.0, max_db_bytes=size + 2_000_000)
    result = conn.run(
        "CREATE TABLE filler AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 1000) "
        "SELECT x, zeroblob(10000) AS b FROM c"
    )
    assert result.error is not None
    assert "may not grow past" in (result.error.error or "")
    assert db.stat().st_size < size + 2_100_000
    assert conn.run("SELECT count(*) FROM books").last.rows == [(100,)]
    assert conn.run("INSERT INTO books (title) VALUES ('small is fine')").ok


def test_the_learner_cannot_lift_the_cap(db: Path) -> None:
    conn = GuardedConnection(str(db), time_limit=5.0)
    result = conn.run("PRAGMA max_page_count = 2000000000")
    assert result.error is not None and "may be read here but not set" in (result.error.error or "")


def test_an_overlong_statement_is_refused(db: Path) -> None:
    conn = GuardedConnection(str(db), time_limit=5.0)
    result = conn.run("SELECT " + "1 + " * 300_000 + "1")
    assert result.error is not None and (result.error.error or "").startswith("refused:")
    assert conn.run("SELECT 1").ok


def test_a_syntax_error_points_at_the_token_where_parsing_stopped(db: Path) -> None:
    conn = GuardedConnection(str(db), time_limit=5.0)
    sql = "CREATE INDEX ix_a ON books(title)CREATE INDEX ix_b ON books(id)"
    result = conn.run(sql)
    assert result.error is not None and 'near "CREATE"' in (result.error.error or "")
    assert result.error.where == f"statement 1, line 1, column {sql.index('CREATE', 1) + 1}"
    two_lines = "SELECT title\nFROM books WHERE id = 1 SELECT 2"
    result = conn.run(two_lines)
    assert result.error is not None and result.error.where == "statement 1, line 2, column 25"
