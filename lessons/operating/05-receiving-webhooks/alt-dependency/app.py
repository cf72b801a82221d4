"""The shop's webhook receiver, with the signature check as a FastAPI dependency that every webhook
route can declare (Standard Webhooks, secret in WEBHOOK_SECRET)."""

import base64
import hashlib
import hmac
import json
import os
import sqlite3
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response

KEY = base64.b64decode(os.environ["WEBHOOK_SECRET"].removeprefix("whsec_"))
DB = os.environ["BACKEND_TUTOR_DB"]

app = FastAPI()


async def verified_event(request: Request) -> dict[str, Any]:
    """The event, parsed from the raw body once its signature is known to be good; else 400."""
    body = await request.body()
    if len(body) > 64 * 1024:
        raise HTTPException(413, "too large")
    msg_id = request.headers.get("webhook-id", "")
    stamp = request.headers.get("webhook-timestamp", "")
    signed = f"{msg_id}.{stamp}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(KEY, signed, hashlib.sha256).digest()).decode()
    offered = request.headers.get("webhook-signature", "").split(" ")
    if not msg_id or not stamp or not any(hmac.compare_digest(expected.encode(), s.encode()) for s in offered):
        raise HTTPException(400, "bad webhook signature")
    return json.loads(body)


@app.post("/webhooks", status_code=202)
def receive(event: Annotated[dict[str, Any], Depends(verified_event)]) -> Response:
    if event.get("type") == "payment.succeeded":
        with sqlite3.connect(DB, timeout=5) as conn:
            conn.execute(
                "UPDATE wallets SET balance = balance + ? WHERE id = ?",
                (int(event["data"]["amount"]), int(event["data"]["wallet"])),
            )
        conn.close()
    return Response(status_code=202)


@app.get("/wallets/{wallet}")
def wallet(wallet: int) -> dict:
    with sqlite3.connect(DB) as conn:
        row = conn.execute("SELECT balance FROM wallets WHERE id = ?", (wallet,)).fetchone()
    conn.close()
    if row is None:
        raise HTTPException(404, "no such wallet")
    return {"wallet": wallet, "balance": row[0]}
