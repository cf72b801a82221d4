"""The shared cache at /edge/... (RFC 9111: the key, Vary, what is stored, invalidation) and the home page
whose links follow X-Forwarded-Host in the deliberately unsafe mode."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from sandboxes.api.edge import freshness, language
from sandboxes.api.sandbox import ApiSandbox
from tests.api.helpers import make_db, settings


def _start(db: Path, edge: dict[str, Any], **overrides: Any) -> ApiSandbox:
    return ApiSandbox.start(settings(edge=edge, **overrides), database=db)


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    return make_db(tmp_path / "lesson.db")


@pytest.fixture()
def api(db: Path) -> Iterator[ApiSandbox]:
    sandbox = _start(db, {"forwarded_host": "trusted", "switchable": True}, caching={"cache_control": "max-age=60"})
    yield sandbox
    sandbox.stop()


def _get(api: ApiSandbox, path: str, **headers: str) -> httpx.Response:
    return httpx.get(api.base_url + path, headers=headers, timeout=10)


def _status(response: httpx.Response) -> str:
    return response.headers.get("cache-status", "")


def test_the_key_is_the_url_and_vary_adds_the_headers_it_names(api: ApiSandbox) -> None:
    first = _get(api, "/edge/v1/home")
    assert _status(first).startswith("edge; fwd=uri-miss; stored;")
    assert first.headers["vary"] == "Accept-Language"
    second = _get(api, "/edge/v1/home")
    assert _status(second).startswith("edge; hit;") and second.headers["age"] == "0"
    french = _get(api, "/edge/v1/home", **{"Accept-Language": "fr"})
    assert _status(french).startswith("edge; fwd=vary-miss; stored;")
    assert french.json()["language"] == "fr" and french.headers["content-language"] == "fr"
    english = _get(api, "/edge/v1/home")
    assert _status(english).startswith("edge; hit;") and english.json()["language"] == "en"
    assert _status(_get(api, "/edge/v1/home", **{"Accept-Language": "fr"})).startswith("edge; hit;")
    # another query string is another key
    assert _status(_get(api, "/edge/v1/home?cb=1")).startswith("edge; fwd=uri-miss;")


def test_an_unkeyed_header_poisons_the_page_until_the_route_stops_trusting_it(api: ApiSandbox) -> None:
    attack = _get(api, "/edge/v1/home?cb=7", **{"X-Forwarded-Host": "evil.example"})
    assert attack.json()["links"]["books"] == "http://evil.example/v1/books"
    victim = _get(api, "/edge/v1/home?cb=7")
    assert _status(victim).startswith("edge; hit;")
    assert victim.json()["links"]["books"] == "http://evil.example/v1/books"
    # the fix leaves the stored copy alone: only a purge removes it
    httpx.put(api.base_url + "/_sandbox/edge", json={"forwarded_host": "ignored"}, timeout=10).raise_for_status()
    assert _get(api, "/edge/v1/home?cb=7").json()["links"]["books"] == "http://evil.example/v1/books"
    purged = httpx.delete(api.base_url + "/_sandbox/edge", params={"path": "/edge/v1/home"}, timeout=10)
    assert purged.json()["emptied"] == 1
    again = _get(api, "/edge/v1/home?cb=7", **{"X-Forwarded-Host": "evil.example"})
    assert again.json()["links"]["books"] == api.base_url + "/v1/books"
    assert _get(api, "/edge/v1/home?cb=7").json()["links"]["books"] == api.base_url + "/v1/books"


def test_vary_mode_stores_the_attackers_copy_under_a_key_of_its_own(api: ApiSandbox) -> None:
    httpx.put(api.base_url + "/_sandbox/edge", json={"forwarded_host": "vary"}, timeout=10).raise_for_status()
    attack = _get(api, "/edge/v1/home", **{"X-Forwarded-Host": "evil.example"})
    assert attack.headers["vary"] == "Accept-Language, X-Forwarded-Host"
    assert 'x-forwarded-host=evil.example"' in _status(attack)
    victim = _get(api, "/edge/v1/home")
    assert _status(victim).startswith("edge; fwd=vary-miss; stored;")
    assert victim.json()["links"]["books"] == api.base_url + "/v1/books"


def test_the_control_counts_the_poisoned_pages_a_visitor_would_be_served(api: ApiSandbox) -> None:
    def count() -> int:
        return int(httpx.get(api.base_url + "/_sandbox/edge", timeout=10).json()["poisoned"])

    _get(api, "/edge/v1/home")
    assert count() == 0
    _get(api, "/edge/v1/home?cb=1", **{"X-Forwarded-Host": "evil.example"})
    assert count() == 1
    # a copy stored for evil.example's own host, or under a Vary'd X-Forwarded-Host, reaches no visitor
    _get(api, "/edge/v1/home?cb=2", **{"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
    httpx.put(api.base_url + "/_sandbox/edge", json={"forwarded_host": "vary"}, timeout=10).raise_for_status()
    _get(api, "/edge/v1/home?cb=3", **{"X-Forwarded-Host": "evil.example"})
    assert count() == 1
    httpx.delete(api.base_url + "/_sandbox/edge", params={"path": "/v1/books"}, timeout=10).raise_for_status()
    assert count() == 1
    httpx.delete(api.base_url + "/_sandbox/edge", params={"path": "/v1/home"}, timeout=10).raise_for_status()
    assert count() == 0


def test_cache_status_says_stale_only_for_the_variant_the_request_selects(api: ApiSandbox) -> None:
    _get(api, "/edge/v1/home")
    httpx.post(api.base_url + "/_sandbox/clock", json={"advance": 301}, timeout=10).raise_for_status()
    # the only stored answer is English and expired: a French request could never have used it (RFC 9211 §2.2)
    assert _status(_get(api, "/edge/v1/home", **{"Accept-Language": "fr"})).startswith("edge; fwd=vary-miss;")
    _get(api, "/edge/v1/home?cb=1")
    httpx.post(api.base_url + "/_sandbox/clock", json={"advance": 200}, timeout=10).raise_for_status()
    _get(api, "/edge/v1/home?cb=1", **{"Accept-Language": "fr"})
    httpx.post(api.base_url + "/_sandbox/clock", json={"advance": 101}, timeout=10).raise_for_status()
    # English expired, French still fresh: the English request selects its own expired copy
    assert _status(_get(api, "/edge/v1/home?cb=1")).startswith("edge; fwd=stale; stored;")


def test_a_hit_reports_the_age_the_answer_came_with_plus_its_time_in_the_edge(db: Path) -> None:
    api = _start(db, {}, caching={"app_cache_ttl": 300, "cache_control": "max-age=60"})
    try:
        _get(api, "/v1/books/3")  # the application cache stores the book
        httpx.post(api.base_url + "/_sandbox/clock", json={"advance": 10}, timeout=10).raise_for_status()
        first = _get(api, "/edge/v1/books/3")
        assert first.headers["age"] == "10" and "edge; fwd=uri-miss; stored" in _status(first)
        httpx.post(api.base_url + "/_sandbox/clock", json={"advance": 5}, timeout=10).raise_for_status()
        hit = _get(api, "/edge/v1/books/3")
        # RFC 9111 §4.2.3: the age it arrived with, plus the time it has been stored; 50 s of its 60 were left
        assert _status(hit).startswith("edge; hit; ttl=45;") and hit.headers["age"] == "15"
    finally:
        api.stop()


def test_the_lifetime_runs_on_the_lesson_clock_and_a_write_drops_the_url(api: ApiSandbox) -> None:
    _get(api, "/edge/v1/books/3")
    assert _status(_get(api, "/edge/v1/books/3")).startswith("edge; hit; ttl=60;")
    httpx.post(api.base_url + "/_sandbox/clock", json={"advance": 61}, timeout=10).raise_for_status()
    assert _status(_get(api, "/edge/v1/books/3")).startswith("edge; fwd=stale; stored;")
    assert _status(_get(api, "/edge/v1/books/3")).startswith("edge; hit;")
    patched = httpx.patch(api.base_url + "/edge/v1/books/3", json={"price": 9.5}, timeout=10)
    assert patched.status_code == 200
    after = _get(api, "/edge/v1/books/3")
    assert _status(after).startswith("edge; fwd=uri-miss;") and after.json()["price"] == 9.5
    # straight to the API, the write never passes the edge: its copy stays (RFC 9111 §4.4 reaches only it)
    httpx.patch(api.base_url + "/v1/books/3", json={"price": 12.0}, timeout=10).raise_for_status()
    stale = _get(api, "/edge/v1/books/3")
    assert _status(stale).startswith("edge; hit;") and stale.json()["price"] == 9.5


def test_answers_without_explicit_freshness_are_forwarded_not_stored(db: Path) -> None:
    api = _start(db, {})
    try:
        for _ in range(2):
            status = _status(_get(api, "/edge/v1/books/3"))
            assert status.startswith("edge; fwd=uri-miss; key=")  # no Cache-Control: nothing stored
        assert _get(api, "/edge/health").json() == {"status": "ok"}
        put = httpx.put(api.base_url + "/_sandbox/edge", json={"forwarded_host": "vary"}, timeout=10)
        assert put.status_code == 403
        home = _get(api, "/v1/home", **{"X-Forwarded-Host": "evil.example"})
        assert home.json()["links"]["books"] == api.base_url + "/v1/books"  # `ignored` is the default
    finally:
        api.stop()


@pytest.mark.parametrize(
    ("status", "headers", "authorized", "kept"),
    [
        (200, [(b"cache-control", b"max-age=60")], False, 60.0),
        (200, [(b"cache-control", b"max-age=60, s-maxage=10")], False, 10.0),
        (200, [(b"cache-control", b"max-age=60"), (b"age", b"15")], False, 45.0),
        (404, [(b"cache-control", b"max-age=5")], False, 5.0),
        (200, [(b"cache-control", b"private, max-age=60")], False, None),
        (200, [(b"cache-control", b"no-store")], False, None),
        (200, [(b"cache-control", b"no-cache, max-age=60")], False, None),
        (200, [(b"cache-control", b"max-age=60"), (b"vary", b"*")], False, None),
        (200, [(b"cache-control", b"max-age=60")], True, None),
        (200, [(b"cache-control", b"public, max-age=60")], True, 60.0),
        (206, [(b"cache-control", b"max-age=60")], False, None),
        (200, [], False, None),
    ],
)
def test_what_a_shared_cache_may_store(
    status: int, headers: list[tuple[bytes, bytes]], authorized: bool, kept: float | None
) -> None:
    assert freshness(status, headers, authorized) == kept


@pytest.mark.parametrize(
    ("header", "chosen"),
    [(None, "en"), ("fr", "fr"), ("fr-CA, en;q=0.5", "fr"), ("en;q=0.2, de", "de"), ("xx, *", "en"), ("fr;q=0", "en")],
)
def test_the_home_page_language(header: str | None, chosen: str) -> None:
    assert language(header) == chosen


def test_the_oldest_answers_go_past_max_entries(db: Path) -> None:
    api = _start(db, {"max_entries": 2})
    try:
        for cb in ("1", "2", "3"):
            _get(api, f"/edge/v1/home?cb={cb}")
        keys = [e["key"] for e in httpx.get(api.base_url + "/_sandbox/edge", timeout=10).json()["entries"]]
        assert len(keys) == 2 and not any("cb=1;" in k for k in keys)
        assert _status(_get(api, "/edge/v1/home?cb=3")).startswith("edge; hit;")
    finally:
        api.stop()


def test_a_snapshot_puts_the_stored_answers_and_the_switch_back(api: ApiSandbox) -> None:
    _get(api, "/edge/v1/home?cb=9", **{"X-Forwarded-Host": "evil.example"})
    snapshot = api.snapshot()
    httpx.put(api.base_url + "/_sandbox/edge", json={"forwarded_host": "ignored"}, timeout=10).raise_for_status()
    httpx.delete(api.base_url + "/_sandbox/edge", timeout=10).raise_for_status()
    api.restore(snapshot)
    assert httpx.get(api.base_url + "/_sandbox/edge", timeout=10).json()["forwarded_host"] == "trusted"
    assert _get(api, "/edge/v1/home?cb=9").json()["links"]["books"] == "http://evil.example/v1/books"


def test_a_bad_switch_is_a_422_and_changes_nothing(api: ApiSandbox) -> None:
    bodies = (
        {},
        {"forwarded_host": "maybe"},
        {"mode": "vary"},
        [1],
        {"forwarded_host": {}},
        {"forwarded_host": ["vary"]},
    )
    for body in bodies:
        answer = httpx.put(api.base_url + "/_sandbox/edge", json=body, timeout=10)
        assert answer.status_code == 422, body
    assert httpx.get(api.base_url + "/_sandbox/edge", timeout=10).json()["forwarded_host"] == "trusted"


def test_a_resource_named_home_is_refused_with_the_edge() -> None:
    base = settings().model_dump(by_alias=True)
    base["resources"][1]["name"] = "home"
    with pytest.raises(ValidationError, match="/v1/home"):
        settings(resources=base["resources"], edge={})
