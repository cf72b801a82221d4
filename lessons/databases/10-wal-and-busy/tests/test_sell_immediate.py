"""Two sales at once. Each test's docstring is what a learner reads when it fails."""

import os
import sqlite3
import threading
import time

import app

DB = os.environ["BACKEND_TUTOR_DB"]


def other_connection() -> sqlite3.Connection:
    """Another worker selling at the same moment: a connection of its own, not the app's code."""
    return sqlite3.connect(DB, isolation_level=None, timeout=10, check_same_thread=False)


def set_copies(book_id: int, value: int) -> None:
    with other_connection() as conn:
        conn.execute("UPDATE inventory SET copies = ? WHERE id = ?", (value, book_id))


def copies(book_id: int) -> int:
    with other_connection() as conn:
        return conn.execute("SELECT copies FROM inventory WHERE id = ?", (book_id,)).fetchone()[0]


def test_the_database_is_still_in_wal_mode():
    """connect() must still put the file in WAL mode with a busy timeout of a few seconds (1 to 30),
    as in the last step."""
    conn = app.connect()
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    timeout_ms = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.close()
    assert mode == "wal" and 1000 <= timeout_ms <= 30000, f"journal_mode {mode!r}, busy timeout {timeout_ms} ms"


def test_a_sale_during_another_sale():
    """Another worker takes the write lock, and sells a copy of book 1 while sell() runs; it commits
    just after sell() has read the copies (or after 0.3 s, if sell() waits before reading). Both sales
    must count, and sell() must not fail with 'database is locked': take the write lock before reading
    (BEGIN IMMEDIATE), so the read is never stale."""
    set_copies(1, 10)
    other = other_connection()
    other.execute("BEGIN IMMEDIATE")
    conn = app.connect()
    has_read = threading.Event()
    # The moment sell() starts reading (a statement that begins with SELECT), seen by the checker.
    conn.set_trace_callback(lambda sql: has_read.set() if sql.lstrip().upper().startswith("SELECT") else None)

    def other_sale() -> None:
        if has_read.wait(0.3):
            time.sleep(0.1)  # sell() has its snapshot of the copies; now the other sale commits
        other.execute("UPDATE inventory SET copies = copies - 1 WHERE id = 1")
        other.execute("COMMIT")

    worker = threading.Thread(target=other_sale)
    worker.start()
    try:
        left = app.sell(conn, 1)
    finally:
        worker.join()
        conn.close()
        other.close()
    assert copies(1) == 8, f"two sales of 10 copies left {copies(1)} (sell() answered {left})"
    assert left == 8, f"sell() answered {left} copies left; the other sale came first, so 8 are left"


def test_many_sales_at_once():
    """Eight workers sell book 1 ten times each, all at once: all 80 sales must succeed and count."""
    set_copies(1, 1000)
    failures: list[str] = []
    answers: list[object] = []

    def worker() -> None:
        conn = app.connect()
        try:
            for _ in range(10):
                try:
                    answers.append(app.sell(conn, 1))
                except sqlite3.Error as exc:
                    failures.append(str(exc))
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, f"{len(failures)} of 80 sales failed, the first with: {failures[0]}"
    assert None not in answers, f"{answers.count(None)} of 80 sales answered 'sold out' with copies left"
    assert copies(1) == 920, f"80 sales of 1,000 copies left {copies(1)}"


def test_never_sells_what_is_not_there():
    """Eight workers try to sell 2 copies each of a book with 5 left: exactly 5 sales succeed, the
    others answer sold out (None), and the stock ends at 0, never below."""
    set_copies(2, 5)
    answers: list[object] = []
    failures: list[str] = []

    def worker() -> None:
        conn = app.connect()
        try:
            for _ in range(2):
                try:
                    answers.append(app.sell(conn, 2))
                except sqlite3.Error as exc:
                    failures.append(str(exc))
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, f"{len(failures)} sales failed, the first with: {failures[0]}"
    sold = [a for a in answers if a is not None]
    assert len(sold) == 5 and copies(2) == 0, f"{len(sold)} sales succeeded, {copies(2)} copies left"
