"""The shop's webhook receiver: the payment provider tells it that a customer's top-up was paid, and the
shop credits the customer's wallet.

The provider signs every delivery as the Standard Webhooks specification says, with the secret in
WEBHOOK_SECRET (the tutor sets it, and the lesson database's path in BACKEND_TUTOR_DB; run it yourself
with `WEBHOOK_SECRET=... BACKEND_TUTOR_DB=... uvicorn app:app`). Today it believes whatever arrives.
"""

import os
import sqlite3

from fastapi import FastAPI, HTTPException, Request, Response

WEBHOOK_SECRET = os.environ["WEBHOOK_SECRET"]
DB = os.environ["BACKEND_TUTOR_DB"]

app = FastAPI()


def credit(wallet: int, amount: int) -> None:
    """Add `amount` cents to a wallet: the work a payment event asks for."""
    with sqlite3.connect(DB) as conn:
        conn.execute("UPDATE wallets SET balance = balance + ? WHERE id = ?", (amount, wallet))


@app.post("/webhooks")
async def receive(request: Request) -> Response:
    event = await request.json()
    if event["type"] == "payment.succeeded":
        credit(int(event["data"]["wallet"]), int(event["data"]["amount"]))
    return Response(status_code=204)


@app.get("/wallets/{wallet}")
def wallet(wallet: int) -> dict:
    with sqlite3.connect(DB) as conn:
        row = conn.execute("SELECT balance FROM wallets WHERE id = ?", (wallet,)).fetchone()
    if row is None:
        raise HTTPException(404, "no such wallet")
    return {"wallet": wallet, "balance": row[0]}
