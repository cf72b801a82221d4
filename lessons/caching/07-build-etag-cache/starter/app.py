"""One book, read often and changed rarely: teach it to answer "not modified", and to cache.

Run by the tutor with a fresh copy of the lesson database; its path is in BACKEND_TUTOR_DB.
"""

import os
import sqlite3

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

app = FastAPI()


def db() -> sqlite3.Connection:
    connection = sqlite3.connect(os.environ["BACKEND_TUTOR_DB"])
    connection.row_factory = sqlite3.Row
    return connection


class BookChange(BaseModel):
    title: str


def load_book(book_id: int) -> dict:
    with db() as connection:
        row = connection.execute("SELECT id, title, year FROM books WHERE id = ?", (book_id,)).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="no such book")
    return dict(row)


@app.get("/books/{book_id}")
def get_book(book_id: int):
    return load_book(book_id)


@app.put("/books/{book_id}")
def change_book(book_id: int, change: BookChange):
    with db() as connection:
        connection.execute("UPDATE books SET title = ? WHERE id = ?", (change.title, book_id))
    return load_book(book_id)
