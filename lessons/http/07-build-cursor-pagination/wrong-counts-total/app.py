"""The bookstore's list endpoint, paged with an opaque cursor (keyset pagination)."""

import base64
import os
import sqlite3

from fastapi import FastAPI, HTTPException, Query

app = FastAPI()


def db() -> sqlite3.Connection:
    connection = sqlite3.connect(os.environ["BACKEND_TUTOR_DB"])
    connection.row_factory = sqlite3.Row
    return connection


def encode(book_id: int) -> str:
    return base64.urlsafe_b64encode(str(book_id).encode()).decode().rstrip("=")


def decode(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except ValueError:
        raise HTTPException(status_code=400, detail="cursor is not one this API gave out") from None


@app.get("/books")
def list_books(limit: int = Query(20, ge=1, le=100), cursor: str | None = None):
    after = decode(cursor) if cursor is not None else 0
    with db() as connection:
        rows = connection.execute(
            "SELECT id, title, year FROM books WHERE id > ? ORDER BY id LIMIT ?", (after, limit)
        ).fetchall()
        total = connection.execute("SELECT COUNT(*) FROM books").fetchone()[0]
    page = rows[:limit]
    more = bool(page) and page[-1]["id"] < total
    return {"items": [dict(row) for row in page], "next_cursor": encode(page[-1]["id"]) if more else None}
