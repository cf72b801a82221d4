"""The shop's stock API: every sale reads the copies left, decides, and writes, from many requests at once."""

import os
import sqlite3

from fastapi import FastAPI, HTTPException

DB = os.environ.get("BACKEND_TUTOR_DB", "shop.db")


def connect() -> sqlite3.Connection:
    """A new connection, one per request (or per worker thread)."""
    # isolation_level=None: no hidden BEGIN; the code below says where each transaction starts and ends.
    conn = sqlite3.connect(DB, isolation_level=None, timeout=0, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 5000")  # wait up to 5 s for a lock, then 'database is locked'
    conn.execute("PRAGMA journal_mode = WAL")  # kept in the file: readers no longer block the writer
    return conn


def sell(conn: sqlite3.Connection, book_id: int) -> int | None:
    """Sell one copy of book_id: the copies left afterwards, or None when it is sold out (or unknown)."""
    conn.execute("BEGIN DEFERRED")  # the write lock first: no other sale can change copies under us
    try:
        row = conn.execute("SELECT copies FROM inventory WHERE id = ?", (book_id,)).fetchone()
        if row is None or row[0] < 1:
            conn.execute("ROLLBACK")
            return None
        conn.execute("UPDATE inventory SET copies = ? WHERE id = ?", (row[0] - 1, book_id))
        conn.execute("COMMIT")
        return row[0] - 1
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


app = FastAPI()


@app.post("/books/{book_id}/sell")
def sell_one(book_id: int) -> dict[str, int]:
    conn = connect()
    try:
        left = sell(conn, book_id)
    finally:
        conn.close()
    if left is None:
        raise HTTPException(status_code=409, detail="sold out")
    return {"id": book_id, "copies": left}
