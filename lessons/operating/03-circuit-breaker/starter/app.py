"""The shop's stock endpoint: it asks the stock service how many copies are left.

The stock service is at STOCK_URL (the tutor sets it; run it yourself with
`STOCK_URL=... uvicorn app:app`). Every request calls it, even when it has failed every time lately.
"""

import os

import httpx
from fastapi import FastAPI, HTTPException

STOCK_URL = os.environ["STOCK_URL"]

app = FastAPI()


@app.get("/stock")
def stock() -> dict:
    try:
        answer = httpx.get(f"{STOCK_URL}/stock", timeout=0.5)
    except httpx.HTTPError as exc:
        raise HTTPException(status_code=502, detail=f"stock failed: {type(exc).__name__}") from exc
    if answer.status_code >= 500:
        raise HTTPException(status_code=502, detail=f"stock answered {answer.status_code}")
    return {"stock": answer.json()}
