"""The stock endpoint, async, with the breaker's state in a module-level dict and the trial guarded by an
asyncio lock: the same three states, in the event loop's one thread.

The stock service is at STOCK_URL.
"""

import asyncio
import math
import os
import time

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse

STOCK_URL = os.environ["STOCK_URL"]

app = FastAPI()
state = {"in_a_row": 0, "open_until": 0.0, "trial": False}
lock = asyncio.Lock()


def refuse(seconds: float) -> JSONResponse:
    return JSONResponse(
        {"detail": "stock is failing; try again later"},
        status_code=503,
        headers={"Retry-After": str(max(1, math.ceil(seconds)))},
    )


@app.get("/stock")
async def stock():
    async with lock:
        now = time.monotonic()
        if state["in_a_row"] >= 3:
            if now < state["open_until"] or state["trial"]:
                return refuse(state["open_until"] - now)
            state["trial"] = True  # half-open: this request is the one trial
    ok = False
    try:
        async with httpx.AsyncClient(timeout=0.5) as client:
            answer = await client.get(f"{STOCK_URL}/stock")
        ok = answer.status_code < 500
    except httpx.HTTPError:
        answer = None
    async with lock:
        state["trial"] = False
        if ok:
            state["in_a_row"] = 0
        else:
            state["in_a_row"] += 1
            if state["in_a_row"] >= 3:
                state["open_until"] = time.monotonic() + 30
    if not ok:
        return JSONResponse({"detail": "stock failed"}, status_code=502)
    return {"stock": answer.json()}
