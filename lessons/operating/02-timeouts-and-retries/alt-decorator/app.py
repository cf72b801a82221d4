"""The quote endpoint with the retry policy as a decorator, the shape tenacity and stamina give it: the call
itself knows nothing of retries.

The prices service is at PRICES_URL.
"""

import functools
import os
import random
import time

import httpx
from fastapi import FastAPI, HTTPException

PRICES_URL = os.environ["PRICES_URL"]

app = FastAPI()
client = httpx.Client(timeout=httpx.Timeout(0.35))


class Retryable(Exception):
    """A failure worth another try: a timeout, a transport error, a 5xx."""

    def __init__(self, timed_out: bool) -> None:
        super().__init__("timed out" if timed_out else "failed")
        self.timed_out = timed_out


def retry(attempts: int, base: float, cap: float):
    def decorate(call):
        @functools.wraps(call)
        def wrapper(*args, **kwargs):
            for attempt in range(1, attempts + 1):
                try:
                    return call(*args, **kwargs)
                except Retryable:
                    if attempt == attempts:
                        raise
                    wait = min(cap, base * 2 ** (attempt - 1))
                    time.sleep(random.uniform(wait, 2 * wait))  # noqa: S311 - jitter above a floor
            raise AssertionError("unreachable")

        return wrapper

    return decorate


@retry(attempts=3, base=0.06, cap=0.5)
def fetch_price() -> object:
    try:
        answer = client.get(f"{PRICES_URL}/price")
    except httpx.TimeoutException as exc:
        raise Retryable(timed_out=True) from exc
    except httpx.TransportError as exc:
        raise Retryable(timed_out=False) from exc
    if answer.status_code >= 500:
        raise Retryable(timed_out=False)
    answer.raise_for_status()
    return answer.json()


@app.get("/quote")
def quote() -> dict:
    try:
        return {"price": fetch_price()}
    except Retryable as exc:
        raise HTTPException(status_code=504 if exc.timed_out else 502, detail=f"prices {exc}") from exc
