"""Full jitter on a short base: a random wait from 0 to 10 ms, then 20 ms, often next to nothing.

The prices service is at PRICES_URL (the tutor sets it; run it yourself with
`PRICES_URL=... uvicorn app:app`).
"""

import os
import random
import time

import httpx
from fastapi import FastAPI, HTTPException

PRICES_URL = os.environ["PRICES_URL"]
TIMEOUT = 0.3  # seconds for one call, the whole answer included: well above the service's normal latency
ATTEMPTS = 3  # the first call and two retries, never more
BASE = 0.05  # seconds before the first retry; doubled before each next one
CAP = 1.0

app = FastAPI()


def backoff(retry: int) -> float:
    """Exponential backoff with jitter: at least the base wait, plus a random share of it on top, so
    callers that failed together do not come back together."""
    return random.uniform(0, min(CAP, 0.01 * 2**retry))  # noqa: S311 - jitter, not a secret


@app.get("/quote")
def quote() -> dict:
    timed_out = False
    with httpx.Client(timeout=TIMEOUT) as client:
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(backoff(attempt - 1))
            try:
                answer = client.get(f"{PRICES_URL}/price")
            except httpx.TimeoutException:
                timed_out = True
                continue
            except httpx.TransportError:  # a reset, a refused connection
                timed_out = False
                continue
            if answer.status_code >= 500 or answer.status_code == 429:
                timed_out = False
                continue  # worth another try
            if answer.is_error:  # another 4xx: the same call would fail the same way
                raise HTTPException(status_code=502, detail=f"prices answered {answer.status_code}")
            return {"price": answer.json()}
    if timed_out:
        raise HTTPException(status_code=504, detail=f"prices did not answer in time ({ATTEMPTS} attempts)")
    raise HTTPException(status_code=502, detail=f"prices failed ({ATTEMPTS} attempts)")
