"""The bookstore's book endpoint: the middleware logs what returned, an exception handler answers and logs a crash.

Run it yourself with `BACKEND_TUTOR_DB=path/to/books.db uvicorn app:app`.
"""

import json
import os
import re
import sqlite3
import time
import uuid
from contextlib import closing

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

TAX = 1.2
PLAIN_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

app = FastAPI()


def log_line(request: Request, status: int) -> None:
    took = (time.perf_counter() - request.state.started) * 1000
    print(
        json.dumps(
            {
                "request_id": request.state.request_id,
                "method": request.method,
                "path": request.url.path,
                "status": status,
                "duration_ms": round(took, 2),
            }
        ),
        flush=True,
    )


@app.middleware("http")
async def request_ids(request: Request, call_next):
    sent = request.headers.get("x-request-id", "")
    request.state.request_id = sent if PLAIN_ID.fullmatch(sent) else str(uuid.uuid4())
    request.state.started = time.perf_counter()
    response = await call_next(request)  # a crash goes to crashed() below, not back here
    response.headers["X-Request-Id"] = request.state.request_id
    log_line(request, response.status_code)
    return response


@app.exception_handler(Exception)
async def crashed(request: Request, exc: Exception) -> JSONResponse:
    """Starlette calls this for any exception a handler raised, outside the middleware above."""
    log_line(request, 500)
    return JSONResponse(
        {"detail": "internal error"}, status_code=500, headers={"X-Request-Id": request.state.request_id}
    )


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
