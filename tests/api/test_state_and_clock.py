"""The lesson clock (`POST /_sandbox/clock`) and the state model: one snapshot holds all the API's
memory, and `Session.reset_step()` puts database and memory back to the step-open state."""

from __future__ import annotations

from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest

from sandboxes.api.sandbox import ApiSandbox
from tests.api.helpers import make_db, settings
from tests.pack.helpers import write_pack
from tutor.pack.loader import load_pack_or_raise
from tutor.paths import Home
from tutor.session import Session

AUTH = {"access_ttl_seconds": 60, "refresh_tokens": True, "users": [{"username": "alice", "password": "pw-alice-1"}]}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiSandbox]:
    sandbox = ApiSandbox.start(
        settings(
            caching={"app_cache_ttl": 30, "cache_control": "max-age=60"},
            rate_limit={"capacity": 5, "refill_per_second": 0.5},
            auth=AUTH,
        ),
        database=make_db(tmp_path / "lesson.db"),
    )
    yield sandbox
    sandbox.stop()


def _client(api: ApiSandbox) -> httpx.Client:
    return httpx.Client(base_url=api.base_url, trust_env=False, timeout=10)


@pytest.mark.parametrize(
    ("body", "field_message"),
    [
        ({"advance": -1}, "must be 0 or more: the clock only moves forward"),
        ({"advance": "61"}, "must be a number of seconds"),
        ({"advance": True}, "must be a number of seconds"),
        ({"advance": 10**9}, "must be at most 31622400 (a year and a day)"),
        ({}, "must be a number of seconds"),
    ],
)
def test_a_bad_advance_is_a_422_problem(api: ApiSandbox, body: dict[str, object], field_message: str) -> None:
    with _client(api) as c:
        before = c.get("/_sandbox/clock").json()["offset_seconds"]
        r = c.post("/_sandbox/clock", json=body)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0] == {"field": "advance", "message": field_message}
        assert c.get("/_sandbox/clock").json()["offset_seconds"] == before


def test_advancing_answers_the_new_time_and_moves_date_ttl_age_and_expiry(api: ApiSandbox) -> None:
    with _client(api) as c:
        token = c.post("/auth/login", json={"username": "alice", "password": "pw-alice-1"}).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        assert c.get("/auth/me", headers=bearer).status_code == 200
        first = c.get("/v1/books/1")
        assert first.headers["x-cache"] == "MISS"
        date0 = parsedate_to_datetime(first.headers["date"]).timestamp()

        moved = c.post("/_sandbox/clock", json={"advance": 20})
        assert moved.status_code == 200 and moved.json()["offset_seconds"] == 20
        assert abs(moved.json()["now"] - (date0 + 20)) < 3

        hit = c.get("/v1/books/1")
        assert hit.headers["x-cache"] == "HIT" and 19 <= int(hit.headers["age"]) <= 22
        assert parsedate_to_datetime(hit.headers["date"]).timestamp() - date0 >= 19

        c.post("/_sandbox/clock", json={"advance": 41})  # 61 s: the token (60 s) and the cache entry (30 s) expired
        expired = c.get("/auth/me", headers=bearer)
        assert expired.status_code == 401
        assert expired.headers["www-authenticate"].startswith('Bearer realm="sandbox", error="invalid_token"')
        assert c.get("/v1/books/1").headers["x-cache"] == "MISS"


def test_cache_status_tells_an_expired_entry_from_one_never_stored_or_dropped_by_a_write(api: ApiSandbox) -> None:
    """RFC 9211 §2.2: `fwd=stale` when the cache held an entry whose lifetime had run out, `fwd=miss` when it
    held nothing (never stored, or dropped by a write), so a reader can tell a TTL expiry from an
    invalidation."""
    with _client(api) as c:
        assert c.get("/v1/books/2").headers["cache-status"] == "sandbox; fwd=miss; stored"
        assert c.get("/v1/books/2").headers["cache-status"] == "sandbox; hit"
        c.post("/_sandbox/clock", json={"advance": 31})  # past the 30-second TTL
        expired = c.get("/v1/books/2")
        assert expired.headers["x-cache"] == "MISS"
        assert expired.headers["cache-status"] == "sandbox; fwd=stale; stored"
        assert c.get("/v1/books/2").headers["cache-status"] == "sandbox; hit"
        assert c.patch("/v1/books/2", json={"title": "Renamed"}).status_code == 200
        dropped = c.get("/v1/books/2")
        assert dropped.headers["x-cache"] == "MISS"
        assert dropped.headers["cache-status"] == "sandbox; fwd=miss; stored"


def test_the_bucket_refills_on_the_lesson_clock(api: ApiSandbox) -> None:
    with _client(api) as c:
        assert [c.get("/v1/books").status_code for _ in range(6)] == [200] * 5 + [429]
        assert c.get("/v1/books").headers["retry-after"] == "2"
        c.post("/_sandbox/clock", json={"advance": 2})
        assert c.get("/v1/books").status_code == 200


def test_a_forwarded_for_header_does_not_make_a_caller_someone_else(api: ApiSandbox) -> None:
    """No proxy stands in front of the sandbox, so X-Forwarded-For is the caller's own word: an empty
    bucket stays empty for a request that claims another address."""
    with _client(api) as c:
        assert [c.get("/v1/books").status_code for _ in range(6)] == [200] * 5 + [429]
        assert c.get("/v1/books", headers={"X-Forwarded-For": "10.9.8.7"}).status_code == 429
        assert c.get("/v1/books", headers={"Forwarded": "for=10.9.8.7"}).status_code == 429


LESSON = """\
id: reset-me
title: Reset
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
      - {name: books, table: books, writable: true}
    idempotency_keys: true
    caching: {app_cache_ttl: 30}
    rate_limit: {capacity: 5, refill_per_second: 0.001}
    auth:
      refresh_tokens: true
      users: [{username: alice, password: wonderland-42}]
steps:
  - id: one
    title: One
    text: Anything.
    check: {kind: choice, options: [{id: a, text: A}, {id: b, text: B}], correct: a}
    solution: {answer: a}
    wrong_answers: [{answer: b}]
"""


def test_reset_step_puts_back_the_database_and_every_piece_of_api_memory(tmp_path: Path) -> None:
    root = write_pack(tmp_path / "pack", {"http/01.yaml": LESSON})
    pack = load_pack_or_raise(root)
    lesson = pack.lessons[0].lesson
    with Session(pack, lesson, Home(tmp_path / "home").ensure()) as session:
        session.start()
        session.begin_step(lesson.steps[0])
        api = session.api
        assert api is not None and session.sql is not None
        opened = api.snapshot()
        with _client(api) as c:
            c.post("/_sandbox/clock", json={"advance": 100})
            login = c.post("/auth/login", json={"username": "alice", "password": "wonderland-42"}).json()
            c.post("/auth/register", json={"username": "bob", "password": "bob-password"})
            c.post("/v1/books", json={"title": "New"}, headers={"Idempotency-Key": "k1"})
            c.get("/v1/books/1")  # a cache entry
            c.post("/auth/refresh", json={"refresh_token": login["refresh_token"]})
            assert c.get("/v1/books").status_code == 429  # the bucket is empty
        changed = api.snapshot()
        assert changed["cache"] and changed["idempotency"] and changed["buckets"]
        assert "bob" in changed["auth"]["users"] and changed["clock_offset"] == 100
        session.reset_step()
        restored = api.snapshot()
        assert restored.keys() == opened.keys()
        for key in ("cache", "idempotency", "buckets", "last_write", "strategies", "clock_offset"):
            assert restored[key] == opened[key], key
        assert sorted(restored["auth"]["users"]) == ["alice"]
        assert restored["auth"]["refresh_tokens"] == {} and restored["auth"]["revoked_jti"] == set()
        with _client(api) as c:
            assert c.get("/v1/books").json()["total"] == 5  # the POSTed book is gone from the database
            assert c.get("/_sandbox/clock").json()["offset_seconds"] == 0
            # the refresh token issued after the step opened is unknown again
            assert c.post("/auth/refresh", json={"refresh_token": login["refresh_token"]}).status_code == 401
