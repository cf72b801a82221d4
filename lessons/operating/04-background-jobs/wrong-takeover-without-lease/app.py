"""The shop's payment worker: the job queue delivers each `charge` job here, as an HTTP POST.

A 2xx answer acknowledges the job: the queue forgets it. Any other answer, or none (the worker
crashed, the connection dropped), and the queue delivers the same job again later, with the same
`job_id`. That is at-least-once delivery: a job can arrive twice, even at the same moment on two
workers.

The payment provider is at PAYMENTS_URL (the tutor sets it; run it yourself with
`PAYMENTS_URL=... BACKEND_TUTOR_DB=worker.db uvicorn app:app`). Every POST to it takes the money.

Idempotent: the job id is the key of one row in `payments`. The worker claims it before it charges
(one INSERT: the check and the write are a single statement, so two workers cannot both win), marks it
charged after, and gives the claim back when the charge failed, so the next delivery tries again.
"""

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

PAYMENTS_URL = os.environ["PAYMENTS_URL"]
DB_PATH = os.environ.get("BACKEND_TUTOR_DB", "worker.db")
LEASE_SECONDS = 60
"""A claim older than this belongs to a worker that died while charging: the next delivery takes it over."""


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
        " job_id TEXT PRIMARY KEY,"
        " order_id INTEGER NOT NULL,"
        " amount_cents INTEGER NOT NULL,"
        " status TEXT NOT NULL CHECK (status IN ('charging', 'charged')),"
        " claimed_at REAL NOT NULL,"
        " charge_id TEXT)"
    )

app = FastAPI()


class ChargeJob(BaseModel):
    job_id: str = Field(min_length=1, max_length=100)
    order_id: int = Field(gt=0)
    amount_cents: int = Field(gt=0, le=10_000_000)


def charge_card(job: ChargeJob) -> str:
    """Ask the payment provider to take the money; its charge id. Raises httpx.HTTPError when it fails.
    The job id goes along as the Idempotency-Key: a provider that keeps keys (as Stripe does) answers a
    repeat with the first charge instead of making another."""
    answer = httpx.post(
        f"{PAYMENTS_URL}/charges",
        json={"order_id": job.order_id, "amount_cents": job.amount_cents},
        headers={"Idempotency-Key": job.job_id},
        timeout=5,
    )
    answer.raise_for_status()
    return str(answer.json().get("id", ""))


def claim(job: ChargeJob) -> str:
    """'claimed' (this worker charges), 'charged' (done before) or 'busy' (another worker is charging)."""
    now = time.time()
    with database() as conn:
        taken = conn.execute(
            "INSERT INTO payments (job_id, order_id, amount_cents, status, claimed_at)"
            " VALUES (?, ?, ?, 'charging', ?)"
            " ON CONFLICT (job_id) DO UPDATE SET claimed_at = excluded.claimed_at"
            " WHERE payments.status = 'charging'",
            (job.job_id, job.order_id, job.amount_cents, now),
        ).rowcount
        if taken:
            return "claimed"
        row = conn.execute("SELECT status FROM payments WHERE job_id = ?", (job.job_id,)).fetchone()
    return "charged" if row and row[0] == "charged" else "busy"


@app.post("/jobs/charge")
def run_charge(job: ChargeJob) -> dict:
    state = claim(job)
    if state == "charged":  # a delivery again: acknowledge it, charge nothing
        return {"job_id": job.job_id, "status": "charged before"}
    if state == "busy":  # not done yet: no 2xx, so the queue keeps the job and delivers it later
        raise HTTPException(status_code=409, detail="another worker is charging this job", headers={"Retry-After": "5"})
    try:
        charge_id = charge_card(job)
    except httpx.HTTPError as exc:
        with database() as conn:  # give the claim back: the next delivery charges
            conn.execute("DELETE FROM payments WHERE job_id = ? AND status = 'charging'", (job.job_id,))
        raise HTTPException(status_code=502, detail=f"the payment provider failed: {type(exc).__name__}") from exc
    with database() as conn:
        conn.execute("UPDATE payments SET status = 'charged', charge_id = ? WHERE job_id = ?", (charge_id, job.job_id))
    return {"job_id": job.job_id, "status": "charged", "charge_id": charge_id}
