"""The bookstore's list endpoint, paged with an opaque cursor (keyset pagination).

Run by the tutor with a fresh copy of the lesson database; its path is in BACKEND_TUTOR_DB.
"""

import base64
import os
import sqlite3
from contextlib import closing

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

MAX_PAGE = 100
MAX_ID = 2**63 - 1  # the largest integer SQLite stores

app = FastAPI()


@app.exception_handler(RequestValidationError)
async def bad_query(request: Request, exc: RequestValidationError) -> JSONResponse:
    """A query parameter of the wrong type or out of range is the client's mistake: 400, with what was
    wrong (FastAPI answers 422 by default; RFC 9110 §15.5.1 makes 400 the answer for a bad request)."""
    problems = "; ".join(f"{'.'.join(str(part) for part in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
    return JSONResponse({"detail": problems}, status_code=400)


def db() -> sqlite3.Connection:
    connection = sqlite3.connect(os.environ["BACKEND_TUTOR_DB"])
    connection.row_factory = sqlite3.Row
    return connection


def encode(book_id: int) -> str:
    return base64.urlsafe_b64encode(str(book_id).encode()).decode().rstrip("=")


def decode(cursor: str) -> int:
    """The id a cursor of ours holds; 400 for anything this API never gave out."""
    try:
        text = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode("ascii")
    except ValueError:  # not base64 (binascii.Error), not ASCII, or not text (UnicodeDecodeError)
        text = ""
    if not (text.isascii() and text.isdigit() and int(text) <= MAX_ID):
        raise HTTPException(status_code=400, detail="cursor is not one this API gave out")
    return int(text)


def _load_all() -> list[dict]:
    with closing(db()) as connection:
        return [dict(row) for row in connection.execute("SELECT id, title, year FROM books ORDER BY id")]


BOOKS = _load_all()  # read once when the app starts; pages are served from memory


@app.get("/books")
def list_books(limit: int = Query(20, ge=1, le=MAX_PAGE), cursor: str | None = None) -> dict:
    after = decode(cursor) if cursor is not None else 0
    rows = [book for book in BOOKS if book["id"] > after][: limit + 1]
    page = rows[:limit]
    more = len(rows) > limit
    return {"items": page, "next_cursor": encode(page[-1]["id"]) if more else None}
