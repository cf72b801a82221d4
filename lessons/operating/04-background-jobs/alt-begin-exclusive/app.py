"""The shop's payment worker: the job queue delivers each `charge` job here, as an HTTP POST.

A 2xx answer acknowledges the job: the queue forgets it. Any other answer, or none (the worker
crashed, the connection dropped), and the queue delivers the same job again later, with the same
`job_id`. That is at-least-once delivery: a job can arrive twice, even at the same moment on two
workers.

The payment provider is at PAYMENTS_URL (the tutor sets it; run it yourself with
`PAYMENTS_URL=... BACKEND_TUTOR_DB=worker.db uvicorn app:app`). Every POST to it takes the money.
"""

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

PAYMENTS_URL = os.environ["PAYMENTS_URL"]
DB_PATH = os.environ.get("BACKEND_TUTOR_DB", "worker.db")


@contextmanager
def database() -> Iterator[sqlite3.Connection]:
    """A connection whose work is committed at the end of the `with` (rolled back on an exception)."""
    conn = sqlite3.connect(DB_PATH, timeout=10)
    try:
        with conn:
            yield conn
    finally:
        conn.close()


with database() as conn:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS payments ("
        " id INTEGER PRIMARY KEY,"
        " job_id TEXT NOT NULL,"
        " order_id INTEGER NOT NULL,"
        " amount_cents INTEGER NOT NULL,"
        " charge_id TEXT)"
    )

app = FastAPI()


class ChargeJob(BaseModel):
    job_id: str = Field(min_length=1, max_length=100)
    order_id: int = Field(gt=0)
    amount_cents: int = Field(gt=0, le=10_000_000)


def charge_card(job: ChargeJob) -> str:
    """Ask the payment provider to take the money; its charge id. Raises httpx.HTTPError when it fails."""
    answer = httpx.post(
        f"{PAYMENTS_URL}/charges",
        json={"order_id": job.order_id, "amount_cents": job.amount_cents},
        timeout=5,
    )
    answer.raise_for_status()
    return str(answer.json().get("id", ""))


@app.post("/jobs/charge")
def run_charge(job: ChargeJob) -> dict:
    # BEGIN EXCLUSIVE takes the database's write lock first (and, outside WAL mode, keeps readers out):
    # a second worker with the same job waits here until this one has committed, then sees the
    # payment. The lock is held during the provider's call, so every other job waits too: correct, and
    # slower than a claim.
    conn = sqlite3.connect(DB_PATH, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        if conn.execute("SELECT 1 FROM payments WHERE job_id = ?", (job.job_id,)).fetchone():
            conn.execute("COMMIT")
            return {"job_id": job.job_id, "status": "charged before"}
        try:
            charge_id = charge_card(job)
        except httpx.HTTPError as exc:
            conn.execute("ROLLBACK")
            raise HTTPException(status_code=502, detail=f"the payment provider failed: {type(exc).__name__}") from exc
        conn.execute(
            "INSERT INTO payments (job_id, order_id, amount_cents, charge_id) VALUES (?, ?, ?, ?)",
            (job.job_id, job.order_id, job.amount_cents, charge_id),
        )
        conn.execute("COMMIT")
    finally:
        conn.close()  # a transaction still open here is rolled back
    return {"job_id": job.job_id, "charge_id": charge_id}
