"""The shop's webhook receiver as a Starlette app: it credits a wallet once for each payment event the
provider really signed, recently (Standard Webhooks, secret in WEBHOOK_SECRET)."""

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import sqlite3
import time
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

KEY = base64.b64decode(os.environ["WEBHOOK_SECRET"].removeprefix("whsec_"))
DB = os.environ["BACKEND_TUTOR_DB"]
MAX_BODY = 64 * 1024
WINDOW = 5 * 60


def migrate() -> None:
    conn = sqlite3.connect(DB)
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS handled_events (id TEXT PRIMARY KEY, received_at INTEGER NOT NULL)")
    finally:
        conn.close()


def signed_by_provider(request: Request, body: bytes) -> bool:
    msg_id = request.headers.get("webhook-id")
    stamp = request.headers.get("webhook-timestamp")
    header = request.headers.get("webhook-signature")
    if not (msg_id and stamp and header) or not stamp.isdecimal():
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
            return abs(time.time() - int(stamp)) <= WINDOW  # signed, and recently
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
        conn = sqlite3.connect(DB, timeout=5, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "INSERT INTO handled_events (id, received_at) VALUES (?, ?)",
                    (request.headers["webhook-id"], int(time.time())),
                )
            except sqlite3.IntegrityError:
                conn.execute("ROLLBACK")  # handled before: answer 2xx, do nothing
                return Response(status_code=200)
            conn.execute(
                "UPDATE wallets SET balance = balance + ? WHERE id = ?",
                (int(event["data"]["amount"]), int(event["data"]["wallet"])),
            )
            conn.execute("COMMIT")
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


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    migrate()  # safe to run at every start
    yield


app = Starlette(
    lifespan=lifespan,
    routes=[Route("/webhooks", receive, methods=["POST"]), Route("/wallets/{wallet:int}", wallet, methods=["GET"])],
)
