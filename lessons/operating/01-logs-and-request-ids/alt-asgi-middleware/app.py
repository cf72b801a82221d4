"""The bookstore's book endpoint, with a plain ASGI middleware (no BaseHTTPMiddleware) for request ids and
the log: it sees every response start, and answers a crash itself.

Run it yourself with `BACKEND_TUTOR_DB=path/to/books.db uvicorn app:app`.
"""

import json
import os
import re
import secrets
import sqlite3
import sys
import time
from contextlib import closing

from fastapi import FastAPI, HTTPException

TAX = 1.2
PLAIN_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RequestLog:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        sent = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = sent if PLAIN_ID.fullmatch(sent) else "req_" + secrets.token_urlsafe(12)
        started = time.perf_counter()
        status = {"code": 500, "sent": False}

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if status["sent"]:
                raise
            body = b'{"detail": "internal error"}'
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
        finally:
            line = {
                "request_id": request_id,
                "method": scope["method"],
                "path": scope["path"],
                "status": status["code"],
                "duration_ms": (time.perf_counter() - started) * 1000,
            }
            sys.stderr.write(json.dumps(line) + "\n")
            sys.stderr.flush()


def db() -> sqlite3.Connection:
    connection = sqlite3.connect(os.environ["BACKEND_TUTOR_DB"])
    connection.row_factory = sqlite3.Row
    return connection


api = FastAPI()


@api.get("/books/{book_id}")
def get_book(book_id: int) -> dict:
    with closing(db()) as connection:
        row = connection.execute("SELECT id, title, price FROM books WHERE id = ?", (book_id,)).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="no such book")
    return {"id": row["id"], "title": row["title"], "price_with_tax": round(row["price"] * TAX, 2)}


app = RequestLog(api)
