"""Two ways a genuine delivery differs from the first one a receiver sees, each of which a receiver can be
shaped to miss: a `webhook-signature` that holds two signatures while the sender rotates its secret (the
retired secret's first; Standard Webhooks lets the consumer try each until one matches), and a retry whose
JSON the sender wrote afresh (the same `webhook-id`, other bytes). A receiver that reads only the first
signature, or that knows an event by a hash of its body, passes a check without them and is refused with
them."""

from __future__ import annotations

from pathlib import Path

from tests.code.test_webhook_receiver import SECRET, app
from tests.pack.helpers import write_pack
from tutor.pack.loader import load_pack_or_raise
from tutor.packtest import run_pack_test

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
    title: Every signature, and the id
    text: Check each signature in the header, and know an event by its id.
    check:
      kind: code_http
      steps:
        - request: {{method: POST, path: /webhooks}}
          webhook: {{type: order.paid, data: {{order: 7, by: Zoë}}ROTATING}}
          expect: {{status: [200, 202, 204]}}
        - request: {{method: POST, path: /webhooks}}
          webhook: {{again: trueREWRITTEN}}
          expect: {{status: [200, 202, 204]}}
        - request: {{method: GET, path: /paid}}
          expect: {{status: 200, json: {{paid: [7]}}}}
    hints: [every signature]
    solution:
      files: http/hooks/right
    wrong_answers:
      - files: http/hooks/first_signature
        feedback: The header is a list of signatures; any one of them may be the valid one.
      - files: http/hooks/body_hash
        feedback: A retry may be written afresh; only its webhook-id stays the same.
"""


def build(tmp_path: Path, rotating: bool, rewritten: bool) -> Path:
    lesson = LESSON.replace("ROTATING", ", rotating: true" if rotating else "").replace(
        "REWRITTEN", ", encoding: escaped" if rewritten else ""
    )
    root = write_pack(tmp_path, {"http/01-receive.yaml": lesson})
    body_hash = app().replace('event_id = request.headers["webhook-id"]', "event_id = hashlib.sha256(raw).hexdigest()")
    assert body_hash != app()
    for name, text in {
        "starter": app(check="True", window=False, dedupe=False),
        "right": app(),
        "first_signature": app(check="hmac.compare_digest(expected, signature.split()[0])"),
        "body_hash": body_hash,
    }.items():
        folder = root / "http" / "hooks" / name
        folder.mkdir(parents=True)
        (folder / "app.py").write_text(text)
    return root


def verdicts(root: Path) -> dict[str, bool]:
    report = run_pack_test(load_pack_or_raise(root))
    return {c.case: c.passed for c in report.cases if c.severity == "case"}


def test_two_signatures_and_a_rewritten_retry_refuse_receivers_shaped_to_one_delivery(tmp_path: Path) -> None:
    assert verdicts(build(tmp_path / "both", rotating=True, rewritten=True)) == {
        "the starter files": True,
        "wrong answer 1": True,  # refused: the valid signature was the second of the two
        "wrong answer 2": True,  # refused: the retry's bytes differ, so its hash looked new
        "solution": True,
    }


def test_without_them_both_shaped_receivers_pass(tmp_path: Path) -> None:
    # why `rotating` and `again` with `encoding: escaped` exist
    found = verdicts(build(tmp_path / "neither", rotating=False, rewritten=False))
    assert found["wrong answer 1"] is False
    assert found["wrong answer 2"] is False
    assert found["solution"] is True


def test_a_rotating_header_holds_the_retired_signature_first_then_the_valid_one() -> None:
    from sandboxes.api.webhooks import probe_delivery, verify

    body = b'{"id":"evt_1","type":"order.paid","data":{}}'
    _, headers = probe_delivery(SECRET, "evt_1", body, rotating=True)
    now = float(headers["webhook-timestamp"])
    first, second = headers["webhook-signature"].split(" ")
    assert first != second
    assert verify(SECRET, {**headers, "webhook-signature": second}, body, now, 300) is None
    assert verify(SECRET, {**headers, "webhook-signature": first}, body, now, 300) == "bad signature"
    assert verify(SECRET, headers, body, now, 300) is None
