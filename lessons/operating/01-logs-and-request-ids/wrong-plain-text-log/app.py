"""Logs and echoes the request id, but in a plain text line."""

import os
import re
import sqlite3
import time
import uuid
from contextlib import closing

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

TAX = 1.2
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

app = FastAPI()


@app.middleware("http")
async def log_requests(request: Request, call_next):
    sent = request.headers.get("x-request-id", "")
    request_id = sent if REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
    started = time.perf_counter()
    try:
        response = await call_next(request)
    except Exception:
        response = JSONResponse({"detail": "internal error"}, status_code=500)
    response.headers["X-Request-Id"] = request_id
    took = (time.perf_counter() - started) * 1000
    print(f"{request_id} {request.method} {request.url.path} {response.status_code} {took:.1f}ms", flush=True)
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
