"""Webhooks: events the sandbox delivers to the learner's app, signed, and retried on the lesson clock
until the app answers 2xx (docs/sandbox-api.md, "Webhooks").

An event is made when a write the lesson names succeeds, when a job that `emits` one is done, or by hand
(`POST /_sandbox/webhooks/events`). Its body is fixed when it is made, so every delivery of it, a retry
or a replay, is the same bytes with the same id:

    {"id": "evt_000001", "type": "order.created", "timestamp": "2026-12-07T16:40:00Z", "data": {...}}

Deliveries are signed as the Standard Webhooks specification says (https://www.standardwebhooks.com/,
the scheme of Svix and others, with reference libraries in most languages). Each is a POST with

    content-type: application/json
    webhook-id: evt_000001
    webhook-timestamp: 1796650012
    webhook-signature: v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=

where the signature is base64 HMAC-SHA256 of `"{id}.{timestamp}.{body}"`, keyed with the lesson's
secret `whsec_BASE64` decoded, and the timestamp is the real time of this delivery in Unix seconds (the
receiver compares it with its own clock). A receiver checks the signature, then that the timestamp is
recent, then that it has not handled this id. A 2xx answer ends the delivery; anything else (an error,
a timeout, nothing listening) schedules the next attempt `backoff_seconds * 2^(n-1)` lesson seconds
later, up to `retries` more. The deliveries, their attempts and the event counter are in the state
snapshot.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import http.client
import json
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from sandboxes.api.state import Clock
    from tutor.pack.sandbox_api import Webhooks

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not one
KEEP = 500
"""Deliveries kept (the oldest finished ones go first)."""
MAX_SENDS = 500
"""Attempts one catch-up sends at most (a clock moved a year ahead does not send forever)."""


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_BASE64` secret (ValueError when it is not one)."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret starts with {SECRET_PREFIX}")
    try:
        return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error as exc:
        raise ValueError(f"after {SECRET_PREFIX}, a webhook secret is base64: {exc}") from None


def sign(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: `v1,BASE64` of HMAC-SHA256 over `"{id}.{timestamp}.{body}"`."""
    signed = f"{event_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(secret_key(secret), signed, hashlib.sha256).digest()).decode()


def signed_headers(secret: str, event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": "backend-tutor-webhooks/1",
        ID_HEADER: event_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, event_id, timestamp, body),
    }


TAMPERS = ("none", "signature", "body", "stale", "unsigned")


def probe_delivery(
    secret: str,
    event_id: str,
    body: bytes,
    *,
    tamper: str = "none",
    tolerance: int = 300,
    rotating: bool = False,
) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of a delivery as the sandbox sends it, or tampered with as a forger would: signed
    with another secret, its body changed after signing, signed too long ago, or not signed at all.
    `rotating`: signed as a sender signs while it rotates its secret, first with the secret it is
    retiring (one the receiver no longer knows), then with the lesson's, the two space-separated."""
    if tamper not in TAMPERS:
        raise ValueError(f"tamper is one of {', '.join(TAMPERS)}")
    timestamp = int(time.time()) - (tolerance + 60 if tamper == "stale" else 0)
    key = SECRET_PREFIX + base64.b64encode(b"not the lesson's secret, a forger's").decode()
    headers = signed_headers(key if tamper == "signature" else secret, event_id, timestamp, body)
    if rotating:
        retired = SECRET_PREFIX + base64.b64encode(b"the secret the sender is retiring").decode()
        headers[SIGNATURE_HEADER] = f"{sign(retired, event_id, timestamp, body)} {headers[SIGNATURE_HEADER]}"
    if tamper == "unsigned":
        del headers[SIGNATURE_HEADER]
    if tamper == "body":
        data = json.loads(body)
        data["data"] = {**data.get("data", {}), "tampered": True}
        body = json.dumps(data, separators=(",", ":")).encode()
    return body, headers


def verify(secret: str, headers: dict[str, str], body: bytes, now: float, tolerance: float) -> str | None:
    """None when `headers` sign `body` with `secret` within `tolerance` seconds of `now`; else why not.
    What a receiver does, in the specification's order."""
    lower = {k.lower(): v for k, v in headers.items()}
    event_id, stamp, signature = (lower.get(h) for h in (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER))
    if not event_id or not stamp or not signature:
        return "a webhook header is missing"
    if not stamp.isdigit():
        return "the timestamp is not Unix seconds"
    expected = sign(secret, event_id, int(stamp), body)
    if not any(hmac.compare_digest(expected, s) for s in signature.split(" ")):
        return "bad signature"
    if abs(now - int(stamp)) > tolerance:
        return "stale timestamp"
    return None


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_endpoint(url: str) -> str | None:
    """None when `url` is an http URL on a loopback address; else why it cannot be an endpoint."""
    import ipaddress

    try:
        parts = urlsplit(url)
    except ValueError:
        return "not a URL"
    if parts.scheme != "http" or not parts.hostname:
        return "must be http://HOST:PORT/path"
    if parts.hostname != "localhost":
        try:
            if not ipaddress.ip_address(parts.hostname).is_loopback:
                return "must be on this machine (127.0.0.1): the sandbox sends nothing elsewhere"
        except ValueError:
            return "the host must be 127.0.0.1 or localhost"
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "the port is not a number from 0 to 65535"
    return None


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, str | None, float]:
    """One delivery: (status or 0, the problem if there was no answer, milliseconds)."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    begin = time.perf_counter()
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)
        return response.status, None, (time.perf_counter() - begin) * 1000
    except TimeoutError:
        return 0, f"no answer within {timeout:g} s", (time.perf_counter() - begin) * 1000
    except ConnectionRefusedError:
        return 0, "nothing listens there (connection refused)", (time.perf_counter() - begin) * 1000
    except (OSError, http.client.HTTPException) as exc:
        return 0, f"the connection failed: {exc}", (time.perf_counter() - begin) * 1000
    finally:
        connection.close()


class WebhookHub:
    """The lesson's events and their deliveries. `memory` is in the state snapshot."""

    def __init__(self, settings: Webhooks, clock: Clock, lock: threading.RLock) -> None:
        self.settings = settings
        self.clock = clock
        self.lock = lock  # the state's lock, for the memory
        self.sending = threading.Lock()
        """Held while deliveries are sent (by the ticker or a request catching up), one sender at a time."""
        self.memory: dict[str, Any] = {"seq": 0, "endpoint": settings.endpoint, "deliveries": {}}
        self.log: Any = None
        """The request log (`sandboxes.api.logs.RequestLog`), with `logs.background`: a line per attempt."""

    # -- events ---------------------------------------------------------------------------------
    def event(self, kind: str, data: Any) -> tuple[str, str]:
        """A new event: (its id, its body). Ids come from a counter in the state snapshot."""
        with self.lock:
            self.memory["seq"] += 1
            event_id = f"evt_{self.memory['seq']:06d}"
            body = json.dumps(
                {"id": event_id, "type": kind, "timestamp": iso(self.clock.now()), "data": data},
                ensure_ascii=False,
                separators=(",", ":"),
            )
            return event_id, body

    def probe_event(self, kind: str, data: Any) -> tuple[str, str]:
        """An event for the checker to send a learner's receiver itself: a random id (never one the
        lesson's own events take, nor one of an earlier check an app may have stored as handled), and
        nothing of it in the lesson's memory."""
        import secrets

        event_id = f"evt_{secrets.token_hex(8)}"
        body = {"id": event_id, "type": kind, "timestamp": iso(self.clock.now()), "data": data}
        return event_id, json.dumps(body, ensure_ascii=False, separators=(",", ":"))

    def emit(self, kind: str, data: Any, *, request_id: str | None = None) -> dict[str, Any]:
        """Make an event and its delivery, due now; `request_id`: the request that caused it (the
        delivery's log lines carry it)."""
        with self.lock:
            event_id, body = self.event(kind, data)
            now = self.clock.now()
            delivery = {
                "id": event_id,
                "type": kind,
                "body": body,
                "created": now,
                "state": "pending",
                "next_at": now,
                "attempts": [],
                "request_id": request_id,
            }
            deliveries = self.memory["deliveries"]
            deliveries[event_id] = delivery
            if len(deliveries) > KEEP:
                for old in [k for k, d in deliveries.items() if d["state"] != "pending"][: len(deliveries) - KEEP]:
                    del deliveries[old]
            return dict(delivery)

    def headers(self, delivery: dict[str, Any], timestamp: int) -> dict[str, str]:
        return signed_headers(self.settings.secret, delivery["id"], timestamp, delivery["body"].encode())

    # -- sending --------------------------------------------------------------------------------
    def due(self, now: float) -> list[str]:
        with self.lock:
            if not self.memory["endpoint"]:
                return []
            due = [
                d
                for d in self.memory["deliveries"].values()
                if d["state"] == "pending" and d["next_at"] is not None and d["next_at"] <= now
            ]
            return [d["id"] for d in sorted(due, key=lambda d: d["next_at"])]

    def catch_up(self, budget: float | None = None) -> int:
        """Send every delivery that is due on the lesson clock, the earliest first, each attempt dated
        when it was due: after the clock jumped an hour, a failing app meets every retry of that hour in
        order, as it would have. How many were sent (at most MAX_SENDS at once). `budget`: seconds of
        real time to spend at most (an app that never answers costs `timeout_ms` per attempt); what is
        left stays due for the next catch-up."""
        sent = 0
        deadline = None if budget is None else time.monotonic() + budget
        with self.sending:
            while sent < MAX_SENDS and (deadline is None or time.monotonic() < deadline):
                due = self.due(self.clock.now())
                if not due:
                    break
                self.attempt(due[0], scheduled=True)
                sent += 1
        return sent

    def redeliver(self, event_id: str) -> dict[str, Any]:
        """Deliver an event again by hand, now (one sender at a time, as the ticker's)."""
        with self.sending:
            return self.attempt(event_id, redeliver=True)

    def attempt(self, event_id: str, *, redeliver: bool = False, scheduled: bool = False) -> dict[str, Any]:
        """Deliver one event now; schedule its retry on failure (not for a redelivery by hand).
        `scheduled`: the attempt is dated on the lesson clock when it was due, not now."""
        with self.lock:
            delivery = self.memory["deliveries"][event_id]
            endpoint = self.memory["endpoint"]
            number = len(delivery["attempts"]) + 1
            now = self.clock.now()
            if scheduled and delivery["next_at"] is not None:
                now = min(now, delivery["next_at"])
            body = delivery["body"].encode()
            # the signature's time is real time: the receiver compares it with its own clock
            headers = self.headers(delivery, int(time.time()))
        problem: str | None
        if not endpoint:
            status, problem, ms = 0, "no endpoint is set (PUT /_sandbox/webhooks)", 0.0
        else:
            status, problem, ms = post(endpoint, body, headers, self.settings.timeout_ms / 1000)
        ok = 200 <= status < 300
        with self.lock:
            record = {
                "attempt": number,
                "at": round(now, 3),
                "timestamp": int(headers[TIMESTAMP_HEADER]),
                "endpoint": endpoint,
                "status": status,
                "ms": round(ms, 1),
                "redelivery": redeliver,
            }
            if problem:
                record["problem"] = problem
            elif not ok:
                record["problem"] = f"the app answered {status}"
            delivery["attempts"].append(record)
            if self.log is not None:
                self._line(delivery, record)
            if ok:
                delivery["state"], delivery["next_at"] = "delivered", None
            elif not redeliver and delivery["state"] == "pending":
                failures = sum(1 for a in delivery["attempts"] if not a["redelivery"])
                if failures > self.settings.retries:
                    delivery["state"], delivery["next_at"] = "failed", None
                else:
                    delivery["next_at"] = now + self.settings.backoff_seconds * 2 ** (failures - 1)
            return dict(record)

    def _line(self, delivery: dict[str, Any], record: dict[str, Any]) -> None:
        from sandboxes.api.logs import iso_time, level_of

        line: dict[str, Any] = {
            "time": iso_time(record["at"]),
            "level": level_of(record["status"]) if record["status"] else "error",
            "service": "webhooks",
            "request_id": delivery.get("request_id"),
            "event": delivery["id"],
            "type": delivery["type"],
            "attempt": record["attempt"],
            "endpoint": record["endpoint"],
            "status": record["status"],
            "duration_ms": record["ms"],
        }
        if record.get("problem"):
            line["problem"] = record["problem"]
        self.log.write(line)

    def describe(self, delivery: dict[str, Any], now: float) -> dict[str, Any]:
        out = {k: v for k, v in delivery.items() if k != "body"}
        out["event"] = json.loads(delivery["body"])
        if delivery["next_at"] is not None:
            out["next_in"] = round(max(delivery["next_at"] - now, 0.0), 3)
        return out
