"""Readers and writers at once. Each test's docstring is what a learner reads when it fails."""

import os
import sqlite3
import threading
import time

import app

DB = os.environ["BACKEND_TUTOR_DB"]


def other_connection() -> sqlite3.Connection:
    """Another client of the same database file (a report, a second worker): not the app's code."""
    return sqlite3.connect(DB, isolation_level=None, timeout=10, check_same_thread=False)


def copies(book_id: int = 1) -> int:
    with other_connection() as conn:
        return conn.execute("SELECT copies FROM inventory WHERE id = ?", (book_id,)).fetchone()[0]


def test_a_reader_does_not_block_a_write():
    """While another connection reads inside an open transaction (a long report), a write through
    connect() must commit at once: in the rollback journal it cannot commit until the reader is done,
    in WAL mode it can."""
    conn = app.connect()
    reader = other_connection()
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM inventory").fetchone()  # the reader now holds its snapshot
    outcome: list[object] = []

    def write() -> None:
        try:
            conn.execute("UPDATE inventory SET copies = copies + 1 WHERE id = 2")
            outcome.append("committed")
        except sqlite3.Error as exc:
            outcome.append(exc)

    writer = threading.Thread(target=write)
    started = time.monotonic()
    writer.start()
    writer.join(2.0)
    waited = time.monotonic() - started
    reader.execute("COMMIT")  # the report ends: a writer that waited for it can go on now
    writer.join(15)
    conn.close()
    reader.close()
    failed = outcome and outcome[0] != "committed"
    what = f"failed: {outcome[0]}" if failed else "waited for the reader"
    mode = sqlite3.connect(DB).execute("PRAGMA journal_mode").fetchone()[0]
    assert outcome and outcome[0] == "committed" and waited < 2.0, (
        f"the write through connect() {what} (journal_mode of the file: {mode})"
    )


def test_wal_is_kept_in_the_file():
    """After connect(), the database file itself must be in WAL mode: a new connection that sets
    nothing reads PRAGMA journal_mode as 'wal'."""
    app.connect().close()
    with sqlite3.connect(DB) as fresh:
        mode = fresh.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal", f"a new connection reads journal_mode = {mode!r}"


def test_a_writer_waits_for_the_lock():
    """While another connection holds the write lock for a moment (0.3 s), a write through connect()
    must wait for it and succeed, not fail at once with 'database is locked': give the connection a
    busy timeout (a few seconds)."""
    conn = app.connect()
    holder = other_connection()
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        conn.execute("UPDATE inventory SET copies = copies + 1 WHERE id = 2")
    finally:
        release.join()
        conn.close()
        holder.close()


def test_the_busy_timeout_is_a_few_seconds():
    """The busy timeout must be a few seconds, from 1 to 30: shorter, a busy moment (many sales
    queued for the one write lock) outlasts it; forever, a request stuck behind a lock ties up a
    worker, where after a bounded wait the app can answer 503 and the client retry."""
    conn = app.connect()
    timeout_ms = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.close()
    assert 1000 <= timeout_ms <= 30000, f"this connection's busy timeout is {timeout_ms} ms"
