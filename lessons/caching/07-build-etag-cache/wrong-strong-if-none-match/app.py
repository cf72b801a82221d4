"""One book with a strong ETag, 304 Not Modified, and a cache-aside that a write invalidates.

Run by the tutor with a fresh copy of the lesson database; its path is in BACKEND_TUTOR_DB.
"""

import hashlib
import json
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI, HTTPException, Request, Response
from pydantic import BaseModel, Field

app = FastAPI()

LARGEST_ID = 2**63 - 1  # SQLite's largest integer: a bigger id cannot be a book
CACHE_TTL = 300.0  # seconds: the backstop for writes this process never sees (a fix made in SQL, another process)
ENTITY_TAG = re.compile(r'(?:W/)?("[^"]*")')

# book id -> (when it was stored, the exact JSON body sent for it). The body is kept, not the row, so
# the ETag is computed from the very bytes a client receives.
cache: dict[int, tuple[float, bytes]] = {}


@contextmanager
def db() -> Iterator[sqlite3.Connection]:
    """A connection for one piece of work: committed when it succeeds, rolled back when it fails, always closed."""
    connection = sqlite3.connect(os.environ["BACKEND_TUTOR_DB"])
    connection.row_factory = sqlite3.Row
    try:
        with connection:
            yield connection
    finally:
        connection.close()


class Book(BaseModel):
    """A book as PUT sends it: the whole representation, every field (RFC 9110 §9.3.4)."""

    title: str = Field(min_length=1, max_length=200)
    year: int = Field(ge=0, le=9999)


def load_book(book_id: int) -> dict:
    if not 1 <= book_id <= LARGEST_ID:
        raise HTTPException(status_code=404, detail="no such book")
    with db() as connection:
        row = connection.execute("SELECT id, title, year FROM books WHERE id = ?", (book_id,)).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="no such book")
    return dict(row)


def book_body(book_id: int) -> bytes:
    """Cache-aside: the stored body while it is younger than the TTL, else a fresh one from the database."""
    now = time.monotonic()
    entry = cache.get(book_id)
    if entry is not None and now - entry[0] < CACHE_TTL:
        return entry[1]
    body = json.dumps(load_book(book_id)).encode()
    cache[book_id] = (now, body)
    return body


def etag_of(body: bytes) -> str:
    """A strong ETag: a hash of the exact bytes sent, in double quotes (RFC 9110 §8.8.3)."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def client_has_current(if_none_match: str | None, etag: str) -> bool:
    """Whether the client already holds the current version: its If-None-Match is `*` or a list that holds
    this ETag, compared the weak way (RFC 9110 §13.1.2, §8.8.3.2: W/"x" and "x" name the same version)."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    return etag in [tag.strip() for tag in if_none_match.split(",")]


@app.get("/books/{book_id}")
def get_book(book_id: int, request: Request) -> Response:
    body = book_body(book_id)
    # no-cache: a client may keep the book but asks (with the ETag) before each reuse. A 304 carries the
    # same ETag and Cache-Control a 200 would have (RFC 9110 §15.4.5).
    headers = {"ETag": etag_of(body), "Cache-Control": "no-cache"}
    if client_has_current(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@app.put("/books/{book_id}")
def replace_book(book_id: int, book: Book):
    """Replace the whole book: a field left out is a 422, not kept."""
    if not 1 <= book_id <= LARGEST_ID:
        raise HTTPException(status_code=404, detail="no such book")
    with db() as connection:
        changed = connection.execute(
            "UPDATE books SET title = ?, year = ? WHERE id = ?", (book.title, book.year, book_id)
        ).rowcount
    if not changed:
        raise HTTPException(status_code=404, detail="no such book")
    # Delete, not overwrite: the next read loads the row as committed. A read that loaded the old row
    # just before this write can still store it afterwards; the TTL bounds how long that lasts.
    cache.pop(book_id, None)
    return load_book(book_id)
