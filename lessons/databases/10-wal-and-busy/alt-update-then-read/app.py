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
    changed = conn.execute("UPDATE inventory SET copies = copies - 1 WHERE id = ? AND copies > 0", (book_id,)).rowcount
    if changed == 0:
        return None
    return conn.execute("SELECT copies FROM inventory WHERE id = ?", (book_id,)).fetchone()[0]


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
