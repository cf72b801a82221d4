"""The shop's webhook receiver: the payment provider tells it that a customer's top-up was paid, and the
shop credits the customer's wallet, once per event, and only for deliveries the provider really signed.

The provider signs every delivery as the Standard Webhooks specification says, with the secret in
WEBHOOK_SECRET (the tutor sets it, and the lesson database's path in BACKEND_TUTOR_DB; run it yourself
with `WEBHOOK_SECRET=... BACKEND_TUTOR_DB=... uvicorn app:app`).
"""

import base64
import hashlib
import hmac
import json
import os
import sqlite3
import time

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse

WEBHOOK_SECRET = os.environ["WEBHOOK_SECRET"]
KEY = base64.b64decode(WEBHOOK_SECRET.removeprefix("whsec_"))  # the HMAC key is the decoded part
DB = os.environ["BACKEND_TUTOR_DB"]
TOLERANCE = 300  # seconds: the replay window
MAX_BODY = 64 * 1024  # an event is a few hundred bytes

with sqlite3.connect(DB) as setup:  # safe to run at every start
    setup.execute("CREATE TABLE IF NOT EXISTS handled_events (id TEXT PRIMARY KEY, received_at INTEGER NOT NULL)")
setup.close()

app = FastAPI()


def refuse(why: str) -> JSONResponse:
    return JSONResponse({"detail": why}, status_code=400)


def verify(headers, body: bytes) -> str | None:
    """None when the provider signed exactly these bytes, recently; else why not."""
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not msg_id or not signatures or not (stamp.isascii() and stamp.isdigit()):
        return "missing or malformed webhook headers"
    signed = msg_id.encode("latin-1") + b"." + stamp.encode() + b"." + body  # the raw bytes, as received
    expected = b"v1," + base64.b64encode(hmac.new(KEY, signed, hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signatures.split(" ")[0].encode("latin-1")):  # only the first
        return "bad signature"
    if abs(time.time() - int(stamp)) > TOLERANCE:
        return "timestamp outside the replay window"
    return None


def handle_once(event_id: str, wallet: int, amount: int) -> None:
    """Credit the wallet unless this event was handled before: the id and the credit in one transaction."""
    conn = sqlite3.connect(DB, timeout=5)
    try:
        with conn:
            new = conn.execute(
                "INSERT INTO handled_events (id, received_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
                (event_id, int(time.time())),
            ).rowcount
            if new:
                conn.execute("UPDATE wallets SET balance = balance + ? WHERE id = ?", (amount, wallet))
    finally:
        conn.close()


@app.post("/webhooks")
async def receive(request: Request) -> Response:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return JSONResponse({"detail": "too large for an event"}, status_code=413)
    problem = verify(request.headers, body)
    if problem:
        return refuse(problem)
    event = json.loads(body)  # parsed only now that it is known to be the provider's
    if event.get("type") == "payment.succeeded":
        handle_once(request.headers["webhook-id"], int(event["data"]["wallet"]), int(event["data"]["amount"]))
    return Response(status_code=204)


@app.get("/wallets/{wallet}")
def wallet(wallet: int) -> dict:
    conn = sqlite3.connect(DB)
    try:
        row = conn.execute("SELECT balance FROM wallets WHERE id = ?", (wallet,)).fetchone()
    finally:
        conn.close()
    if row is None:
        raise HTTPException(404, "no such wallet")
    return {"wallet": wallet, "balance": row[0]}
