"""The bookstore's book endpoint, logging through the logging module: a JSON formatter on standard error.

Run by the tutor with a fresh copy of the lesson database; its path is in BACKEND_TUTOR_DB.
"""

import json
import logging
import os
import re
import sqlite3
import sys
import time
import uuid
from contextlib import closing

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

TAX = 1.2
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class JsonLines(logging.Formatter):
    """One JSON object per record: the message, and the fields passed as `extra={"fields": {...}}`."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": self.formatTime(record), "level": record.levelname.lower(), "message": record.getMessage()}
        line.update(getattr(record, "fields", {}))
        return json.dumps(line)


handler = logging.StreamHandler(sys.stderr)
handler.setFormatter(JsonLines())
log = logging.getLogger("bookstore.requests")
log.addHandler(handler)
log.setLevel(logging.INFO)
log.propagate = False

app = FastAPI()


@app.middleware("http")
async def log_requests(request: Request, call_next):
    sent = request.headers.get("x-request-id", "")
    request_id = sent if REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
    started = time.perf_counter()
    try:
        response = await call_next(request)
    except Exception:
        log.exception("request failed", extra={"fields": {"request_id": request_id}})
        response = JSONResponse({"detail": "internal error", "request_id": request_id}, status_code=500)
    response.headers["X-Request-Id"] = request_id
    fields = {
        "request_id": request_id,
        "method": request.method,
        "path": request.url.path,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    log.info("request", extra={"fields": fields})
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
