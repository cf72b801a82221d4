"""The bookstore's small books API: the app your tests are about. It is correct; leave it as it is.

It opens the SQLite file named by BACKEND_TUTOR_DB on every request, so a test can point that variable
at a copy of its own. Run it yourself with `BACKEND_TUTOR_DB=path/to/books.db uvicorn app:app`.
"""

import os
import sqlite3
from contextlib import closing

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

app = FastAPI()

MAX_LIMIT = 100


class NewBook(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    year: int = Field(ge=1450, le=2100)


def db() -> sqlite3.Connection:
    connection = sqlite3.connect(os.environ["BACKEND_TUTOR_DB"])
    connection.row_factory = sqlite3.Row
    return connection


@app.get("/books")
def list_books(limit: int = 20, page: int = 1) -> dict:
    """One page of books by id: `limit` books (1 to 100), page 1 first."""
    if not 1 <= limit <= MAX_LIMIT:
        raise HTTPException(status_code=400, detail=f"limit must be between 1 and {MAX_LIMIT}")
    if page < 1:
        raise HTTPException(status_code=400, detail="page starts at 1")
    with closing(db()) as connection:
        rows = connection.execute(
            "SELECT id, title, year FROM books ORDER BY id LIMIT ? OFFSET ?", (limit, (page - 1) * limit)
        ).fetchall()
    return {"page": page, "items": [dict(row) for row in rows]}


@app.get("/books/{book_id}")
def get_book(book_id: int) -> dict:
    with closing(db()) as connection:
        row = connection.execute("SELECT id, title, year FROM books WHERE id = ?", (book_id,)).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="no such book")
    return dict(row)


@app.post("/books", status_code=201)
def add_book(book: NewBook) -> dict:
    with closing(db()) as connection:
        cursor = connection.execute("INSERT INTO books (title, year) VALUES (?, ?)", (book.title, book.year))
    return {"id": cursor.lastrowid, "title": book.title, "year": book.year}
