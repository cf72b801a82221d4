"""The sandbox answers as the RFCs say: PUT replaces (RFC 9110 §9.3.4), required fields, conditional
writes (RFC 9110 §13, RFC 6585 §3), challenges on every 401 (RFC 9110 §11.6.1), personal answers kept
out of shared caches (RFC 9111), problem types (RFC 9457), and odd ids answered 404."""

from __future__ import annotations

from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandboxes.api.sandbox import ApiSandbox
from tests.api.helpers import make_db, settings

BOOKS: dict[str, Any] = {
    "name": "books",
    "table": "books",
    "writable": True,
    "required": ["price"],
    "relations": [{"name": "author", "table": "authors", "foreign_key": "author_id"}],
}


def _start(tmp_path: Path, **overrides: Any) -> ApiSandbox:
    return ApiSandbox.start(settings(**overrides), database=make_db(tmp_path / "lesson.db"))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[httpx.Client]:
    api = _start(tmp_path, resources=[BOOKS], caching={"etag": True, "last_modified": True})
    with httpx.Client(base_url=api.base_url, trust_env=False, timeout=10) as c:
        yield c
    api.stop()


def test_put_replaces_the_whole_item(client: httpx.Client) -> None:
    before = client.get("/v1/books/2").json()
    assert before["author_id"] is not None
    r = client.put("/v1/books/2", json={"title": "Renamed", "year": 2001, "price": 3.5})
    assert r.status_code == 200
    # author_id was not sent: a replacement has no author (NULL), where PATCH would have kept it
    assert r.json() == {"id": 2, "title": "Renamed", "author_id": None, "year": 2001, "price": 3.5, "author": None}
    assert client.get("/v1/books/2").json() == r.json()


def test_put_and_post_need_every_required_field(client: httpx.Client) -> None:
    put = client.put("/v1/books/2", json={"price": 9.99})
    assert put.status_code == 422
    # `title` and `year` are NOT NULL without a default; nothing changed
    assert {e["field"] for e in put.json()["errors"]} == {"title", "year"}
    assert client.get("/v1/books/2").json()["title"] == "Book 002"
    post = client.post("/v1/books", json={"title": "New", "year": 2020})
    assert post.status_code == 422 and post.json()["errors"] == [{"field": "price", "message": "is required"}]
    nulled = client.patch("/v1/books/2", json={"price": None})
    assert nulled.status_code == 422 and nulled.json()["errors"][0]["field"] == "price"
    assert client.patch("/v1/books/2", json={"year": 1999}).status_code == 200  # PATCH: only what it sends


def test_if_match_and_if_unmodified_since_guard_writes(client: httpx.Client) -> None:
    etag = client.get("/v1/books/3").headers["etag"]
    stale = client.patch("/v1/books/3", json={"year": 1990}, headers={"If-Match": '"not-it"'})
    assert stale.status_code == 412 and stale.headers["etag"] == etag
    assert stale.json()["type"] == "about:blank" and stale.json()["title"] == "Precondition Failed"
    assert client.patch("/v1/books/3", json={"year": 1990}, headers={"If-Match": f"W/{etag}"}).status_code == 412
    ok = client.patch("/v1/books/3", json={"year": 1991}, headers={"If-Match": etag})
    assert ok.status_code == 200 and ok.headers["etag"] != etag
    assert ok.headers["etag"] == client.get("/v1/books/3").headers["etag"]  # the write's ETag is the GET's
    # the first client's ETag is now stale: its second change is refused, not silently applied
    assert (
        client.put("/v1/books/3", json={"title": "X", "year": 1, "price": 1}, headers={"If-Match": etag}).status_code
        == 412
    )
    assert client.delete("/v1/books/3", headers={"If-Match": "*"}).status_code == 204
    assert client.delete("/v1/books/3", headers={"If-Match": "*"}).status_code == 404  # no item: 404, not 412
    long_ago = formatdate(0, usegmt=True)
    assert client.patch("/v1/books/4", json={"year": 1}, headers={"If-Unmodified-Since": long_ago}).status_code == 412
    soon = formatdate(client.get("/_sandbox/clock").json()["now"] + 3600, usegmt=True)
    assert client.patch("/v1/books/4", json={"year": 1}, headers={"If-Unmodified-Since": soon}).status_code == 200
    create_only = client.put("/v1/books/4", json={"title": "Y", "year": 2, "price": 2}, headers={"If-None-Match": "*"})
    assert create_only.status_code == 412


def test_a_resource_can_require_preconditions(tmp_path: Path) -> None:
    api = _start(tmp_path, resources=[{**BOOKS, "require_preconditions": True}])
    try:
        with httpx.Client(base_url=api.base_url, trust_env=False, timeout=10) as c:
            got = c.get("/v1/books/5")
            assert "etag" in got.headers  # items carry an ETag, though the lesson has no caching settings
            bare = c.patch("/v1/books/5", json={"year": 2000})
            assert bare.status_code == 428 and "If-Match" in bare.json()["detail"]
            assert (
                c.patch("/v1/books/5", json={"year": 2000}, headers={"If-Match": got.headers["etag"]}).status_code
                == 200
            )
            assert c.post("/v1/books", json={"title": "N", "year": 1, "price": 1}).status_code == 201  # not an item
    finally:
        api.stop()


@pytest.mark.parametrize(
    "path", ["/v1/books/%C2%B9", "/v1/books/%D9%A3", "/v1/books/99999999999999999999", "/v1/books/-0"]
)
def test_odd_ids_are_404_not_500(client: httpx.Client, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_problem_types_are_absolute(client: httpx.Client) -> None:
    missing = client.get("/v1/books/999").json()
    assert missing["type"] == "about:blank" and missing["title"] == "Not Found"
    invalid = client.post("/v1/books", json={"title": 5}).json()
    assert invalid["type"] == "tag:backend-tutor,2026:validation-error" and invalid["errors"]


AUTH = {"refresh_tokens": True, "users": [{"username": "alice", "password": "wonderland-42"}]}


@pytest.fixture
def auth_client(tmp_path: Path) -> Iterator[httpx.Client]:
    resources = [{**BOOKS, "auth": "read"}]
    api = _start(tmp_path, resources=resources, auth=AUTH, caching={"cache_control": "max-age=60"})
    with httpx.Client(base_url=api.base_url, trust_env=False, timeout=10) as c:
        yield c
    api.stop()


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("POST", "/auth/login", {"json": {"username": "alice", "password": "nope"}}),
        ("POST", "/auth/login", {"json": {"username": "nobody", "password": "nope"}}),
        ("POST", "/auth/refresh", {"json": {"refresh_token": "made-up"}}),
        ("GET", "/auth/me", {}),
        ("GET", "/auth/me", {"headers": {"Authorization": "Bearer abc.def"}}),
        ("GET", "/auth/me", {"headers": {"Authorization": "Bearer a.b.c"}}),
        ("GET", "/auth/me", {"headers": {"Authorization": "Basic YTpi"}}),
        ("GET", "/v1/books", {}),
        ("POST", "/auth/logout", {}),
    ],
)
def test_every_401_has_a_challenge_and_no_library_internals(
    auth_client: httpx.Client, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    r = auth_client.request(method, path, **kwargs)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith('Bearer realm="sandbox"')
    detail = r.json()["detail"]
    for internal in ("padding", "Invalid header", "Not enough segments", "DecodeError", "jwt.", "Traceback"):
        assert internal not in detail


def test_personal_answers_stay_out_of_shared_caches(auth_client: httpx.Client) -> None:
    login = auth_client.post("/auth/login", json={"username": "alice", "password": "wonderland-42"})
    assert login.headers["cache-control"] == "no-store"
    bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
    me = auth_client.get("/auth/me", headers=bearer)
    assert me.headers["cache-control"] == "no-store" and me.headers["vary"] == "Authorization, Cookie"
    books = auth_client.get("/v1/books/1", headers=bearer)
    assert books.headers["cache-control"] == "private, max-age=60" and books.headers["vary"] == "Authorization, Cookie"


def test_a_refused_if_match_says_what_is_wrong_with_it(client: httpx.Client) -> None:
    """An If-Match without its quotes names no version (RFC 9110 §8.8.3): the 412 says so, instead of
    claiming the item changed; a quoted tag that is not the current one is told the current one."""
    etag = client.get("/v1/books/5").headers["etag"]
    unquoted = client.patch("/v1/books/5", json={"year": 2002}, headers={"If-Match": etag.strip('"')})
    assert unquoted.status_code == 412 and unquoted.headers["etag"] == etag
    detail = unquoted.json()["detail"]
    assert "is not an entity tag" in detail and "double quotes" in detail and "changed" not in detail
    made_up = client.patch("/v1/books/5", json={"year": 2002}, headers={"If-Match": '"bogus"'})
    assert made_up.status_code == 412 and f"the current ETag of books item 5 is {etag}" in made_up.json()["detail"]
    assert client.get("/v1/books/5").headers["etag"] == etag  # neither changed anything


def test_a_conflict_names_the_rule_not_the_database(client: httpx.Client) -> None:
    """A 409 says which value clashes, in the API's words: no SQLite message in an error body."""
    taken = client.post("/v1/books", json={"title": "Book 001", "year": 2001, "price": 3})
    assert taken.status_code == 409
    assert taken.json()["detail"] == "conflicts with an existing books item: another one has the same title"
    dangling = client.post("/v1/books", json={"title": "Fresh", "year": 2001, "price": 3, "author_id": 999})
    assert dangling.status_code == 409 and "does not exist" in dangling.json()["detail"]
    for response in (taken, dangling):
        assert "constraint" not in response.text.lower() and "sqlite" not in response.text.lower()


def test_a_415_names_the_formats_it_would_read(client: httpx.Client) -> None:
    """Accept on a response names the media types a request's content may use (RFC 9110 §12.5.1);
    Accept-Patch names a PATCH's formats (RFC 5789 §2.2)."""
    form = {"content": b"title=x", "headers": {"content-type": "application/x-www-form-urlencoded"}}
    post = client.post("/v1/books", **form)
    assert post.status_code == 415 and post.headers["accept"] == "application/json"
    patch = client.patch("/v1/books/2", **form)
    assert patch.status_code == 415 and "accept" not in patch.headers
    assert patch.headers["accept-patch"] == "application/json, application/merge-patch+json"
    merge = client.patch(
        "/v1/books/2", content=b'{"year": 1999}', headers={"content-type": "application/merge-patch+json"}
    )
    assert merge.status_code == 200 and merge.json()["year"] == 1999


def test_an_id_in_a_put_body_is_refused_in_words_that_fit(client: httpx.Client) -> None:
    """This API takes the id from the URL only: the same id in the body is refused too, and the message
    does not pretend the id was being changed."""
    same = client.put("/v1/books/2", json={"id": 2, "title": "Book 002", "year": 1992, "price": 6})
    assert same.status_code == 422
    assert same.json()["errors"] == [
        {"field": "id", "message": "the id is the URL's: leave it out of the body, even unchanged"}
    ]


def test_a_saved_entity_tag_can_be_sent_in_its_weak_form() -> None:
    """`{etag|weak}` sends a saved ETag as W/"...", the form a cache may send back: If-None-Match compares the
    weak way (RFC 9110 §8.8.3.2), so a server must treat it as the same tag."""
    from tutor.checks.http_probe import substitute, substitute_json

    saved = {"etag": '"abc"', "old": 'W/"xyz"', "id": 7}
    assert substitute("{etag|weak}", saved) == 'W/"abc"'
    assert substitute("{old|weak}", saved) == 'W/"xyz"'  # already weak: kept
    assert substitute('"x", {etag|weak}', saved) == '"x", W/"abc"'
    assert substitute("{etag}", saved) == '"abc"' and substitute("{missing|weak}", saved) == "{missing|weak}"
    assert substitute_json({"n": "{id}", "w": "{etag|weak}"}, saved) == {"n": 7, "w": 'W/"abc"'}
