"""Content negotiation: the API sends only JSON, so an `Accept` that rules JSON out gets 406 (RFC 9110
§15.5.7), while a body in a format it cannot read gets 415. Browsers', curl's and httpx's defaults pass."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandboxes.api.jsonio import accepts_json
from sandboxes.api.sandbox import ApiSandbox
from tests.api.helpers import make_db, settings


@pytest.mark.parametrize(
    ("accept", "ok"),
    [
        ("*/*", True),
        ("application/json", True),
        ("application/*", True),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),  # a browser
        ("text/csv", False),
        ("text/csv, application/xml;q=0.5", False),
        ("application/json;q=0, */*", False),  # the more specific range decides
        ("application/json;q=0.1, text/csv", True),
        ("application/problem+json", False),
        ("", True),
        ("text/csv;q=abc", True),  # unreadable: ignored
    ],
)
def test_accepts_json(accept: str, ok: bool) -> None:
    assert accepts_json(accept) is ok


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    db = make_db(tmp_path_factory.mktemp("db") / "lesson.db")
    sandbox = ApiSandbox.start(settings(), database=db)
    try:
        with httpx.Client(base_url=sandbox.base_url, trust_env=False, timeout=10) as c:
            yield c
    finally:
        sandbox.stop()


def test_406_when_accept_rules_out_json(client: httpx.Client) -> None:
    r = client.get("/v1/books/1", headers={"Accept": "text/csv"})
    assert r.status_code == 406
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 406
    assert client.get("/v1/books/1", headers={"Accept": "application/json"}).status_code == 200
    assert client.get("/v1/books/1").status_code == 200  # httpx sends */*


def test_406_is_about_the_answer_415_about_the_body(client: httpx.Client) -> None:
    wrong_body = client.post("/v1/books", content=b"title=x", headers={"Content-Type": "text/plain"})
    assert wrong_body.status_code == 415
    wrong_answer = client.post("/v1/books", json={"title": "x"}, headers={"Accept": "text/csv"})
    assert wrong_answer.status_code == 406
