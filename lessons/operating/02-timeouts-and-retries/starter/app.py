"""The shop's quote endpoint: it asks the prices service for a price and passes it on.

The prices service is at PRICES_URL (the tutor sets it; run it yourself with
`PRICES_URL=... uvicorn app:app`). Today a slow or failing call to it is passed straight on.
"""

import os

import httpx
from fastapi import FastAPI

PRICES_URL = os.environ["PRICES_URL"]

app = FastAPI()


@app.get("/quote")
def quote() -> dict:
    answer = httpx.get(f"{PRICES_URL}/price", timeout=None)  # noqa: S113 - no timeout: waits as long as prices does
    answer.raise_for_status()
    return {"price": answer.json()}
