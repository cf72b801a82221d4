"""The quote endpoint, async: one shared client, a timeout per call, two retries with equal jitter.

The prices service is at PRICES_URL.
"""

import asyncio
import os
import random

import httpx
from fastapi import FastAPI, HTTPException

PRICES_URL = os.environ["PRICES_URL"]

app = FastAPI()


@app.get("/quote")
async def quote() -> dict:
    last = "failed"
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.4)) as client:
        for attempt in range(3):
            if attempt:
                wait = 0.1 * 2 ** (attempt - 1)
                await asyncio.sleep(wait / 2 + random.uniform(0, wait / 2))  # noqa: S311 - equal jitter
            try:
                answer = await client.get(f"{PRICES_URL}/price")
            except httpx.TimeoutException:
                last = "timeout"
                continue
            except httpx.TransportError:
                last = "failed"
                continue
            if answer.status_code >= 500:
                last = "failed"
                continue
            return {"price": answer.json()}
    raise HTTPException(status_code=504 if last == "timeout" else 502, detail=f"prices {last} (3 attempts)")
