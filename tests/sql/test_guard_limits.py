"""SQLite's own limits on the learner's connection: huge values and a runaway database are refused at
once with a plain message, memory stays bounded, and the connection stays usable."""

from __future__ import annotations

import resource
import sqlite3
import time
from pathlib import Path

import pytest

from sandboxes.sql.guard import MAX_GROWTH_BYTES, MAX_VALUE_BYTES, GuardedConnection


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


def test_functions_that_reach_memory_are_refused(db: Path) -> None:
    conn = GuardedConnection(str(db), time_limit=5.0)
    result = conn.run("SELECT hex(fts3_tokenizer('simple'))")  # a heap address, on builds that enable it
    assert result.error is not None
    assert (
        result.error.error
        == "not authorized: fts3_tokenizer() is not allowed here: it reads and writes the tutor's memory"
    )
    assert conn.run("SELECT count(*) FROM books").last.rows == [(100,)]


def test_a_scratch_database_may_grow_as_far_as_the_temporary_one(db: Path) -> None:
    conn = GuardedConnection(str(db), time_limit=20.0)
    assert conn.run("ATTACH '' AS scratch").ok
    assert conn.run("PRAGMA scratch.max_page_count").last.rows == [(MAX_GROWTH_BYTES // 4096,)]
    result = conn.run(
        "CREATE TABLE scratch.t AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 40)"
        " SELECT zeroblob(9000000) AS b FROM c"
    )
    assert result.error is not None and "may not grow past" in (result.error.error or "")


def test_rows_past_eight_megabytes_are_counted_not_kept(db: Path) -> None:
    conn = GuardedConnection(str(db), time_limit=20.0)
    before = _peak_rss_mb()
    result = conn.run(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100) SELECT x, zeroblob(9000000) FROM c"
    )
    shown = result.last
    assert result.ok and shown is not None and shown.total_rows == 100 and len(shown.rows) == 1
    assert _peak_rss_mb() - before < 100  # 900 MB before: every row was kept up to 1,000
    small = conn.run("SELECT id FROM books").last
    assert small is not None and len(small.rows) == small.total_rows == 100
