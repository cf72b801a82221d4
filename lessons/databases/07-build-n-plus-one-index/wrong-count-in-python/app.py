"""The bookstore's API: one query per list, and the index the author pages need."""

import os
import sqlite3

from fastapi import FastAPI

app = FastAPI()


def db() -> sqlite3.Connection:
    connection = sqlite3.connect(os.environ["BACKEND_TUTOR_DB"])
    connection.row_factory = sqlite3.Row
    return connection


with db() as setup:
    # A migration, run when the app starts: IF NOT EXISTS makes it safe to run again.
    setup.execute("CREATE INDEX IF NOT EXISTS books_author_id ON books(author_id)")


@app.get("/books")
def list_books(limit: int = 20):
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
        rows = connection.execute("SELECT * FROM books").fetchall()
    return {"books": sum(1 for row in rows if row["author_id"] == author_id)}
