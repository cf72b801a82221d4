"""The orders service as a Starlette app: the same routes, answers and lifespan as the FastAPI one."""

import asyncio
import os
import sqlite3
from contextlib import asynccontextmanager, closing

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DB = os.environ["BACKEND_TUTOR_DB"]
PAYMENTS_URL = os.environ["PAYMENTS_URL"]
NEEDS_MIGRATION = 2
FLUSH_EVERY = 30.0

buffer: list[tuple[str, str]] = []


def connect() -> sqlite3.Connection:
    return sqlite3.connect(DB, timeout=2)


def flush() -> int:
    rows = buffer[:]
    if rows:
        with closing(connect()) as db, db:
            db.executemany("INSERT INTO events (name, detail) VALUES (?, ?)", rows)
        del buffer[: len(rows)]
    return len(rows)


async def flush_every(seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        flush()


def schema_version() -> int | None:
    """The last migration, or None when the database cannot be read."""
    try:
        with closing(sqlite3.connect(f"file:{DB}?mode=rw", uri=True, timeout=1)) as db:
            (version,) = db.execute("SELECT max(version) FROM schema_migrations").fetchone()
    except sqlite3.Error:
        return None
    return version or 0


async def live(request: Request) -> JSONResponse:
    return JSONResponse({"alive": True})


async def ready(request: Request) -> JSONResponse:
    version = schema_version()
    if version is None or version < NEEDS_MIGRATION:
        return JSONResponse({"ready": False}, status_code=503, headers={"Retry-After": "10"})
    return JSONResponse({"ready": True})


async def accept_event(request: Request) -> JSONResponse:
    body = await request.json()
    name, detail = body.get("name"), body.get("detail", "")
    if not isinstance(name, str) or not 0 < len(name) <= 100 or not isinstance(detail, str) or len(detail) > 1000:
        return JSONResponse({"detail": "name (1-100 characters) and detail (at most 1000) are text"}, status_code=422)
    buffer.append((name, detail))
    return JSONResponse({"queued": True}, status_code=202)


async def place_order(request: Request) -> JSONResponse:
    body = await request.json()
    item, amount = body.get("item"), body.get("amount_cents")
    valid_item = isinstance(item, str) and 0 < len(item) <= 100
    if not valid_item or not isinstance(amount, int) or not 0 < amount <= 1_000_000:
        return JSONResponse({"detail": "item (text) and amount_cents (1 to 1000000) are required"}, status_code=422)
    try:
        async with httpx.AsyncClient(timeout=3.0) as client:
            charge = await client.post(f"{PAYMENTS_URL}/charges", json={"item": item, "amount_cents": amount})
    except httpx.HTTPError:
        return JSONResponse({"detail": "the payments service did not answer"}, status_code=502)
    if charge.status_code != 200:
        return JSONResponse({"detail": f"the payments service answered {charge.status_code}"}, status_code=502)
    with closing(connect()) as db, db:
        cursor = db.execute(
            "INSERT INTO orders (item, amount_cents, payment) VALUES (?, ?, ?)",
            (item, amount, charge.headers.get("x-upstream-call", "")),
        )
    buffer.append(("order.placed", str(cursor.lastrowid)))
    return JSONResponse({"id": cursor.lastrowid, "item": item}, status_code=201)


@asynccontextmanager
async def lifespan(app: Starlette):
    flusher = asyncio.create_task(flush_every(FLUSH_EVERY))
    yield
    flusher.cancel()
    flush()


app = Starlette(
    routes=[
        Route("/health/live", live),
        Route("/health/ready", ready),
        Route("/events", accept_event, methods=["POST"]),
        Route("/orders", place_order, methods=["POST"]),
    ],
    lifespan=lifespan,
)
