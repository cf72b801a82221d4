"""Logs each request as JSON, but spread over several lines (indent=2).

Run by the tutor with a fresh copy of the lesson database; its path is in BACKEND_TUTOR_DB.
Run it yourself with `BACKEND_TUTOR_DB=path/to/books.db uvicorn app:app`.
"""

import json
import os
import re
import sqlite3
import time
import uuid
from contextlib import closing
from datetime import UTC, datetime

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

TAX = 1.2
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
"""An id from outside is kept only when it is short and plain: it goes into every log line and header."""

app = FastAPI()


@app.middleware("http")
async def log_requests(request: Request, call_next):
    sent = request.headers.get("x-request-id", "")
    request_id = sent if REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
    request.state.request_id = request_id
    started = time.perf_counter()
    error = None
    try:
        response = await call_next(request)
    except Exception as exc:  # the request that failed is the one whose line matters most
        error = f"{type(exc).__name__}: {exc}"
        response = JSONResponse({"detail": "internal error", "request_id": request_id}, status_code=500)
    response.headers["X-Request-Id"] = request_id
    line = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "level": "error" if response.status_code >= 500 else "warn" if response.status_code >= 400 else "info",
        "request_id": request_id,
        "method": request.method,
        "path": request.url.path,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    if error:
        line["error"] = error
    print(json.dumps(line, indent=2), flush=True)
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
