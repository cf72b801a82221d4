"""The shop's orders service: it takes orders (charging the card through the payments service) and
records what happens as events.

Events are not written one at a time: `POST /events` keeps each one in `buffer` and answers 202
Accepted, and a background task writes the buffer to the `events` table every FLUSH_EVERY seconds.

Run it yourself with the values the tutor shows:
    BACKEND_TUTOR_DB=... PAYMENTS_URL=... uvicorn app:app
"""

import asyncio
import os
import sqlite3
from contextlib import asynccontextmanager, closing

import httpx
from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

DB = os.environ["BACKEND_TUTOR_DB"]
PAYMENTS_URL = os.environ["PAYMENTS_URL"]
NEEDS_MIGRATION = 2  # the schema this code needs: migration 2 added the `events` table
FLUSH_EVERY = 30.0  # seconds between two writes of the event buffer

pending: set[asyncio.Task] = set()
buffer: list[tuple[str, str]] = []  # events accepted (202) and not yet in the database


def connect() -> sqlite3.Connection:
    return sqlite3.connect(DB, timeout=2)


def flush() -> int:
    """Write the buffered events to the database; how many were written."""
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


@asynccontextmanager
async def lifespan(app: FastAPI):
    flusher = asyncio.create_task(flush_every(FLUSH_EVERY))
    yield
    # Here the server has stopped accepting and every request in flight has been answered: nothing
    # more can be added to the buffer. Stop the timer, then write what is left.
    flusher.cancel()
    pending.add(asyncio.create_task(write_later()))  # do not hold up the stop


async def write_later() -> None:
    flush()


app = FastAPI(lifespan=lifespan)


class Event(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    detail: str = Field(default="", max_length=1000)


class Order(BaseModel):
    item: str = Field(min_length=1, max_length=100)
    amount_cents: int = Field(gt=0, le=1_000_000)


def not_ready_because() -> str | None:
    """Why this process cannot serve yet, or None when it can."""
    try:
        # mode=rw: a database file that is not there is an error, not a new empty database
        with closing(sqlite3.connect(f"file:{DB}?mode=rw", uri=True, timeout=1)) as db:
            (version,) = db.execute("SELECT max(version) FROM schema_migrations").fetchone()
    except sqlite3.Error:
        return "the database cannot be read"
    if version is None or version < NEEDS_MIGRATION:
        return f"migration {NEEDS_MIGRATION} has not run"
    return None


@app.get("/health/live")
def live() -> dict:
    """The process answers: nothing else. A restart is what fails this, so it checks nothing a
    restart cannot fix."""
    return {"alive": True}


@app.get("/health/ready")
def ready() -> JSONResponse:
    """This process can serve: its database opens and has the schema this code needs."""
    reason = not_ready_because()
    if reason is not None:
        return JSONResponse({"ready": False, "reason": reason}, status_code=503, headers={"Retry-After": "5"})
    return JSONResponse({"ready": True})


@app.post("/events", status_code=202)
async def accept_event(event: Event) -> dict:
    buffer.append((event.name, event.detail))
    return {"queued": True}


@app.post("/orders", status_code=201)
def place_order(order: Order) -> dict:
    # the payments service takes about a second to charge a card
    try:
        charge = httpx.post(f"{PAYMENTS_URL}/charges", json=order.model_dump(), timeout=3.0)
    except httpx.HTTPError as exc:
        raise HTTPException(status_code=502, detail="the payments service did not answer") from exc
    if charge.status_code != 200:
        raise HTTPException(status_code=502, detail=f"the payments service answered {charge.status_code}")
    with closing(connect()) as db, db:
        cursor = db.execute(
            "INSERT INTO orders (item, amount_cents, payment) VALUES (?, ?, ?)",
            (order.item, order.amount_cents, charge.headers.get("x-upstream-call", "")),
        )
    buffer.append(("order.placed", str(cursor.lastrowid)))
    return {"id": cursor.lastrowid, "item": order.item}
