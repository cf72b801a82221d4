"""The quote endpoint with the standard library's HTTP client: urllib.request with a timeout per call, two
retries, and equal jitter.

The prices service is at PRICES_URL.
"""

import json
import os
import random
import time
import urllib.error
import urllib.request

from fastapi import FastAPI
from fastapi.responses import JSONResponse

PRICES_URL = os.environ["PRICES_URL"]

app = FastAPI()


def call_prices() -> object:
    with urllib.request.urlopen(f"{PRICES_URL}/price", timeout=0.25) as answer:  # noqa: S310 - our own URL
        return json.load(answer)


@app.get("/quote")
def quote():
    outcome = "error"
    for attempt in range(3):
        if attempt:
            wait = 0.08 * 2 ** (attempt - 1)
            time.sleep(wait / 2 + random.uniform(0, wait / 2))  # noqa: S311 - equal jitter
        try:
            return {"price": call_prices()}
        except urllib.error.HTTPError as exc:  # an answer with an error status
            outcome = "error"
            if exc.code < 500:
                break
        except TimeoutError:
            outcome = "timeout"
        except urllib.error.URLError as exc:  # a timeout while connecting comes wrapped
            outcome = "timeout" if isinstance(exc.reason, TimeoutError) else "error"
        except ConnectionError:
            outcome = "error"
    status = 504 if outcome == "timeout" else 502
    return JSONResponse({"detail": f"prices: {outcome} after the last attempt"}, status_code=status)
