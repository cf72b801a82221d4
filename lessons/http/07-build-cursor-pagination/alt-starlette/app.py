"""The list endpoint in plain Starlette, with a JSON cursor and one connection for the app's life."""

import base64
import binascii
import json
import os
import sqlite3

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DB = sqlite3.connect(os.environ["BACKEND_TUTOR_DB"], check_same_thread=False)


def bad(reason: str) -> JSONResponse:
    return JSONResponse({"detail": reason}, status_code=400)


async def books(request: Request) -> JSONResponse:
    raw_limit = request.query_params.get("limit", "20")
    if not (raw_limit.isascii() and raw_limit.isdigit() and 1 <= int(raw_limit) <= 100):
        return bad("limit must be a whole number from 1 to 100")
    limit = int(raw_limit)
    after = 0
    cursor = request.query_params.get("cursor")
    if cursor is not None:
        try:
            data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        except (binascii.Error, ValueError):
            return bad("unknown cursor")
        after = data.get("after") if isinstance(data, dict) else None
        if type(after) is not int or not 0 <= after < 2**63:
            return bad("unknown cursor")
    rows = DB.execute(
        "SELECT id, title, year FROM books WHERE id > ? ORDER BY id LIMIT ?", (after, limit + 1)
    ).fetchall()
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = base64.urlsafe_b64encode(json.dumps({"after": page[-1][0]}).encode()).decode().rstrip("=")
    items = [{"id": r[0], "title": r[1], "year": r[2]} for r in page]
    return JSONResponse({"items": items, "next_cursor": next_cursor})


app = Starlette(routes=[Route("/books", books)])
