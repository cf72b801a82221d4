"""The cache stampede and its single-flight cure, the learner's caching switch, and concurrent replay."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandboxes.api.sandbox import ApiSandbox
from tests.api.helpers import make_db, settings
from tutor.pack.actions import HttpRequest


def _slow_books(**caching: object) -> dict[str, object]:
    base = settings().model_dump(by_alias=True)
    base["resources"][0]["latency_ms"] = 200
    return {"resources": base["resources"], "caching": {"app_cache_ttl": 60, **caching}}


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    return make_db(tmp_path / "lesson.db")


@pytest.fixture()
def plain(db: Path) -> Iterator[ApiSandbox]:
    sandbox = ApiSandbox.start(settings(**_slow_books(switchable=True)), database=db)
    yield sandbox
    sandbox.stop()


def _burst(api: ApiSandbox, path: str, n: int = 8) -> list[str]:
    api.mark()
    api.send_as_learner(HttpRequest(path=path, repeat=n, concurrency=n))
    return [e.header("x-cache") for e in _log(api, path)]


def _log(api: ApiSandbox, path: str) -> list[Any]:
    return [e for e in api.recorder.since_mark() if e.path == path]


def test_concurrent_misses_all_reach_the_database_without_single_flight(plain: ApiSandbox) -> None:
    caches = _burst(plain, "/v1/books/4")
    assert caches.count("MISS") == 8  # the stampede: every request loaded the same row
    assert _burst(plain, "/v1/books/4", 3) == ["HIT"] * 3


def test_single_flight_lets_one_request_load_and_the_others_wait(plain: ApiSandbox) -> None:
    with httpx.Client(base_url=plain.base_url, trust_env=False, timeout=10) as c:
        assert c.get("/_sandbox/caching").json()["single_flight"] is False
        switched = c.put("/_sandbox/caching", json={"single_flight": True})
        assert switched.status_code == 200 and switched.json()["single_flight"] is True
    assert _burst(plain, "/v1/books/5") == ["MISS"] * 8
    statuses = [e.header("cache-status") for e in _log(plain, "/v1/books/5")]
    assert statuses.count("sandbox; fwd=miss; stored") == 1  # one request loaded ...
    assert statuses.count("sandbox; fwd=miss; collapsed") == 7  # ... and seven shared its load (RFC 9211)
    timings = [e.header("server-timing") or "" for e in _log(plain, "/v1/books/5")]
    assert sum("db;dur" in t for t in timings) == 1
    assert _burst(plain, "/v1/books/5", 2) == ["HIT"] * 2


def test_a_failed_load_fails_its_waiters_and_is_not_cached(plain: ApiSandbox) -> None:
    with httpx.Client(base_url=plain.base_url, trust_env=False, timeout=10) as c:
        c.put("/_sandbox/caching", json={"single_flight": True})
    plain.mark()
    plain.send_as_learner(HttpRequest(path="/v1/books/9999", repeat=4, concurrency=4))
    assert [e.status for e in _log(plain, "/v1/books/9999")] == [404] * 4
    assert plain.app.state.loading == {}


def test_the_switch_adds_a_cache_and_refuses_nonsense(db: Path) -> None:
    api = ApiSandbox.start(
        settings(resources=_slow_books()["resources"], caching={"etag": True, "switchable": True}), database=db
    )
    try:
        with httpx.Client(base_url=api.base_url, trust_env=False, timeout=10) as c:
            assert "x-cache" not in c.get("/v1/books/2").headers
            for bad in ({"app_cache_ttl": -1}, {"app_cache_ttl": "60"}, {"single_flight": "yes"}, {"ttl": 5}, {}):
                refused = c.put("/_sandbox/caching", json=bad)
                assert refused.status_code == 422, bad
            assert c.put("/_sandbox/caching", json={"app_cache_ttl": 30}).json()["app_cache_ttl"] == 30
            assert [c.get("/v1/books/2").headers["x-cache"] for _ in range(2)] == ["MISS", "HIT"]
            snapshot = api.snapshot()
            c.put("/_sandbox/caching", json={"app_cache_ttl": None})
            assert "x-cache" not in c.get("/v1/books/2").headers
            api.restore(snapshot)
            assert c.get("/v1/books/2").headers["x-cache"] == "HIT"  # the cache and its switch as they were
            assert "/_sandbox/caching" in c.get("/").json()["sandbox_controls"]
            emptied = c.delete("/_sandbox/caching")
            assert emptied.status_code == 200 and emptied.json()["emptied"] == 1
            assert c.get("/v1/books/2").headers["x-cache"] == "MISS"
    finally:
        api.stop()


def test_no_switch_unless_the_lesson_allows_it(db: Path) -> None:
    api = ApiSandbox.start(settings(caching={"app_cache_ttl": 30}), database=db)
    try:
        with httpx.Client(base_url=api.base_url, trust_env=False, timeout=10) as c:
            assert c.put("/_sandbox/caching", json={"single_flight": True}).status_code in (404, 405)
    finally:
        api.stop()


def test_header_lists_match_elements_in_any_order_and_case() -> None:
    from tutor.checks.http_match import list_differences

    header = "Private, max-age=30, NO-STORE"
    assert list_differences("Cache-Control", ["no-store", "private", "max-age", "max-age=30"], header) == []
    assert list_differences("Cache-Control", ["!public", "!s-maxage"], header) == []
    assert list_differences("Cache-Control", ["max-age=60"], header) == [
        "response header Cache-Control: should include max-age=60, got 'Private, max-age=30, NO-STORE'"
    ]
    assert list_differences("Cache-Control", ["!private"], header)[0].endswith(
        "should not include private, " + "got 'Private, max-age=30, NO-STORE'"
    )
    assert list_differences("Cache-Control", ["no-store"], None) == [
        "response header Cache-Control: should include no-store, the header is missing"
    ]
    # `no-store` is not `no-store-ish`, and `max-age` does not match `s-maxage`
    assert list_differences("Cache-Control", ["max-age"], "s-maxage=60") != []


def test_the_switch_sets_a_resources_cache_control(db: Path) -> None:
    resources = settings().model_dump(by_alias=True)["resources"]
    resources[1]["cache_control"] = "no-cache"
    api = ApiSandbox.start(
        settings(resources=resources, caching={"cache_control": "max-age=60", "switchable": True}), database=db
    )
    try:
        with httpx.Client(base_url=api.base_url, trust_env=False, timeout=10) as c:
            assert c.get("/v1/books/1").headers["cache-control"] == "max-age=60"
            assert c.get("/v1/authors/1").headers["cache-control"] == "no-cache"
            assert c.put("/_sandbox/caching", json={"cache_control": {"nope": "x"}}).status_code == 422
            assert c.put("/_sandbox/caching", json={"cache_control": {"books": 5}}).status_code == 422
            changed = c.put("/_sandbox/caching", json={"cache_control": {"books": "private, max-age=30"}})
            assert changed.json()["cache_control"] == {"books": "private, max-age=30", "authors": "no-cache"}
            assert c.get("/v1/books/1").headers["cache-control"] == "private, max-age=30"
            assert c.get("/v1/authors/1").headers["cache-control"] == "no-cache"
    finally:
        api.stop()


def test_a_request_header_that_must_not_be_sent() -> None:
    from types import SimpleNamespace

    from tutor.checks.http_match import request_differences
    from tutor.pack.specs_http import RequestMatch

    match = RequestMatch.model_validate({"method": "GET", "absent_headers": ["If-None-Match"]})
    sent = {"if-none-match": '"abc"'}
    exchange = SimpleNamespace(method="GET", path="/v1/books/1", request_header=lambda name: sent.get(name.lower()))
    assert request_differences(match, exchange) == ["request header If-None-Match: should not be sent, sent '\"abc\"'"]
    sent.clear()
    assert request_differences(match, exchange) == []
