"""A receiver that parses the body and writes it again can be shaped to one sender: written compactly with
non-ASCII characters kept, JSON from Python's own `json.dumps` comes back byte for byte. A `webhook` step
with `encoding: escaped` sends the same kind of event as another sender's library writes it (PHP's
json_encode escapes `/` and every non-ASCII character), which no re-serialisation gives back, so only a
receiver that signs the bytes it received passes."""

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
    title: The bytes as received
    text: Check the signature over the raw body.
    check:
      kind: code_http
      steps:
        - request: {{method: POST, path: /webhooks}}
          webhook: {{type: order.paid, data: {{order: 7, by: Zoë, receipt: "https://shop.example/r/7"}}ENCODING}}
          expect: {{status: [200, 202, 204]}}
        - request: {{method: POST, path: /webhooks}}
          webhook: {{again: true}}
          expect: {{status: [200, 202, 204]}}
        - request: {{method: GET, path: /paid}}
          expect: {{status: 200, json: {{paid: [7]}}}}
    hints: [the raw body]
    solution:
      files: http/hooks/right
    wrong_answers:
      - files: http/hooks/python_compact
        feedback: JSON written again is not the bytes that were signed.
"""

# the most faithful re-serialisation there is, for a sender that writes JSON as Python does
PYTHON_COMPACT = 'json.dumps(json.loads(raw), separators=(",", ":"), ensure_ascii=False).encode()'


def build(tmp_path: Path, encoding: str) -> Path:
    root = write_pack(tmp_path, {"http/01-receive.yaml": LESSON.replace("ENCODING", encoding)})
    for name, text in {
        "starter": app(check="True", window=False, dedupe=False),
        "right": app(),
        "python_compact": app(body=PYTHON_COMPACT),
    }.items():
        folder = root / "http" / "hooks" / name
        folder.mkdir(parents=True)
        (folder / "app.py").write_text(text)
    return root


def verdicts(root: Path) -> dict[str, bool]:
    report = run_pack_test(load_pack_or_raise(root))
    return {c.case: c.passed for c in report.cases if c.severity == "case"}


def test_an_escaped_body_tells_the_raw_bytes_from_json_written_again(tmp_path: Path) -> None:
    assert verdicts(build(tmp_path / "escaped", ", encoding: escaped")) == {
        "the starter files": True,
        "wrong answer 1": True,  # refused: the re-serialised body is not what was signed
        "solution": True,
    }


def test_a_compact_body_is_given_back_by_a_faithful_re_serialisation(tmp_path: Path) -> None:
    # why `escaped` exists: with the sandbox's own compact bodies, the wrong answer passes
    assert verdicts(build(tmp_path / "compact", ""))["wrong answer 1"] is False
