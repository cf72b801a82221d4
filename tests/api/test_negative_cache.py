"""Negative caching in the application cache: a 404 of an item stored for `negative_ttl`, and a create that
drops it (or, with `invalidate_on_create: false`, the stale 404 it leaves)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandboxes.api.sandbox import ApiSandbox
from tests.api.helpers import make_db, settings


def _start(db: Path, **caching: Any) -> ApiSandbox:
    return ApiSandbox.start(settings(caching={"app_cache_ttl": 300, **caching}), database=db)


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    return make_db(tmp_path / "lesson.db")


@pytest.fixture()
def api(db: Path) -> Iterator[ApiSandbox]:
    sandbox = _start(db, negative_ttl=60, invalidate_on_create=False, switchable=True)
    yield sandbox
    sandbox.stop()


def _get(api: ApiSandbox, path: str) -> httpx.Response:
    return httpx.get(api.base_url + path, timeout=10)


def _statements(api: ApiSandbox, path: str, count: int) -> list[int]:
    """SQL statements each recorded request for `path` ran, in order, once `count` of them are in the log
    (it is written just after a response's last byte, so the client may read the answer first)."""
    deadline = time.monotonic() + 5
    while True:
        found = [
            sum(1 for e in exchange.trace if e.kind == "sql")
            for exchange in api.recorder.since_mark()
            if exchange.path == path
        ]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


def test_without_negative_caching_every_404_reaches_the_database(db: Path) -> None:
    api = _start(db)
    try:
        api.mark()
        answers = [_get(api, "/v1/books/5000") for _ in range(3)]
        assert [a.status_code for a in answers] == [404] * 3
        assert [a.headers["x-cache"] for a in answers] == ["MISS"] * 3
        assert answers[0].headers["cache-status"] == "sandbox; fwd=miss"  # looked up, not stored
        statements = _statements(api, "/v1/books/5000", 3)
        assert len(statements) == 3 and all(n >= 1 for n in statements)
    finally:
        api.stop()


def test_a_stored_404_spares_the_database_until_its_ttl_ends(api: ApiSandbox) -> None:
    api.mark()
    first = _get(api, "/v1/books/5000")
    assert first.status_code == 404 and first.headers["cache-status"] == "sandbox; fwd=miss; stored"
    second = _get(api, "/v1/books/5000")
    assert second.status_code == 404 and second.headers["x-cache"] == "HIT"
    assert second.json()["detail"] == first.json()["detail"]
    assert second.headers["content-type"].startswith("application/problem+json")
    statements = _statements(api, "/v1/books/5000", 2)
    assert statements[0] >= 1 and statements[1] == 0
    httpx.post(api.base_url + "/_sandbox/clock", json={"advance": 61}, timeout=10).raise_for_status()
    assert _get(api, "/v1/books/5000").headers["cache-status"] == "sandbox; fwd=stale; stored"


def test_a_create_that_deletes_nothing_leaves_a_stale_404(api: ApiSandbox) -> None:
    assert _get(api, "/v1/books/250").status_code == 404
    created = httpx.post(api.base_url + "/v1/books", json={"id": 250, "title": "New", "year": 2001}, timeout=10)
    assert created.status_code == 201
    stale = _get(api, "/v1/books/250")
    assert stale.status_code == 404 and stale.headers["x-cache"] == "HIT"
    switched = httpx.put(api.base_url + "/_sandbox/caching", json={"invalidate_on_create": True}, timeout=10)
    assert switched.json()["invalidate_on_create"] is True
    assert _get(api, "/v1/books/250").status_code == 404  # the switch does not touch what is stored
    assert _get(api, "/v1/books/260").status_code == 404
    httpx.post(api.base_url + "/v1/books", json={"id": 260, "title": "Newer", "year": 2002}, timeout=10)
    found = _get(api, "/v1/books/260")
    assert found.status_code == 200 and found.headers["x-cache"] == "MISS"


def test_other_writes_still_drop_entries_when_creates_do_not(api: ApiSandbox) -> None:
    _get(api, "/v1/books/3")
    assert _get(api, "/v1/books/3").headers["x-cache"] == "HIT"
    httpx.patch(api.base_url + "/v1/books/3", json={"price": 1.5}, timeout=10).raise_for_status()
    after = _get(api, "/v1/books/3")
    assert after.headers["x-cache"] == "MISS" and after.json()["price"] == 1.5


def test_lists_and_errors_other_than_404_are_never_stored_as_negative(api: ApiSandbox) -> None:
    assert _get(api, "/v1/books?limit=500").status_code == 400
    assert "x-cache" not in _get(api, "/v1/books?limit=500").headers


@pytest.mark.parametrize(
    "body",
    [{"negative_ttl": 0}, {"negative_ttl": "60"}, {"negative_ttl": True}, {"invalidate_on_create": "yes"}],
)
def test_a_bad_negative_switch_is_a_422(api: ApiSandbox, body: dict[str, Any]) -> None:
    assert httpx.put(api.base_url + "/_sandbox/caching", json=body, timeout=10).status_code == 422


def test_the_negative_ttl_switch_starts_the_cache_empty(api: ApiSandbox) -> None:
    _get(api, "/v1/books/5000")
    httpx.put(api.base_url + "/_sandbox/caching", json={"negative_ttl": None}, timeout=10).raise_for_status()
    answers = [_get(api, "/v1/books/5000") for _ in range(2)]
    assert [a.headers["cache-status"] for a in answers] == ["sandbox; fwd=miss"] * 2
