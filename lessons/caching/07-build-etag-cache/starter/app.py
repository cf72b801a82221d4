"""One book, read often and changed rarely: teach it to answer "not modified", and to cache.

Run by the tutor with a fresh copy of the lesson database; its path is in BACKEND_TUTOR_DB.
"""

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

app = FastAPI()

LARGEST_ID = 2**63 - 1  # SQLite's largest integer: a bigger id cannot be a book


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


@app.get("/books/{book_id}")
def get_book(book_id: int):
    return load_book(book_id)


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
    return load_book(book_id)
