"""Resources over real HTTP: status codes, pagination, filters, sorting, writes, versions, bad input."""

from __future__ import annotations

from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest

from sandboxes.api.sandbox import ApiSandbox
from tests.api.helpers import make_db, settings


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiSandbox]:
    db = make_db(tmp_path_factory.mktemp("db") / "lesson.db")
    sandbox = ApiSandbox.start(settings(idempotency_keys=True), database=db)
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="module")
def client(api: ApiSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.base_url, trust_env=False, timeout=10) as c:
        yield c


def test_list_offset_pagination_with_link_headers(client: httpx.Client) -> None:
    r = client.get("/v1/books", params={"limit": 10, "offset": 10})
    assert r.status_code == 200
    body = r.json()
    assert [b["id"] for b in body["items"]] == list(range(11, 21))
    assert body["total"] == 25 and r.headers["x-total-count"] == "25"
    links = r.headers["link"]
    assert '</v1/books?limit=10>; rel="first"' in links
    assert '</v1/books?limit=10&offset=20>; rel="next"' in links
    assert 'rel="prev"' in links and 'rel="last"' in links
    assert body["items"][0]["author"] == {"id": 11 % 5 + 1, "name": f"Author {11 % 5 + 1}"}
    last = client.get("/v1/books", params={"limit": 10, "offset": 20})
    assert 'rel="next"' not in last.headers["link"]


def test_cursor_pagination_walks_every_row_once(client: httpx.Client) -> None:
    seen, url = [], "/v1/authors"
    for _ in range(10):
        r = client.get(url)
        assert r.status_code == 200
        seen += [a["id"] for a in r.json()["items"]]
        nxt = r.links.get("next")
        if nxt is None:
            assert r.json()["next_cursor"] is None
            break
        url = nxt["url"]
    assert seen == [1, 2, 3, 4, 5]
    assert client.get("/v1/authors", params={"cursor": "garbage!"}).status_code == 400


def test_filters_and_sorting(client: httpx.Client) -> None:
    r = client.get("/v1/books", params={"author": 2, "sort": "-year,title", "limit": 50})
    items = r.json()["items"]
    assert items and all(b["author_id"] == 2 for b in items)
    assert [b["year"] for b in items] == sorted((b["year"] for b in items), reverse=True)
    bad = client.get("/v1/books", params={"sort": "secret"})
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"
    assert "sortable: year, title, price" in bad.json()["detail"]


def test_item_and_404_problem(client: httpx.Client) -> None:
    assert client.get("/v1/books/3").json()["title"] == "Book 003"
    r = client.get("/v1/books/9999")
    assert r.status_code == 404
    problem = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert problem["status"] == 404 and problem["instance"] == "/v1/books/9999" and problem["title"] == "Not Found"
    assert client.get("/nowhere").status_code == 404
    assert client.delete("/v1/authors/1").status_code == 405  # read-only resource


def test_versions(client: httpx.Client) -> None:
    v2 = client.get("/v2/books", params={"limit": 2})
    assert set(v2.json()) == {"data", "meta", "links"} and v2.json()["meta"]["total"] == 25
    assert "deprecation" not in v2.headers
    v1 = client.get("/v1/books/1")
    # RFC 9745: a Structured Field Date; RFC 8594: an HTTP-date; RFC 9745 §3 and RFC 5829 links
    deprecated = int(v1.headers["deprecation"].removeprefix("@"))
    assert v1.headers["deprecation"] == f"@{deprecated}" and deprecated % 86400 == 0
    sunset = parsedate_to_datetime(v1.headers["sunset"]).timestamp()
    assert sunset - deprecated == 180 * 86400
    assert v1.headers["link"] == '</v2/books/1>; rel="successor-version", </docs>; rel="deprecation"'
    assert client.get("/v2/books/1").json()["data"]["id"] == 1


def test_create_replace_patch_delete(client: httpx.Client) -> None:
    new = {"title": "Fresh", "author_id": 1, "year": 2024, "price": 9.5}
    r = client.post("/v1/books", json=new)
    assert r.status_code == 201
    location = r.headers["location"]
    assert client.get(location).json()["title"] == "Fresh"
    assert client.post("/v1/books", json=new).status_code == 409  # title is UNIQUE
    r = client.put(location, json={"title": "Fresher", "author_id": 2, "year": 2025, "price": 1})
    assert r.status_code == 200 and r.json()["year"] == 2025
    assert client.put(location, json={"title": "Only"}).status_code == 422  # PUT needs every required field
    r = client.patch(location, json={"price": 3.25})
    assert r.status_code == 200 and r.json()["price"] == 3.25 and r.json()["title"] == "Fresher"
    assert client.delete(location).status_code == 204
    assert client.get(location).status_code == 404
    assert client.delete(location).status_code == 404


def test_validation_errors(client: httpx.Client) -> None:
    r = client.post("/v1/books", json={"title": 5, "year": "soon", "colour": "red"})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"title", "year", "colour"}
    assert client.post("/v1/books", json={"year": 2000}).json()["errors"] == [
        {"field": "title", "message": "is required"}
    ]
    assert client.post("/v1/books", json=[1, 2]).status_code == 422
    assert client.post("/v1/books", json={"title": "Huge", "year": 10**30}).status_code == 422


def test_idempotency_keys(client: httpx.Client) -> None:
    body = {"title": "Once only", "year": 2001}
    first = client.post("/v1/books", json=body, headers={"Idempotency-Key": "abc-1"})
    again = client.post("/v1/books", json=body, headers={"Idempotency-Key": "abc-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    other = client.post("/v1/books", json={"title": "Other", "year": 2001}, headers={"Idempotency-Key": "abc-1"})
    assert other.status_code == 422
    assert client.post("/v1/books", json=body).status_code == 409  # without a key it is a new request


def test_an_idempotent_retry_may_send_its_json_members_in_another_order(client: httpx.Client) -> None:
    """A JSON object's members have no order (RFC 8259 §4): a retry that serialises the same object
    differently is the same request, replayed, not a 422."""
    first = client.post("/v1/books", json={"title": "Reordered", "year": 2002}, headers={"Idempotency-Key": "abc-2"})
    again = client.post(
        "/v1/books",
        content=b'{ "year": 2002,\n  "title": "Reordered" }',
        headers={"Idempotency-Key": "abc-2", "Content-Type": "application/json"},
    )
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()


BAD_REQUESTS = [
    ("POST", "/v1/books", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 400),
    ("POST", "/v1/books", {"content": b'{"a": NaN}', "headers": {"content-type": "application/json"}}, 400),
    ("POST", "/v1/books", {"content": b"[" * 100_000, "headers": {"content-type": "application/json"}}, 400),
    ("POST", "/v1/books", {"content": b"\xff\xfe", "headers": {"content-type": "application/json"}}, 400),
    ("POST", "/v1/books", {"content": b"title=x", "headers": {"content-type": "text/plain"}}, 415),
    ("POST", "/v1/books", {"content": b"x" * (2 * 1024 * 1024)}, 413),
    ("POST", "/v1/books", {}, 400),
    ("GET", "/v1/books?limit=-1", {}, 400),
    ("GET", "/v1/books?limit=99999999999999999999", {}, 400),
    ("GET", "/v1/books?offset=x", {}, 400),
    ("GET", "/v1/books/%00", {}, 404),
    ("GET", "/v1/books/" + "9" * 40, {}, 404),
    ("GET", "/v1/books?author=%FF%FE", {}, 200),
    ("GET", "/v1/books", {"headers": {"If-Modified-Since": "yesterday", "If-None-Match": "\x01"}}, 200),
    ("GET", "/v1/books", {"headers": {"Authorization": "Bearer"}}, 200),
    ("PATCH", "/v1/books/1", {"json": {"id": 7}}, 422),
    ("BREW", "/v1/books", {}, 405),
    ("GET", "/" + "a" * 5000, {}, 404),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), BAD_REQUESTS)
def test_bad_input_is_4xx_problem_never_500(
    client: httpx.Client, api: ApiSandbox, method: str, path: str, kwargs: dict, status: int
) -> None:
    r = client.request(method, path, **kwargs)
    assert r.status_code == status, r.text
    if status >= 400:
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["status"] == status
    assert client.get("/health").status_code == 200  # still alive
    assert api.alive


def test_database_replaced_by_a_reset_is_picked_up(tmp_path: Path) -> None:
    db = make_db(tmp_path / "live.db", books=3)
    api = ApiSandbox.start(settings(), database=db)
    try:
        with httpx.Client(base_url=api.base_url, trust_env=False) as c:
            assert c.get("/v1/books").json()["total"] == 3
            fresh = make_db(tmp_path / "fresh.db", books=7)
            fresh.replace(db)
            assert c.get("/v1/books").json()["total"] == 7
            db.unlink()
            r = c.get("/v1/books")
            assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
    finally:
        api.stop()


def test_docs_and_openapi_work_offline(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert {"/v1/books", "/v1/books/{id}", "/v2/authors"} <= set(spec["paths"])
    assert "post" in spec["paths"]["/v1/books"] and "post" not in spec["paths"]["/v1/authors"]
    html = client.get("/docs").text
    assert "/openapi.json" in html
    assert "http://" not in html and "https://" not in html and "cdn" not in html.lower()
    assert client.get("/").json()["docs"] == "/docs"
