"""CORS and redirects in the API sandbox. A preflight is answered 204 with what the policy allows (and nothing
about an origin it does not); a request with an allowed Origin gets Access-Control-Allow-Origin and `Vary:
Origin`, one without an Origin gets the data with no CORS header at all (CORS is not access control) but
still `Vary: Origin`; `*` never goes with credentials; the weak mode echoes any Origin with credentials
until the learner switches it off, and a step reset puts it back. Redirects answer their status and Location
(rest of the path and query kept) to every method, and httpx, a well-kept client, follows them as RFC 9110
says: POST becomes GET after 301, 302 and 303, and stays POST with its body after 307 and 308."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from sandboxes.api.sandbox import ApiSandbox
from tests.api.helpers import make_db, settings
from tests.conftest import REPO
from tests.pack.helpers import write_pack
from tutor.pack.sandbox_api import ApiSettings

SHOP = "https://shop.example"
EVIL = "https://evil.example"
REDIRECTS = [
    {"path": "/v1/catalogue", "to": "/v1/books", "status": 301},
    {"path": "/v1/found", "to": "/v1/books", "status": 302},
    {"path": "/v1/see-other", "to": "/v1/books", "status": 303},
    {"path": "/v1/temporary", "to": "/v1/books", "status": 307},
    {"path": "/v1/permanent", "to": "/v1/books", "status": 308},
]


def start(tmp_path: Path, cors: dict[str, Any] | None, **more: Any) -> ApiSandbox:
    extra: dict[str, Any] = {"redirects": REDIRECTS, **more}
    if cors is not None:
        extra["cors"] = cors
    return ApiSandbox.start(settings(**extra), database=make_db(tmp_path / "lesson.db"))


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiSandbox]:
    sandbox = start(
        tmp_path,
        {
            "allow_origins": [SHOP],
            "allow_methods": ["GET", "POST"],
            "allow_headers": ["Content-Type", "Authorization"],
            "expose_headers": ["X-Total-Count"],
            "allow_credentials": True,
            "max_age": 300,
        },
    )
    yield sandbox
    sandbox.stop()


def client(api: ApiSandbox) -> httpx.Client:
    return httpx.Client(base_url=api.base_url, trust_env=False, timeout=10)


def test_a_preflight_says_what_is_allowed_and_refuses_nothing_itself(api: ApiSandbox) -> None:
    with client(api) as http:
        asked = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
        ok = http.options("/v1/books", headers={"Origin": SHOP, **asked})
        other = http.options("/v1/books", headers={"Origin": EVIL, **asked})
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == SHOP
    assert ok.headers["access-control-allow-methods"] == "GET, POST"
    assert ok.headers["access-control-allow-headers"] == "Content-Type, Authorization"
    assert ok.headers["access-control-allow-credentials"] == "true"
    assert ok.headers["access-control-max-age"] == "300"
    assert "Origin" in ok.headers["vary"]
    # another origin: the same 204, with nothing that would let a browser go on
    assert other.status_code == 204
    assert not [h for h in other.headers if h.startswith("access-control-")]


def test_an_allowed_origin_is_echoed_and_the_answer_varies_by_origin(api: ApiSandbox) -> None:
    with client(api) as http:
        mine = http.get("/v1/books", headers={"Origin": SHOP})
        theirs = http.get("/v1/books", headers={"Origin": EVIL})
        plain = http.get("/v1/books")
    assert mine.headers["access-control-allow-origin"] == SHOP
    assert mine.headers["access-control-allow-credentials"] == "true"
    assert mine.headers["access-control-expose-headers"] == "X-Total-Count"
    assert mine.headers["vary"] == "Origin"
    assert "access-control-allow-origin" not in theirs.headers
    assert theirs.headers["vary"] == "Origin"
    # CORS is not access control: every one of them got the data, and the one without Origin no CORS header
    assert mine.json() == theirs.json() == plain.json()
    assert not [h for h in plain.headers if h.startswith("access-control-")]
    # a cache that kept the answer without Origin must not hand it to the shop's page: it varies too
    assert plain.headers["vary"] == "Origin"


def test_vary_keeps_what_the_answer_already_varied_on(tmp_path: Path) -> None:
    sandbox = start(
        tmp_path,
        {"allow_origins": [SHOP]},
        auth={"users": [{"username": "ada", "password": "lovelace-1"}]},
    )
    try:
        with client(sandbox) as http:
            token = http.post("/auth/login", json={"username": "ada", "password": "lovelace-1"}).json()
            me = http.get("/auth/me", headers={"Origin": SHOP, "Authorization": f"Bearer {token['access_token']}"})
        assert me.status_code == 200
        assert [v.strip() for v in me.headers["vary"].split(",")] == ["Authorization", "Cookie", "Origin"]
    finally:
        sandbox.stop()


def test_any_origin_is_a_star_and_never_with_credentials(tmp_path: Path) -> None:
    sandbox = start(tmp_path, {"allow_origins": ["*"]})
    try:
        with client(sandbox) as http:
            answer = http.get("/v1/books", headers={"Origin": EVIL})
            plain = http.get("/v1/books")
        assert answer.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in answer.headers
        assert "vary" not in answer.headers
        # the same answer for everyone, with or without Origin, so a cached copy serves any page
        assert plain.headers["access-control-allow-origin"] == "*"
        assert "vary" not in plain.headers
    finally:
        sandbox.stop()
    with pytest.raises(ValidationError, match="browsers refuse"):
        settings(cors={"allow_origins": ["*"], "allow_credentials": True})
    with pytest.raises(ValidationError, match="not an origin"):
        settings(cors={"allow_origins": ["https://shop.example/"]})


def test_the_weak_mode_echoes_any_origin_until_switched_off_and_a_reset_puts_it_back(tmp_path: Path) -> None:
    sandbox = start(tmp_path, {"allow_origins": [SHOP], "weak": {"reflect_origin": True, "switchable": True}})
    try:
        before = sandbox.snapshot()
        with client(sandbox) as http:
            echoed = http.get("/v1/books", headers={"Origin": EVIL})
            assert echoed.headers["access-control-allow-origin"] == EVIL
            assert echoed.headers["access-control-allow-credentials"] == "true"
            null = http.get("/v1/books", headers={"Origin": "null"})
            assert null.headers["access-control-allow-origin"] == "null"
            switched = http.put("/_sandbox/cors", json={"reflect_origin": False})
            assert switched.status_code == 200
            assert switched.json()["weak_modes"] == {"reflect_origin": False}
            after = http.get("/v1/books", headers={"Origin": EVIL})
            assert "access-control-allow-origin" not in after.headers
            assert http.get("/v1/books", headers={"Origin": SHOP}).headers["access-control-allow-origin"] == SHOP
            assert http.put("/_sandbox/cors", json={"reflect_origin": "no"}).status_code == 422
        sandbox.restore(before)
        with client(sandbox) as http:
            assert http.get("/v1/books", headers={"Origin": EVIL}).headers["access-control-allow-origin"] == EVIL
    finally:
        sandbox.stop()


def test_the_policy_cannot_be_switched_without_switchable(api: ApiSandbox) -> None:
    with client(api) as http:
        assert http.get("/_sandbox/cors").json()["allow_origins"] == [SHOP]
        assert http.put("/_sandbox/cors", json={"reflect_origin": True}).status_code == 403


@pytest.mark.parametrize(
    ("path", "status", "method_after"),
    [
        ("/v1/catalogue", 301, "GET"),
        ("/v1/found", 302, "GET"),
        ("/v1/see-other", 303, "GET"),
        ("/v1/temporary", 307, "POST"),
        ("/v1/permanent", 308, "POST"),
    ],
)
def test_a_redirect_and_what_a_client_sends_after_it(
    api: ApiSandbox, path: str, status: int, method_after: str
) -> None:
    with client(api) as http:
        moved = http.post(path + "/3", params={"x": "1"}, json={"title": "Moved", "year": 2001})
        assert moved.status_code == status
        assert moved.headers["location"] == "/v1/books/3?x=1"
        followed = http.post(path, json={"title": "Moved", "year": 2001}, follow_redirects=True)
    assert followed.request.method == method_after
    assert [r.status_code for r in followed.history] == [status]
    # a POST kept after 307/308 creates the book at the new path; a GET after 301/302/303 reads the list
    assert followed.status_code == (201 if method_after == "POST" else 200)


def test_a_redirect_must_stay_on_this_api_and_not_shadow_a_route() -> None:
    with pytest.raises(ValidationError, match="not a path of this API"):
        settings(redirects=[{"path": "/v1/old", "to": "https://evil.example/x", "status": 302}])
    with pytest.raises(ValidationError, match="already serves"):
        settings(redirects=[{"path": "/v1/books", "to": "/v1/authors", "status": 308}])
    with pytest.raises(ValidationError, match="back to itself"):
        ApiSettings.model_validate({"redirects": [{"path": "/v1/a", "to": "/v1/a/b", "status": 308}]})


def test_a_redirect_keeps_an_encoded_path_as_sent_and_refuses_other_methods(api: ApiSandbox) -> None:
    """Found by schemathesis: a non-ASCII rest of the path made a Location that could not be encoded (500),
    and TRACE was redirected like a real method."""
    with client(api) as http:
        moved = http.get("/v1/catalogue/caf%C3%A9%20menu")
        trace = http.request("TRACE", "/v1/catalogue")
    assert moved.status_code == 301
    assert moved.headers["location"] == "/v1/books/caf%C3%A9%20menu"
    assert trace.status_code == 405
    assert trace.headers["allow"] == "GET, HEAD, POST, PUT, PATCH, DELETE"


CLI_LESSON = """\
id: trusting
title: An API that trusts every page
track: http
sandboxes:
  sql: {sql: "CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT);"}
  api:
    resources: [{name: books, table: books}]
    cors: {allow_origins: ["https://shop.example"], weak: {reflect_origin: true}}
steps:
  - id: one
    title: One
    text: Look.
    check: {kind: choice, options: [{id: a, text: A}, {id: b, text: B}], correct: a}
    solution: {answer: a}
    wrong_answers: [{answer: b}]
"""


def test_the_command_names_the_trusted_origins_and_warns_of_the_weak_mode(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "pack", {"http/trusting.yaml": CLI_LESSON})
    child = subprocess.Popen(
        [sys.executable, "-m", "tutor", "sandbox", "api", "trusting", "--pack", str(pack)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
        env={"BACKEND_TUTOR_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    lines = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(line.rstrip())
            if line.startswith("Press Ctrl+C"):
                break
    finally:
        child.send_signal(signal.SIGINT)
        child.wait(20)
    assert "  cors: pages of https://shop.example may read the answers" in lines, lines
    assert "  WARNING: deliberately weak CORS for this lesson: reflect_origin" in lines, lines
