"""The shop's webhook receiver as a Starlette app: it credits a wallet for each payment event the
provider really signed (Standard Webhooks, secret in WEBHOOK_SECRET)."""

import base64
import binascii
import hashlib
import hmac
import json
import os
import sqlite3

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

KEY = base64.b64decode(os.environ["WEBHOOK_SECRET"].removeprefix("whsec_"))
DB = os.environ["BACKEND_TUTOR_DB"]
MAX_BODY = 64 * 1024


def signed_by_provider(request: Request, body: bytes) -> bool:
    msg_id = request.headers.get("webhook-id")
    stamp = request.headers.get("webhook-timestamp")
    header = request.headers.get("webhook-signature")
    if not (msg_id and stamp and header):
        return False
    digest = hmac.new(KEY, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    for candidate in header.split():
        version, _, value = candidate.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(value, validate=True)
        except binascii.Error:
            continue
        if hmac.compare_digest(digest, given):
            return True
    return False


async def receive(request: Request) -> Response:
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        return JSONResponse({"detail": "too large"}, status_code=413)
    body = await request.body()
    if not signed_by_provider(request, body):
        return JSONResponse(
            {"detail": "not signed by the provider"},
            status_code=401,
            headers={"WWW-Authenticate": 'Signature realm="webhooks"'},
        )
    event = json.loads(body)
    if event.get("type") == "payment.succeeded":
        conn = sqlite3.connect(DB, timeout=5)
        try:
            with conn:
                conn.execute(
                    "UPDATE wallets SET balance = balance + ? WHERE id = ?",
                    (int(event["data"]["amount"]), int(event["data"]["wallet"])),
                )
        finally:
            conn.close()
    return Response(status_code=200)


async def wallet(request: Request) -> Response:
    conn = sqlite3.connect(DB)
    try:
        row = conn.execute("SELECT balance FROM wallets WHERE id = ?", (request.path_params["wallet"],)).fetchone()
    finally:
        conn.close()
    if row is None:
        return JSONResponse({"detail": "no such wallet"}, status_code=404)
    return JSONResponse({"wallet": request.path_params["wallet"], "balance": row[0]})


app = Starlette(
    routes=[Route("/webhooks", receive, methods=["POST"]), Route("/wallets/{wallet:int}", wallet, methods=["GET"])]
)
