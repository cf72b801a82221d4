"""The bookstore's API: one query per list, and the index the author pages need."""

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

app = FastAPI()


@app.exception_handler(RequestValidationError)
async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    """A query parameter or a path segment the endpoint cannot take (`limit=abc`): 400, as for any
    request that is wrong. FastAPI's default is 422, which RFC 9110 means for content it cannot process."""
    return JSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=400)


MAX_LIMIT = 100


@contextmanager
def db() -> Iterator[sqlite3.Connection]:
    """One connection per unit of work: committed when the block succeeds, rolled back when it raises,
    and closed either way (`with connection:` alone commits but does not close)."""
    connection = sqlite3.connect(os.environ["BACKEND_TUTOR_DB"])
    connection.row_factory = sqlite3.Row
    try:
        with connection:
            yield connection
    finally:
        connection.close()


# A migration, run every time the app starts: IF NOT EXISTS makes the second start (the next
# deployment, on a database that already has the index) a no-op instead of an error.
with db() as setup:
    setup.execute("CREATE INDEX IF NOT EXISTS books_author_id ON books(author_id)")


@app.get("/books")
def list_books(limit: int = Query(20, ge=1, le=MAX_LIMIT)):
    with db() as connection:
        rows = connection.execute(
            "SELECT books.id, books.title, authors.name AS author FROM books"
            " JOIN authors ON authors.id = books.author_id ORDER BY books.id LIMIT ?",
            (limit,),
        ).fetchall()
    return {"items": [dict(row) for row in rows]}


@app.get("/authors/{author_id}/books")
def books_by_author(author_id: int):
    with db() as connection:
        rows = connection.execute(
            "SELECT id, title, year FROM books WHERE author_id = ? ORDER BY year, id", (author_id,)
        ).fetchall()
    return {"items": [dict(row) for row in rows]}


@app.get("/authors/{author_id}/stats")
def author_stats(author_id: int):
    with db() as connection:
        count = connection.execute("SELECT COUNT(*) FROM books WHERE author_id = ?", (author_id,)).fetchone()[0]
    return {"books": count}
