"""`pack test` judges every case from the state the step opened with, database and API memory both,
and time in a lesson is the lesson clock's (`wait`), not a real sleep."""

from __future__ import annotations

import time
from pathlib import Path

from tests.pack.helpers import MANIFEST, problems, write_pack
from tutor.pack.loader import load_pack_or_raise
from tutor.packtest import run_pack_test

CACHING = "caching/01-validators-and-app-cache.yaml"

MISS_THEN_HIT_SOLUTION = """\
    solution:
      requests:
        - {method: GET, path: /v1/books/3}
        - {method: GET, path: /v1/books/3}
"""
MISS_THEN_HIT_WRONG_1 = "      - requests: [{method: GET, path: /v1/books/4}]\n"


def _failures(root: Path, lesson: str) -> list[str]:
    report = run_pack_test(load_pack_or_raise(root), lesson_id=lesson)
    return [c.line_text() for c in report.failures]


def test_a_wrong_answer_as_solution_fails_although_an_earlier_case_warmed_the_cache(pack_copy: Path) -> None:
    """The first wrong answer (one GET of book 4) leaves book 4 in the application cache. If that
    memory leaked into the solution's run, the same single GET would hit and pass."""
    path = pack_copy / CACHING
    text = path.read_text(encoding="utf-8")
    assert MISS_THEN_HIT_SOLUTION in text and MISS_THEN_HIT_WRONG_1 in text
    text = text.replace(
        MISS_THEN_HIT_SOLUTION, "    solution:\n      requests:\n        - {method: GET, path: /v1/books/4}\n"
    )
    path.write_text(text, encoding="utf-8")
    failures = _failures(pack_copy, "validators-and-app-cache")
    assert len(failures) == 1, failures
    assert "validators-and-app-cache/miss-then-hit: the solution was rejected" in failures[0]


def test_the_solution_as_a_wrong_answer_is_accepted(pack_copy: Path) -> None:
    path = pack_copy / CACHING
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        MISS_THEN_HIT_WRONG_1,
        "      - requests: [{method: GET, path: /v1/books/3}, {method: GET, path: /v1/books/3}]\n",
    )
    path.write_text(text, encoding="utf-8")
    failures = _failures(pack_copy, "validators-and-app-cache")
    assert len(failures) == 1, failures
    assert "miss-then-hit: wrong answer 1 was accepted" in failures[0]


RATE_LIMITED = """\
id: {id}
title: Buckets
track: http
sandboxes:
  sql:
    tables:
      - name: books
        rows: 5
        primary_key: id
        columns:
          - {{name: id, gen: sequence}}
          - {{name: title, gen: template, template: "Book {{n}}"}}
  api:
    resources:
      - {{name: books, table: books}}
    rate_limit: {{capacity: 2, refill_per_second: 0.1}}
steps:
{steps}
"""

DRAIN_STEP = """\
  - id: {id}
    title: Hit the limit
    text: Send three requests.
    check:
      kind: http_traffic
      expect:
        - request: {{method: GET, path: /v1/books}}
          response: {{status: 429}}
    hints: [Three requests.]
    solution:
      requests:
        - {{method: GET, path: /v1/books}}
        - {{method: GET, path: /v1/books}}
        - {{method: GET, path: /v1/books}}
    wrong_answers:
      - requests: [{{method: GET, path: /v1/books}}, {{method: GET, path: /v1/books}}]
        feedback: Two fit in the bucket.
"""


def test_a_drained_bucket_does_not_leak_from_one_case_to_the_next(tmp_path: Path) -> None:
    """The wrong answer takes both tokens; the bucket is full again for the solution, and the second
    wrong answer (two requests) is still judged against a full bucket, not one the first drained."""
    steps = DRAIN_STEP.format(id="drain").replace(
        "        feedback: Two fit in the bucket.\n",
        "        feedback: Two fit in the bucket.\n"
        "      - requests: [{method: GET, path: /v1/books}, {method: GET, path: /v1/books}]\n",
    )
    root = write_pack(tmp_path / "pack", {"http/01.yaml": RATE_LIMITED.format(id="buckets", steps=steps)})
    report = run_pack_test(load_pack_or_raise(root))
    assert report.failures == [], [c.line_text() for c in report.failures]
    assert report.passed_count == 3


TIME_LESSON = """\
id: time-travel
title: Time in a lesson
track: http
sandboxes:
  sql:
    tables:
      - name: books
        rows: 5
        primary_key: id
        columns:
          - {name: id, gen: sequence}
          - {name: title, gen: template, template: "Book {n}"}
  api:
    resources:
      - {name: books, table: books}
    rate_limit: {capacity: 2, refill_per_second: 0.5}
    auth:
      access_ttl_seconds: 60
      users: [{username: alice, password: wonderland-42}]
steps:
  - id: expire
    title: A token expires
    text: Log in, wait past the token's lifetime, and use it.
    check:
      kind: http_traffic
      expect:
        - request: {method: GET, path: /auth/me}
          response:
            status: 401
            headers: {WWW-Authenticate: "*"}
            json: {detail: "the access token has expired; refresh it or log in again"}
    hints: [Wait longer than access_ttl_seconds.]
    solution:
      requests:
        - {method: POST, path: /auth/login, json: {username: alice, password: wonderland-42},
           save: {token: "json:access_token"}}
        - {wait: 61}
        - {method: GET, path: /auth/me, headers: {Authorization: "Bearer {token}"}}
    wrong_answers:
      - requests:
          - {method: POST, path: /auth/login, json: {username: alice, password: wonderland-42},
             save: {token: "json:access_token"}}
          - {wait: 50}
          - {method: GET, path: /auth/me, headers: {Authorization: "Bearer {token}"}}
        feedback: 50 seconds is still inside the token's 60.
  - id: refill
    title: The bucket refills
    text: Empty the bucket, wait, and be let in again.
    check:
      kind: http_traffic
      in_order: true
      expect:
        - request: {method: GET, path: /v1/books}
          response: {status: 429, headers: {Retry-After: "2"}}
        - request: {method: GET, path: /v1/books}
          response: {status: 200}
    hints: [Retry-After says how long.]
    solution:
      wait: 10
      requests:
        - {method: GET, path: /v1/books}
        - {method: GET, path: /v1/books}
        - {method: GET, path: /v1/books}
        - {wait: 2}
        - {method: GET, path: /v1/books}
    wrong_answers:
      - wait: 10
        requests:
          - {method: GET, path: /v1/books}
          - {method: GET, path: /v1/books}
          - {method: GET, path: /v1/books}
          - {wait: 1}
          - {method: GET, path: /v1/books}
        feedback: Retry-After said 2 seconds; one is not enough.
"""


def test_wait_expires_a_token_and_refills_a_bucket_in_well_under_a_second_per_step(tmp_path: Path) -> None:
    root = write_pack(tmp_path / "pack", {"http/01.yaml": TIME_LESSON})
    began = time.perf_counter()
    report = run_pack_test(load_pack_or_raise(root))
    elapsed = time.perf_counter() - began
    assert report.failures == [], [c.line_text() for c in report.failures]
    assert report.passed_count == 4
    # The two steps wait 61 + 10 + 2 s (and 50 + 10 + 1 s in the wrong answers; 50, not 59,
    # because the token's `iat` is a whole second, so 59 s of waiting can already be past `exp`) of lesson time; a real
    # sleep would take 143 s. What remains is starting the sandboxes and argon2 hashing (about 1.5 s
    # on an idle two-core machine); the bound leaves room for a busy one.
    assert elapsed < 10.0, f"{elapsed:.2f} s for two steps"


def test_a_save_that_finds_nothing_fails_the_case_and_says_where(tmp_path: Path) -> None:
    lesson = TIME_LESSON.replace(
        'save: {token: "json:access_token"}}\n        - {wait: 61}',
        'save: {token: "json:token"}}\n        - {wait: 61}',
    )
    root = write_pack(tmp_path / "pack", {"http/01.yaml": lesson})
    failures = _failures(root, "time-travel")
    assert len(failures) == 1, failures
    assert failures[0].startswith("http/01.yaml:")
    assert "time-travel/expire: the solution was rejected" in failures[0]
    assert "request 1 (POST /auth/login) should save 'token' from json:token" in failures[0]
    assert "has no json:token" in failures[0]


def test_a_placeholder_nothing_saved_fails_the_wrong_answer(tmp_path: Path) -> None:
    lesson = TIME_LESSON.replace(
        '          - {wait: 50}\n          - {method: GET, path: /auth/me, headers: {Authorization: "Bearer {token}"}}',
        '          - {wait: 50}\n          - {method: GET, path: /auth/me, headers: {Authorization: "Bearer {tokn}"}}',
    )
    root = write_pack(tmp_path / "pack", {"http/01.yaml": lesson})
    failures = _failures(root, "time-travel")
    assert len(failures) == 1, failures
    assert "expire: wrong answer 1: the check cannot judge it: request 3 (GET /auth/me) uses {tokn}" in failures[0]


def test_wait_is_validated_where_it_is_written(tmp_path: Path) -> None:
    lesson = TIME_LESSON.replace("        - {wait: 61}", "        - {wait: -1}").replace(
        "      wait: 10\n      requests:", "      wait: soon\n      requests:"
    )
    root = write_pack(tmp_path / "pack", {"http/01.yaml": lesson})
    found = problems(root)
    assert found == [
        "http/01.yaml:37:18: input should be greater than or equal to 0",  # at the value itself
        "http/01.yaml:59:13: input should be a valid number, unable to parse string as a number, got text ('soon')",
    ]


def test_wait_needs_an_api_sandbox(tmp_path: Path) -> None:
    lesson = """\
id: no-api
title: No API
track: http
steps:
  - id: one
    title: One
    text: Pick.
    check: {kind: choice, options: [{id: a, text: A}, {id: b, text: B}], correct: a}
    solution: {answer: a, wait: 5}
    wrong_answers: [{answer: b}]
"""
    root = write_pack(tmp_path / "pack", {"http/01.yaml": lesson}, MANIFEST)
    found = problems(root)
    assert any("waits on the lesson clock, but only an API sandbox has one" in p for p in found), found
