"""Counts every call, successes too: three calls of any kind open it.

The stock service is at STOCK_URL (the tutor sets it; run it yourself with
`STOCK_URL=... uvicorn app:app`).
"""

import os
import threading
import time

import httpx
from fastapi import FastAPI, HTTPException

STOCK_URL = os.environ["STOCK_URL"]
FAILURES = 3  # failed calls in a row that open the breaker
OPEN_SECONDS = 30.0  # how long it stays open before one trial call


class Breaker:
    """Closed: calls go through. Open: refused at once. After OPEN_SECONDS: one trial call (half-open)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.failures = 0
        self.opened_at: float | None = None
        self.trial = False

    def allow(self) -> float:
        """0 when a call may go; else the seconds until the next trial."""
        with self.lock:
            if self.opened_at is None:
                return 0.0
            left = self.opened_at + OPEN_SECONDS - time.monotonic()
            if left > 0 or self.trial:
                return max(left, 1.0)
            self.trial = True  # half-open: this call is the trial, the others wait
            return 0.0

    def record(self, ok: bool) -> None:
        with self.lock:
            self.trial = False
            self.failures += 1
            if self.opened_at is not None or self.failures >= FAILURES:
                self.opened_at = time.monotonic()


breaker = Breaker()
app = FastAPI()


@app.get("/stock")
def stock() -> dict:
    wait = breaker.allow()
    if wait:
        raise HTTPException(
            status_code=503,
            detail="the stock service is failing; not calling it for now",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    try:
        answer = httpx.get(f"{STOCK_URL}/stock", timeout=0.5)
    except httpx.HTTPError as exc:
        breaker.record(ok=False)
        raise HTTPException(status_code=502, detail=f"stock failed: {type(exc).__name__}") from exc
    if answer.status_code >= 500:
        breaker.record(ok=False)
        raise HTTPException(status_code=502, detail=f"stock answered {answer.status_code}")
    breaker.record(ok=True)
    return {"stock": answer.json()}
