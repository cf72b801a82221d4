"""A build-it webhook receiver judged on real deliveries: `code_http` steps with `webhook` send the
learner's app events signed as the lesson's sandbox signs them (Standard Webhooks 1.0), the same event
again, and forged, altered, stale and unsigned ones. `pack test` tells a safe receiver from each
classic mistake: no signature check, a signature checked over re-serialized JSON, no replay window,
and acting twice on a redelivery."""

from __future__ import annotations

import re
from pathlib import Path

from tests.pack.helpers import problems, write_pack
from tutor.pack.loader import load_pack_or_raise
from tutor.packtest import run_pack_test

SECRET = "whsec_dGhlIHJlZmVyZW5jZSBsZXNzb24gc2lnbmluZyBrZXk="

LESSON = f"""\
id: receive
title: Receiving webhooks safely
track: http
sandboxes:
  api:
    webhooks: {{secret: {SECRET}}}
build:
  starter: http/hooks/starter
  env: {{WEBHOOK_SECRET: "{{{{webhook_secret}}}}"}}
steps:
  - id: receiver
    title: A safe receiver
    text: Check the signature, the timestamp and the id.
    check:
      kind: code_http
      steps:
        - request: {{method: POST, path: /webhooks}}
          webhook: {{type: order.paid, data: {{order: 7}}}}
          expect: {{status: [200, 202, 204]}}
        - request: {{method: POST, path: /webhooks}}
          webhook: {{again: true}}
          expect: {{status: [200, 202, 204]}}
        - request: {{method: GET, path: /paid}}
          expect: {{status: 200, json: {{paid: [7]}}}}
        - request: {{method: POST, path: /webhooks}}
          webhook: {{type: order.paid, data: {{order: 8}}, tamper: signature}}
          expect: {{status: [400, 401, 403]}}
        - request: {{method: POST, path: /webhooks}}
          webhook: {{type: order.paid, data: {{order: 9}}, tamper: body}}
          expect: {{status: [400, 401, 403]}}
        - request: {{method: POST, path: /webhooks}}
          webhook: {{type: order.paid, data: {{order: 10}}, tamper: stale}}
          expect: {{status: [400, 401, 403]}}
        - request: {{method: POST, path: /webhooks}}
          webhook: {{type: order.paid, data: {{order: 11}}, tamper: unsigned}}
          expect: {{status: [400, 401, 403]}}
    hints: [hmac.compare_digest]
    solution:
      files: http/hooks/right
    wrong_answers:
      - files: http/hooks/trusting
        feedback: Anyone can POST to your endpoint; check the signature first.
      - files: http/hooks/reserialized
        feedback: Sign-check the raw bytes you received, not JSON you parsed and wrote again.
      - files: http/hooks/no_window
        feedback: A captured delivery can be sent again years later; check webhook-timestamp.
      - files: http/hooks/twice
        feedback: Deliveries come at least once; remember the webhook-id you handled.
"""

APP = """\
import base64, hashlib, hmac, json, os, time
from fastapi import FastAPI, Request, Response

app = FastAPI()
KEY = base64.b64decode(os.environ["WEBHOOK_SECRET"].removeprefix("whsec_"))
seen = set()
paid = []

def signed(headers, body):
    msg_id, stamp, signature = (headers.get(h, "") for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and stamp.isdigit() and signature):
        return False
    mac = hmac.new(KEY, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(mac).decode()
    return CHECK_SIGNATURE

@app.post("/webhooks")
async def webhooks(request: Request):
    raw = await request.body()
    body = BODY
    if not signed(request.headers, body):
        return Response(status_code=401)
    if WINDOW and abs(time.time() - int(request.headers["webhook-timestamp"])) > 300:
        return Response(status_code=401)
    event_id = request.headers["webhook-id"]
    if DEDUPE and event_id in seen:
        return Response(status_code=200)
    seen.add(event_id)
    paid.append(json.loads(raw)["data"]["order"])
    return Response(status_code=200)

@app.get("/paid")
def listing():
    return {"paid": paid}
"""

GOOD = "any(hmac.compare_digest(expected, s) for s in signature.split())"


def app(check: str = GOOD, body: str = "raw", window: bool = True, dedupe: bool = True) -> str:
    return (
        APP.replace("CHECK_SIGNATURE", check)
        .replace("BODY", body)
        .replace("WINDOW", str(window))
        .replace("DEDUPE", str(dedupe))
    )


def build_pack(tmp_path: Path, lesson: str = LESSON) -> Path:
    root = write_pack(tmp_path, {"http/01-receive.yaml": lesson})
    versions = {
        "starter": app(check="True", window=False, dedupe=False),
        "right": app(),
        "trusting": app(check="True"),
        "reserialized": app(body="json.dumps(json.loads(raw)).encode()"),
        "no_window": app(window=False),
        "twice": app(dedupe=False),
    }
    for name, text in versions.items():
        folder = root / "http" / "hooks" / name
        folder.mkdir(parents=True)
        (folder / "app.py").write_text(text)
    return root


def test_pack_test_tells_a_safe_receiver_from_each_classic_mistake(tmp_path: Path) -> None:
    report = run_pack_test(load_pack_or_raise(build_pack(tmp_path)))
    cases = {c.case: c for c in report.cases if c.severity == "case"}
    assert {name: c.passed for name, c in cases.items()} == {
        "the starter files": True,
        "wrong answer 1": True,
        "wrong answer 2": True,
        "wrong answer 3": True,
        "wrong answer 4": True,
        "solution": True,
    }, [c.line_text() for c in report.cases]


def test_the_words_say_what_the_delivery_was(tmp_path: Path) -> None:
    from tutor.paths import Home
    from tutor.session import Session

    pack = load_pack_or_raise(build_pack(tmp_path / "pack"))
    lesson = pack.lessons[0].lesson
    step = lesson.steps[0]
    results = {}
    with Session(pack, lesson, Home(tmp_path / "home").ensure()) as session:
        session.start()
        assert session.code is not None and session.code.environment()["WEBHOOK_SECRET"] == SECRET
        session.begin_step(step)
        for name in ("trusting", "reserialized", "no_window", "twice", "right"):
            session.apply(type(step.solution).model_validate({"files": f"http/hooks/{name}"}))
            results[name] = session.check(step)
    assert results["right"].passed
    trusting = results["trusting"]
    assert trusting.summary.startswith("Request 4 of 7: POST /webhooks answered 200"), trusting.summary
    assert re.fullmatch(
        r"This request was event evt_[0-9a-f]{16} signed with another secret, as a forger would sign it: the "
        r"webhook-signature does not match\.",
        trusting.details[0],
    ), trusting.details
    assert results["reserialized"].summary.startswith("Request 1 of 7: POST /webhooks answered 401")
    assert "signed with the lesson's secret as a real delivery is" in results["reserialized"].details[0]
    assert results["no_window"].summary.startswith("Request 6 of 7")
    assert "outside the replay window" in results["no_window"].details[0]
    assert results["twice"].summary.startswith("Request 3 of 7: GET /paid answered 200")


def test_a_webhook_step_needs_the_lesson_s_webhooks_and_again_needs_an_earlier_one(tmp_path: Path) -> None:
    no_hooks = LESSON.replace(f"  api:\n    webhooks: {{secret: {SECRET}}}\n", "  api: {}\n")
    no_hooks = no_hooks.replace('  env: {WEBHOOK_SECRET: "{{webhook_secret}}"}\n', "")
    found = problems(build_pack(tmp_path / "a", no_hooks))
    assert any(
        p.startswith("http/01-receive.yaml:19:11:") and "add `sandboxes.api.webhooks` with a `secret`" in p
        for p in found
    ), found
    first_again = LESSON.replace("webhook: {type: order.paid, data: {order: 7}}", "webhook: {again: true}", 1)
    found = problems(build_pack(tmp_path / "b", first_again))
    assert any("step 1's webhook has `again: true`, but no step before it sends a webhook" in p for p in found), found
