"""Webhooks: events the sandbox delivers to an app on 127.0.0.1, signed as Standard Webhooks 1.0 says,
retried with a doubling backoff on the lesson clock until the app answers 2xx, with the same id and
body each time. Receivers here are real HTTP servers; signatures are checked by an implementation of
the specification written here from its text (and by its reference library when it is installed)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from sandboxes.api.sandbox import ApiSandbox
from sandboxes.api.webhooks import probe_delivery, verify
from tutor.pack.sandbox_api import ApiSettings

SECRET = "whsec_" + base64.b64encode(b"backend-tutor lesson key 0123").decode()


class Receiver:
    """An app's webhook endpoint: answers each POST with the next status of `answers` (the last one
    again when they run out), after `delay` seconds; keeps what it was sent."""

    def __init__(self, answers: list[int], delay: float = 0.0) -> None:
        self.answers = list(answers)
        self.delay = delay
        self.got: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                time.sleep(receiver.delay)
                status = receiver.answers.pop(0) if len(receiver.answers) > 1 else receiver.answers[0]
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def spec_signature(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The specification's check, from its text: HMAC-SHA256, keyed with the base64 after `whsec_`,
    over `id.timestamp.body`, base64, as one of the space-separated `v1,` signatures."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return expected in headers["webhook-signature"].split(" ")


def settings(endpoint: str | None, **more: Any) -> ApiSettings:
    return ApiSettings.model_validate(
        {
            "resources": [{"name": "orders", "table": "orders", "writable": True}],
            "webhooks": {
                "secret": SECRET,
                "endpoint": endpoint,
                "events": [{"type": "order.created", "after": {"resource": "orders"}}],
                "backoff_seconds": 10,
                "retries": 3,
                **more,
            },
        }
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "lesson.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL)")
    return path


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([200])
    yield r
    r.close()


def start(db: Path, endpoint: str | None, **more: Any) -> ApiSandbox:
    return ApiSandbox.start(settings(endpoint, **more), database=db)


def client(api: ApiSandbox) -> httpx.Client:
    return httpx.Client(base_url=api.base_url, trust_env=False, timeout=10)


def attempts(c: httpx.Client, event_id: str = "evt_000001") -> list[tuple[int, str]]:
    """(status, problem) of each attempt so far (reading /_sandbox/webhooks sends what is due first)."""
    c.get("/_sandbox/webhooks")
    got = c.get(f"/_sandbox/webhooks/deliveries/{event_id}").json()
    return [(a["status"], a.get("problem", "")) for a in got["attempts"]]


def test_a_write_sends_an_event_signed_as_standard_webhooks_says(db: Path, receiver: Receiver) -> None:
    api = start(db, receiver.url)
    try:
        with client(api) as c:
            assert c.post("/v1/orders", json={"item": "pen"}).status_code == 201
            assert attempts(c) == [(200, "")]
    finally:
        api.stop()
    [(headers, body)] = receiver.got
    event = json.loads(body)
    assert (event["id"], event["type"], event["data"]) == ("evt_000001", "order.created", {"id": 1, "item": "pen"})
    assert headers["webhook-id"] == "evt_000001" and headers["content-type"] == "application/json"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5  # real time: the receiver's clock
    assert spec_signature(SECRET, headers, body)
    assert not spec_signature("whsec_" + base64.b64encode(b"another key, 24 bytes long").decode(), headers, body)
    assert verify(SECRET, headers, body, time.time(), 300) is None


def test_the_reference_library_accepts_the_signature(db: Path, receiver: Receiver) -> None:
    """The specification's own Python library (a dev dependency) is the referee, as in tests/api/test_referees.py."""
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    api = start(db, receiver.url)
    try:
        with client(api) as c:
            c.post("/v1/orders", json={"item": "pen"})
            assert attempts(c) == [(200, "")]
    finally:
        api.stop()
    [(headers, body)] = receiver.got
    assert Webhook(SECRET).verify(body, headers)["id"] == "evt_000001"
    for tamper in ("signature", "body", "stale", "unsigned"):
        forged, forged_headers = probe_delivery(SECRET, "evt_000009", body, tamper=tamper)
        with pytest.raises(WebhookVerificationError):
            Webhook(SECRET).verify(forged, forged_headers)


def test_a_failed_delivery_is_retried_on_the_lesson_clock_with_the_same_id_and_body(db: Path) -> None:
    flaky = Receiver([500, 503, 200])
    api = start(db, flaky.url)
    try:
        with client(api) as c:
            c.post("/v1/orders", json={"item": "pen"})
            assert attempts(c) == [(500, "the app answered 500")]
            assert c.get("/_sandbox/webhooks/deliveries/evt_000001").json()["next_in"] == pytest.approx(10, abs=0.5)
            api.advance_clock(9)
            assert len(attempts(c)) == 1  # not due yet
            api.advance_clock(1.5)
            assert attempts(c)[1] == (503, "the app answered 503")
            api.advance_clock(19)
            assert len(attempts(c)) == 2  # the backoff doubled: 20 s
            api.advance_clock(1.5)
            assert attempts(c)[2] == (200, "")
            delivery = c.get("/_sandbox/webhooks/deliveries/evt_000001").json()
            assert delivery["state"] == "delivered" and "next_in" not in delivery
            api.advance_clock(600)
            assert len(attempts(c)) == 3  # delivered: no more
    finally:
        api.stop()
        flaky.close()
    assert len(flaky.got) == 3
    assert {h["webhook-id"] for h, _ in flaky.got} == {"evt_000001"}
    assert len({b for _, b in flaky.got}) == 1  # the same bytes each time
    assert all(spec_signature(SECRET, h, b) for h, b in flaky.got)


def test_retries_run_out_and_the_delivery_is_failed(db: Path) -> None:
    down = Receiver([503])
    api = start(db, down.url, retries=2)
    try:
        with client(api) as c:
            c.post("/v1/orders", json={"item": "pen"})
            for _ in range(4):
                api.advance_clock(100)
                attempts(c)
            delivery = c.get("/_sandbox/webhooks/deliveries/evt_000001").json()
            assert delivery["state"] == "failed" and len(delivery["attempts"]) == 3  # the first and 2 retries
            again = c.post("/_sandbox/webhooks/deliveries/evt_000001/redeliver").json()
            assert again["this_attempt"]["redelivery"] is True and again["state"] == "failed"
    finally:
        api.stop()
        down.close()
    assert len(down.got) == 4


def test_nothing_listening_and_a_slow_app_are_failed_attempts_in_words(db: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    slow = Receiver([200], delay=1.0)
    api = start(db, f"http://127.0.0.1:{closed}/hooks", timeout_ms=200)
    try:
        with client(api) as c:
            c.post("/v1/orders", json={"item": "pen"})
            assert attempts(c) == [(0, "nothing listens there (connection refused)")]
            assert c.put("/_sandbox/webhooks", json={"endpoint": slow.url}).status_code == 200
            api.advance_clock(10.5)
            assert attempts(c)[1] == (0, "no answer within 0.2 s")
    finally:
        api.stop()
        slow.close()


def test_deliveries_go_out_without_a_request_to_the_sandbox(db: Path, receiver: Receiver) -> None:
    api = start(db, receiver.url)
    try:
        with client(api) as c:
            c.post("/_sandbox/webhooks/events", json={"type": "order.paid", "data": {"order": 7}})
        deadline = time.monotonic() + 5
        while not receiver.got and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        api.stop()
    [(headers, body)] = receiver.got
    assert json.loads(body)["data"] == {"order": 7} and spec_signature(SECRET, headers, body)


def without_time(body: bytes) -> dict[str, Any]:
    """An event as sent, but its `timestamp`: the lesson clock after a reset is where the step opened plus
    the real time since, so a replay a second later dates its events a second later."""
    event = json.loads(body)
    del event["timestamp"]
    return event


def test_a_restored_state_replays_the_same_deliveries(db: Path) -> None:
    flaky = Receiver([200])
    api = start(db, flaky.url)

    def run() -> list[Any]:
        flaky.answers = [500, 502, 200]
        flaky.got.clear()
        with client(api) as c:
            c.post("/v1/orders", json={"item": "pen"})
            c.post("/_sandbox/webhooks/events", json={"type": "order.paid", "data": {"order": 1}})
            for step in (5, 6, 12, 25):
                api.advance_clock(step)
                c.get("/_sandbox/webhooks")
            listed = c.get("/_sandbox/webhooks").json()["deliveries"]
        return [
            (d["id"], d["state"], [(a["attempt"], a["status"], round(a["at"] - d["created"])) for a in d["attempts"]])
            for d in listed
        ] + [[(h["webhook-id"], without_time(b)) for h, b in flaky.got]]

    try:
        before = api.snapshot()
        first = run()
        api.restore(before)
        with sqlite3.connect(db) as conn:
            conn.execute("DELETE FROM orders")  # the lesson database is reset with the step
        assert run() == first
    finally:
        api.stop()
        flaky.close()
    assert [d[0] for d in first[:2]] == ["evt_000001", "evt_000002"]
    assert first[0][2][:2] == [(1, 500, 0), (2, 200, 10)]  # evt 1 met the 500, evt 2 the 502 at once; 10 s on


def test_the_checker_s_forgeries_are_refused_by_the_specification(db: Path) -> None:
    api = start(db, None)
    try:
        evidence = api.evidence()
        outcome = {}
        for tamper in ("none", "signature", "body", "stale", "unsigned"):
            _, _, sent, headers = evidence.webhook_probe("order.paid", {"order": 1}, tamper=tamper)
            outcome[tamper] = verify(SECRET, headers, sent, time.time(), 300)
        with client(api) as c:  # the checker's probes took none of the lesson's own event ids
            assert c.post("/_sandbox/webhooks/events", json={"type": "a.b"}).json()["id"] == "evt_000001"
        event_id, _body, sent, headers = evidence.webhook_probe("x.y", {}, again=("evt_000001", b'{"id":"evt_000001"}'))
        assert (event_id, sent, headers["webhook-id"]) == ("evt_000001", b'{"id":"evt_000001"}', "evt_000001")
    finally:
        api.stop()
    assert outcome == {
        "none": None,
        "signature": "bad signature",
        "body": "bad signature",
        "stale": "stale timestamp",
        "unsigned": "a webhook header is missing",
    }


def test_an_endpoint_off_this_machine_or_a_weak_secret_is_refused(db: Path) -> None:
    api = start(db, None)
    try:
        with client(api) as c:
            for url in ("http://10.0.0.1/hooks", "https://127.0.0.1/hooks", "http://example.com/hooks"):
                refused = c.put("/_sandbox/webhooks", json={"endpoint": url})
                assert refused.status_code == 422, url
            assert c.get("/_sandbox/webhooks").json()["endpoint"] is None
    finally:
        api.stop()
    with pytest.raises(ValidationError, match="must be on this machine"):
        settings("http://192.168.1.5:8000/hooks")
    with pytest.raises(ValidationError, match="24 to 64"):
        settings(None).model_validate(
            {**settings(None).model_dump(), "webhooks": {"secret": "whsec_" + base64.b64encode(b"short").decode()}}
        )
    with pytest.raises(ValidationError, match="whsec_"):
        ApiSettings.model_validate({"webhooks": {"secret": "a plain password of some length"}})


def test_probe_delivery_refuses_an_unknown_tamper() -> None:
    with pytest.raises(ValueError, match="tamper is one of"):
        probe_delivery(SECRET, "evt_1", b"{}", tamper="sometimes")


def test_grep_one_request_id_finds_the_request_its_job_and_the_job_s_webhook_attempts(db: Path, tmp_path: Path) -> None:
    from sandboxes.api import logs

    flaky = Receiver([503, 200])
    lesson = ApiSettings.model_validate(
        {
            "resources": [{"name": "orders", "table": "orders", "writable": True}],
            "logs": {},
            "jobs": {
                "kinds": [{"name": "ship", "seconds": 3, "after": {"resource": "orders"}, "emits": "order.shipped"}]
            },
            "webhooks": {"secret": SECRET, "endpoint": flaky.url, "backoff_seconds": 10},
        }
    )
    api = ApiSandbox.start(lesson, database=db, log_path=tmp_path / "requests.log")
    try:
        with client(api) as c:
            request_id = c.post("/v1/orders", json={"item": "pen"}).headers["x-request-id"]
            c.post("/v1/orders", json={"item": "ink"})  # another request: its lines are not in the story
            api.advance_clock(3.5)
            api.advance_clock(10)
            c.get("/_sandbox/webhooks")
        story = logs.story(api.log_path, request_id)
    finally:
        api.stop()
        flaky.close()
    assert [(r["service"], r.get("event") or r["path"], r.get("status")) for r in story] == [
        ("api", "/v1/orders", 201),
        ("worker", "done", None),
        ("webhooks", "evt_000001", 503),
        ("webhooks", "evt_000001", 200),
    ]
    assert story[2]["problem"] == "the app answered 503" and story[2]["level"] == "error"
    assert [logs.line_text(r).split("  ")[1:3] for r in story[1:3]] == [["worker", "done"], ["webhooks", "503"]]


def test_after_a_jump_of_the_clock_every_retry_due_is_sent_in_order_dated_when_it_was_due(db: Path) -> None:
    down = Receiver([503])
    api = start(db, None, retries=3)
    try:
        with client(api) as c:
            c.post("/_sandbox/webhooks/events", json={"type": "a.b"})
            c.post("/_sandbox/webhooks/events", json={"type": "c.d"})
            api.advance_clock(15)  # neither was sent: no endpoint yet
            c.put("/_sandbox/webhooks", json={"endpoint": down.url})
            api.advance_clock(3600)
            listed = c.get("/_sandbox/webhooks").json()["deliveries"]
    finally:
        api.stop()
        down.close()
    for delivery in listed:
        assert delivery["state"] == "failed"
        at = [a["at"] - delivery["attempts"][0]["at"] for a in delivery["attempts"]]
        assert at == pytest.approx([0, 10, 30, 70], abs=0.01)  # the first when the endpoint came, then 10, 20, 40
    assert [h["webhook-id"] for h, _ in down.got] == ["evt_000001", "evt_000002"] + ["evt_000001", "evt_000002"] * 3


def test_an_app_that_never_answers_holds_a_request_for_its_budget_not_for_every_timeout(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sandboxes.api import background

    monkeypatch.setattr(background, "REQUEST_BUDGET", 0.5)
    hanging = Receiver([200], delay=2.0)
    api = start(db, None, timeout_ms=200)
    try:
        with client(api) as c:
            for n in range(20):
                c.post("/_sandbox/webhooks/events", json={"type": "a.b", "data": {"n": n}})
            began = time.monotonic()
            assert c.put("/_sandbox/webhooks", json={"endpoint": hanging.url}).status_code == 200
            assert time.monotonic() - began < 1.5  # 20 attempts of 0.2 s would be 4 s
            counts = c.get("/_sandbox/webhooks").json()["counts"]
            assert counts["pending"] == 20  # every one failed once or waits: none is lost
    finally:
        api.stop()
        hanging.close()


def test_events_follow_the_writes_the_lesson_names_and_no_others(db: Path, receiver: Receiver) -> None:
    lesson = ApiSettings.model_validate(
        {
            "resources": [{"name": "orders", "table": "orders", "writable": True}],
            "webhooks": {
                "secret": SECRET,
                "endpoint": receiver.url,
                "events": [
                    {"type": "order.changed", "after": {"resource": "orders", "write": ["patch", "replace"]}},
                    {"type": "order.deleted", "after": {"resource": "orders", "write": ["delete"]}},
                ],
            },
        }
    )
    api = ApiSandbox.start(lesson, database=db)
    try:
        with client(api) as c:
            c.post("/v1/orders", json={"item": "pen"})  # no event for a create here
            c.patch("/v1/orders/1", json={"item": "ink"})
            c.put("/v1/orders/1", json={"item": "nib"})
            c.delete("/v1/orders/1")
            c.patch("/v1/orders/1", json={"item": "gone"})  # a 404: nothing was written
            c.get("/_sandbox/webhooks")
    finally:
        api.stop()
    events = [json.loads(body) for _, body in receiver.got]
    assert [(e["type"], e["data"]) for e in events] == [
        ("order.changed", {"id": 1, "item": "ink"}),
        ("order.changed", {"id": 1, "item": "nib"}),
        ("order.deleted", {"id": 1}),
    ]
