"""The bookstore's book endpoint, with a request log that cannot tell one request from another yet.

Run by the tutor with a fresh copy of the lesson database; its path is in BACKEND_TUTOR_DB.
Run it yourself with `BACKEND_TUTOR_DB=path/to/books.db uvicorn app:app`.
"""

import os
import sqlite3
import time
from contextlib import closing

from fastapi import FastAPI, HTTPException, Request

TAX = 1.2

app = FastAPI()


@app.middleware("http")
async def log_requests(request: Request, call_next):
    started = time.perf_counter()
    response = await call_next(request)
    took = (time.perf_counter() - started) * 1000
    print(f"{request.method} {request.url.path} {response.status_code} {took:.1f}ms")
    return response


def db() -> sqlite3.Connection:
    connection = sqlite3.connect(os.environ["BACKEND_TUTOR_DB"])
    connection.row_factory = sqlite3.Row
    return connection


@app.get("/books/{book_id}")
def get_book(book_id: int) -> dict:
    with closing(db()) as connection:
        row = connection.execute("SELECT id, title, price FROM books WHERE id = ?", (book_id,)).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="no such book")
    return {"id": row["id"], "title": row["title"], "price_with_tax": round(row["price"] * TAX, 2)}
