"""HTTP checks judge what a value means and where it came from, on a real sandbox API.

Each test holds one class of answer a check must get right: a made-up validator, token or cursor
(rejected: it has no provenance); a stale one where the current one is asked for and the reverse;
a retry that does not wait for Retry-After by the lesson clock, or comes from another caller; and the
right answers that text comparison refused (a weak or listed ETag, HEAD for reading headers,
`max-age=0, must-revalidate` for "revalidate on every reuse", a date compared as a date).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from sandboxes.api.sandbox import ApiSandbox, build_request_kwargs
from tests.api.helpers import make_db, settings
from tutor.checks import evaluate
from tutor.checks.base import CheckContext, CheckResult
from tutor.pack.actions import HttpRequest
from tutor.pack.checks import CheckSpec

SPEC: TypeAdapter[Any] = TypeAdapter(CheckSpec)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return make_db(tmp_path / "lesson.db")


def _start(db: Path, **extra: Any) -> Iterator[ApiSandbox]:
    auth = {"users": [{"username": "ada", "password": "correct horse", "role": "admin"}], "refresh_tokens": True}
    caching = {"etag": True, "last_modified": True, "cache_control": "max-age=60"}
    sandbox = ApiSandbox.start(settings(auth=auth, caching=caching, **extra), database=db)
    sandbox.mark()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def api(db: Path) -> Iterator[ApiSandbox]:
    yield from _start(db)


@pytest.fixture
def limited(db: Path) -> Iterator[ApiSandbox]:
    """The same API with a small rate limit: three requests, then one token every five seconds."""
    yield from _start(db, rate_limit={"capacity": 3, "refill_per_second": 0.2})


def run(api: ApiSandbox, spec: dict[str, Any], answer: Any = None) -> CheckResult:
    return evaluate(SPEC.validate_python(spec), CheckContext(answer=answer, http=api.evidence()))


def send(api: ApiSandbox, *, via: str | None = None, **request: Any) -> Any:
    req = HttpRequest.model_validate(request)
    if via is None:
        return api.send_as_learner(req)
    return api.send(req.method, req.path, source=via, **build_request_kwargs(req))


REVALIDATE = {
    "kind": "http_traffic",
    "in_order": True,
    "expect": [
        {"request": {"method": "GET", "path": "/v1/books/1", "head_for_get": True}, "response": {"status": 200}},
        {
            "request": {
                "method": "GET",
                "path": "/v1/books/1",
                "headers": {"If-None-Match": {"given": "header:ETag", "from": {"path": "/v1/books/1"}}},
            },
            "response": {"status": 304},
        },
    ],
}


def test_a_made_up_or_wildcard_validator_has_no_provenance(api: ApiSandbox) -> None:
    send(api, path="/v1/books/1")
    send(api, path="/v1/books/1", headers={"If-None-Match": "*"})  # 304 too, but names no version
    result = run(api, REVALIDATE)
    assert not result.passed
    assert "is not an ETag from /v1/books/1 since this step opened" in result.explain()
    send(api, path="/v1/books/1", headers={"If-None-Match": '"0123456789abcdef0123"'})
    assert not run(api, REVALIDATE).passed


def test_the_etag_the_server_gave_passes_weak_listed_or_read_with_head(api: ApiSandbox) -> None:
    etag = send(api, method="HEAD", path="/v1/books/1").header("etag")
    assert send(api, path="/v1/books/1", headers={"If-None-Match": f"W/{etag}"}).status == 304
    assert run(api, REVALIDATE).passed
    api.mark()
    send(api, path="/v1/books/1")
    send(api, path="/v1/books/1", headers={"If-None-Match": f'"older", {etag}'})
    assert run(api, REVALIDATE).passed
    # an ETag of another book is given, but not by /v1/books/1
    api.mark()
    other = send(api, path="/v1/books/2").header("etag")
    send(api, path="/v1/books/1", headers={"If-None-Match": other})
    assert not run(api, REVALIDATE).passed


LOST_UPDATE = {
    "kind": "http_traffic",
    "in_order": True,
    "expect": [
        {
            "request": {
                "method": "PATCH",
                "path": "/v1/books/5",
                "headers": {"If-Match": {"given": "header:ETag", "from": {"path": "/v1/books/5"}, "which": "latest"}},
            },
            "response": {"status": 200},
        },
        {
            "request": {
                "method": "PATCH",
                "path": "/v1/books/5",
                "headers": {
                    "If-Match": {"given": "header:ETag", "from": {"path": "/v1/books/5"}, "which": "superseded"}
                },
            },
            "response": {"status": 412},
        },
    ],
}


def test_a_lost_update_needs_the_stale_etag_not_a_wildcard_and_a_made_up_one(api: ApiSandbox) -> None:
    send(api, path="/v1/books/5")
    assert send(api, method="PATCH", path="/v1/books/5", headers={"If-Match": "*"}, json={"price": 9}).status == 200
    bogus = send(api, method="PATCH", path="/v1/books/5", headers={"If-Match": '"bogus"'}, json={"year": 2002})
    assert bogus.status == 412
    result = run(api, LOST_UPDATE)
    assert not result.passed
    assert "If-Match" in result.explain()


def test_a_lost_update_with_the_etag_both_clerks_read_passes(api: ApiSandbox) -> None:
    etag = send(api, path="/v1/books/5").header("etag")
    assert send(api, method="PATCH", path="/v1/books/5", headers={"If-Match": etag}, json={"price": 9}).status == 200
    assert send(api, method="PATCH", path="/v1/books/5", headers={"If-Match": etag}, json={"year": 2}).status == 412
    assert run(api, LOST_UPDATE).passed


RETRY = {
    "kind": "http_traffic",
    "in_order": True,
    "same_caller": True,
    "expect": [
        {"request": {"method": "GET", "path": "/v1/books"}, "response": {"status": 429}},
        {
            "request": {"method": "GET", "path": "/v1/books"},
            "response": {"status": 200},
            "wait_after_previous": "header:Retry-After",
        },
    ],
}


def test_a_retry_from_another_tool_meets_the_same_limit_and_does_not_pass(limited: ApiSandbox) -> None:
    api = limited
    statuses = [send(api, path="/v1/books").status for _ in range(4)]
    assert statuses[-1] == 429
    # The workbench is the same caller: it gets no bucket of its own.
    assert send(api, via="workbench", path="/v1/books").status == 429
    assert not run(api, RETRY).passed


def test_a_retry_too_soon_is_told_how_long_it_waited(limited: ApiSandbox) -> None:
    api = limited
    for _ in range(4):
        refused = send(api, path="/v1/books")
    wait = int(refused.header("retry-after"))
    api.advance_clock(wait - 2)  # not quite
    api.advance_clock(1)
    early = send(api, path="/v1/books")
    api.advance_clock(3)
    result = run(api, RETRY)
    if early.status == 200:  # the bucket refilled a token early: the request came too soon all the same
        assert not result.passed and "too soon" in result.summary
    later = send(api, path="/v1/books")
    assert later.status == 200
    assert run(api, RETRY).passed


def test_cache_control_directives_compare_as_a_set_with_declared_equivalents(api: ApiSandbox) -> None:
    from tutor.checks.http_match import list_differences
    from tutor.pack.specs_http import AnyOf

    every_reuse = AnyOf(any_of=[["no-cache"], ["max-age=0", "must-revalidate"]])
    assert list_differences("Cache-Control", [every_reuse], "max-age=0, Must-Revalidate") == []
    assert list_differences("Cache-Control", [every_reuse], "private, no-cache") == []
    assert list_differences("Cache-Control", [every_reuse], "max-age=0") != []
    assert list_differences("Cache-Control", [every_reuse], "must-revalidate, max-age=60") != []


IF_MODIFIED = {
    "kind": "http_traffic",
    "in_order": True,
    "expect": [
        {"request": {"method": "GET", "path": "/v1/books/3"}, "response": {"status": 200}},
        {
            "request": {
                "method": "GET",
                "path": "/v1/books/3",
                "headers": {"If-Modified-Since": {"given": "header:Last-Modified"}},
            },
            "response": {"status": 304},
        },
    ],
}


def test_dates_compare_as_dates_and_a_made_up_date_is_not_given(api: ApiSandbox) -> None:
    stamp = send(api, path="/v1/books/3").header("last-modified")
    assert send(api, path="/v1/books/3", headers={"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}).status == 304
    assert not run(api, IF_MODIFIED).passed
    # the same instant, written with the obsolete RFC 850 form, is the same date
    from email.utils import parsedate_to_datetime

    moment = parsedate_to_datetime(stamp)
    rfc850 = moment.strftime("%A, %d-%b-%y %H:%M:%S GMT")
    assert send(api, path="/v1/books/3", headers={"If-Modified-Since": rfc850}).status == 304
    assert run(api, IF_MODIFIED).passed, run(api, IF_MODIFIED).explain()


def test_a_structured_field_parameter_can_be_read(limited: ApiSandbox) -> None:
    api = limited
    spec = {
        "kind": "http_value",
        "request": {"method": "GET", "path": "/v1/books"},
        "value_from": "sf:RateLimit-Policy;q",
    }
    assert run(api, spec, answer="3").passed
    assert not run(api, spec, answer="bucket").passed
    assert run(api, {**spec, "value_from": "sf:RateLimit-Policy[bucket];q"}, answer="3").passed


FOLLOW_AND_DELETE = {
    "kind": "http_traffic",
    "in_order": True,
    "expect": [
        {"request": {"method": "GET", "path": "/v1/books"}, "response": {"status": 200}},
        {
            "request": {
                "method": "DELETE",
                "path_pattern": "/v1/books/(?P<id>\\d+)",
                "path_groups": {"id": {"given": "json:items[*].id", "from": {"method": "GET", "path": "/v1/books"}}},
            },
            "response": {"status": 204},
        },
    ],
}


def test_a_path_part_can_be_required_to_be_one_the_learner_was_shown(api: ApiSandbox) -> None:
    send(api, path="/v1/books", query={"limit": 3})
    send(api, method="DELETE", path="/v1/books/20")
    result = run(api, FOLLOW_AND_DELETE)
    assert not result.passed
    assert "the <id> part sent '20'" in result.explain()
    send(api, method="DELETE", path="/v1/books/2")
    assert run(api, FOLLOW_AND_DELETE).passed


def test_the_newest_refresh_token_and_an_old_one_are_told_apart(api: ApiSandbox) -> None:
    def refresh(which: str, status: int) -> dict[str, Any]:
        token = {"given": "json:refresh_token", "which": which}
        return {
            "request": {"method": "POST", "path": "/auth/refresh", "json": {"refresh_token": token}},
            "response": {"status": status},
        }

    # rotate, replay the old token (the family is revoked), then try the new one: refused too
    replay = {
        "kind": "http_traffic",
        "in_order": True,
        "expect": [refresh("latest", 200), refresh("superseded", 401), refresh("latest", 401)],
    }
    login = send(api, method="POST", path="/auth/login", json={"username": "ada", "password": "correct horse"})
    first = login.json()["refresh_token"]
    second = send(api, method="POST", path="/auth/refresh", json={"refresh_token": first}).json()["refresh_token"]
    assert send(api, method="POST", path="/auth/refresh", json={"refresh_token": first}).status == 401
    assert send(api, method="POST", path="/auth/refresh", json={"refresh_token": first}).status == 401
    result = run(api, replay)
    assert not result.passed, "the old token three times never tries the new one"
    assert "an older refresh_token" in result.explain()
    assert send(api, method="POST", path="/auth/refresh", json={"refresh_token": second}).status == 401
    assert run(api, replay).passed


def test_a_body_field_can_be_anything_but_a_value(api: ApiSandbox) -> None:
    send(api, path="/v1/books/4")
    spec = {
        "kind": "http_traffic",
        "expect": [
            {"request": {"method": "GET", "path": "/v1/books/4"}, "response": {"json": {"year": {"not": 1994}}}}
        ],
    }
    result = run(api, spec)
    assert not result.passed and "should not be 1994" in result.explain()
    spec["expect"][0]["response"]["json"]["year"] = {"one_of": [1993, 1994]}  # type: ignore[index]
    assert run(api, spec).passed


def test_a_value_can_be_required_to_predate_the_previous_request(api: ApiSandbox) -> None:
    """ "The token outlives the logout" needs the token of a login before the logout: one from a new login
    after it is a fresh token, and proves nothing about the old one."""
    outlives = {
        "kind": "http_traffic",
        "in_order": True,
        "expect": [
            {"request": {"method": "GET", "path": "/v1/books/1"}, "response": {"status": 200}},
            {
                "request": {
                    "method": "GET",
                    "path": "/auth/me",
                    "headers": {"Authorization": {"given": "json:access_token", "from": {"path": "/auth/login"}}},
                },
                "response": {"status": 200},
                "given_before_previous": True,
            },
        ],
    }
    ada = {"username": "ada", "password": "correct horse"}
    send(api, method="GET", path="/v1/books/1")
    fresh = send(api, method="POST", path="/auth/login", json=ada).json()["access_token"]
    assert send(api, method="GET", path="/auth/me", headers={"Authorization": f"Bearer {fresh}"}).status == 200
    result = run(api, outlives)
    assert not result.passed, "a token given after the previous request does not count"
    assert "given after the request before it" in result.summary
    without = {**outlives, "expect": [outlives["expect"][0], {**outlives["expect"][1], "given_before_previous": False}]}
    assert run(api, without).passed, "the same traffic passes when the order of giving does not matter"

    api.mark()  # a new step: a login, then the request in between, then the old token
    old = send(api, method="POST", path="/auth/login", json=ada).json()["access_token"]
    send(api, method="GET", path="/v1/books/1")
    assert send(api, method="GET", path="/auth/me", headers={"Authorization": f"Bearer {old}"}).status == 200
    assert run(api, outlives).passed


def test_a_load_test_must_have_requests_in_flight_together(db: Path) -> None:
    """Two hundred requests one after another are a timing, not a load: `at_once` asks that enough of
    them waited on each other. The page is slowed down so that overlap is certain when it happens."""
    slow = {"name": "books", "table": "books", "latency_ms": 30}
    for box in _start(db, resources=[slow]):
        load = {
            "kind": "http_traffic",
            "expect": [{"request": {"method": "GET", "path": "/v1/books"}, "at_least": 8, "at_once": 4}],
        }
        for _ in range(8):
            send(box, method="GET", path="/v1/books")
        result = run(box, load)
        assert not result.passed and "one at a time" in result.summary
        box.mark()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _, api=box: send(api, method="GET", path="/v1/books"), range(8)))
        assert run(box, load).passed, run(box, load).explain()


def test_a_request_can_be_required_to_have_nothing_of_a_kind_before_it(api: ApiSandbox) -> None:
    """ "The write emptied the cached page" is not shown when the cache was flushed by hand between the
    write and the read: `none_between` names the requests that would explain the effect instead."""
    write_then_read = {
        "kind": "http_traffic",
        "in_order": True,
        "expect": [
            {"request": {"method": "PATCH", "path": "/v1/books/4"}, "response": {"status": 200}},
            {
                "request": {"method": "GET", "path": "/v1/books/4"},
                "response": {"status": 200},
                "none_between": [{"method": "DELETE", "path": "/v1/books/9"}],
            },
        ],
    }
    send(api, method="PATCH", path="/v1/books/4", json={"price": 9.5})
    send(api, method="DELETE", path="/v1/books/9")
    send(api, method="GET", path="/v1/books/4")
    result = run(api, write_then_read)
    assert not result.passed and "you sent DELETE /v1/books/9" in result.summary
    send(api, method="PATCH", path="/v1/books/4", json={"price": 9.75})
    send(api, method="GET", path="/v1/books/4")
    assert run(api, write_then_read).passed, "a later write and read with nothing between them pass"


def test_a_load_test_can_be_held_to_a_p99(db: Path) -> None:
    """`max_p99_ms` holds the server's p99 over the matching requests to a bound: the same load passes
    under a generous bound and fails under one its slow page cannot meet, with the p99 it measured."""
    slow = {"name": "books", "table": "books", "latency_ms": 30}
    for box in _start(db, resources=[slow]):
        with ThreadPoolExecutor(10) as pool:
            list(pool.map(lambda _, api=box: send(api, method="GET", path="/v1/books"), range(100)))

        def bounded(ms: float) -> dict[str, object]:
            request = {"method": "GET", "path": "/v1/books"}
            return {"kind": "http_traffic", "expect": [{"request": request, "at_least": 100, "max_p99_ms": ms}]}

        assert run(box, bounded(5000)).passed, run(box, bounded(5000)).explain()
        result = run(box, bounded(20))
        assert not result.passed and "99th percentile" in result.summary and "20 ms or less" in result.summary


def test_a_p99_bound_needs_enough_requests() -> None:
    from pydantic import ValidationError

    from tutor.pack.specs_http import TrafficExpectation

    with pytest.raises(ValidationError, match="at_least"):
        TrafficExpectation.model_validate({"request": {"path": "/v1/books"}, "at_least": 20, "max_p99_ms": 50})


def test_a_load_test_counts_only_requests_served_without_a_full_scan(db: Path) -> None:
    """`no_full_scan` on a traffic expectation counts only the requests whose own flow read no whole
    listed table: a load test run before the index was created does not prove the fix, however fast this
    machine ran it, and the same load run after the index does."""
    import sqlite3

    expectation = {
        "request": {"method": "GET", "path": "/v1/books", "query": {"author": "*"}},
        "at_least": 100,
        "at_once": 5,
        "no_full_scan": ["books"],
    }
    spec = {"kind": "http_traffic", "expect": [expectation]}

    def load(api: ApiSandbox) -> None:
        with ThreadPoolExecutor(10) as pool:
            list(pool.map(lambda _: send(api, method="GET", path="/v1/books", query={"author": 3}), range(100)))

    for box in _start(db):
        load(box)
        before = run(box, spec)
        assert not before.passed and "whole of books" in before.summary, before.explain()
        assert "100 of your requests" in before.summary, before.summary
        conn = sqlite3.connect(db)
        conn.execute("CREATE INDEX books_author ON books(author_id)")
        conn.commit()
        conn.close()
        load(box)
        after = run(box, spec)
        assert after.passed, after.explain()
