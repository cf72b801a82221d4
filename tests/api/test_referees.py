"""Outside clients as referees: what the sandbox says about caching and tokens is read by libraries that
follow the standards, not by our own code.

- hishel, an HTTP cache for httpx, in its RFC 9111 mode (a shared cache), stores the caching lesson's answers, reuses
  them while fresh (`max-age=60`), revalidates a stale one with the ETag (If-None-Match -> 304) and
  keeps nothing that says `no-store`;
- PyJWT decodes and verifies the sandbox's access tokens with the algorithm the docs name (HS256).
"""

from __future__ import annotations

import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hishel._core._spec as rfc9111
import httpx
import jwt
import pytest
from hishel import SqliteStorage
from hishel.httpx import CacheClient

from sandboxes.api.sandbox import ApiSandbox
from tests.conftest import BUILTIN
from tutor.pack.loader import load_pack_or_raise
from tutor.paths import Home
from tutor.session import Session

PACK = load_pack_or_raise(BUILTIN)


@pytest.fixture
def lesson_api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiSandbox]:
    lesson = next(e.lesson for e in PACK.lessons if e.lesson.id == request.param)
    with Session(PACK, lesson, Home(tmp_path / "home").ensure()) as session:
        session.start()
        assert session.api is not None
        yield session.api


def _recorded(api: ApiSandbox, count: int) -> list[Any]:
    """The exchanges the sandbox saw, once `count` are logged (the log is written as a response ends,
    which can be just after the client has read it)."""
    deadline = time.monotonic() + 5
    while len(api.recorder.all()) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return list(api.recorder.all())


def _statuses(api: ApiSandbox, count: int) -> list[tuple[int, str | None]]:
    return [(e.status, e.request_header("if-none-match")) for e in _recorded(api, count)]


@pytest.mark.parametrize("lesson_api", ["validators-and-app-cache"], indirect=True)
def test_an_rfc9111_cache_reuses_and_revalidates_the_caching_lessons_answers(
    lesson_api: ApiSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = SqliteStorage(database_path=str(tmp_path / "cache.db"))
    with CacheClient(base_url=lesson_api.base_url, storage=storage, rfc=True, trust_env=False, timeout=10) as client:
        first = client.get("/v1/books/1")
        assert first.status_code == 200 and first.extensions["caching"]["stored"]
        etag = first.headers["etag"]

        again = client.get("/v1/books/1")  # fresh for 60 s: answered by the cache, not the sandbox
        assert again.extensions["caching"]["from_cache"] and again.json() == first.json()
        time.sleep(0.2)  # a second request, had the cache sent one, would be logged by now
        assert _statuses(lesson_api, 1) == [(200, None)]

        # The client's clock two minutes on: the stored answer is stale, so the cache must ask again,
        # with the validator it kept (RFC 9111 §4.3.1), and the sandbox answers 304 without a body.
        real = time.time
        monkeypatch.setattr(rfc9111, "time", types.SimpleNamespace(time=lambda: real() + 120))
        revalidated = client.get("/v1/books/1")
        assert revalidated.status_code == 200 and revalidated.json() == first.json()
        assert revalidated.extensions["caching"]["revalidated"]
        assert _statuses(lesson_api, 2) == [(200, None), (304, etag)]


@pytest.mark.parametrize("lesson_api", ["tokens-401-403"], indirect=True)
def test_no_store_answers_are_not_kept_and_tokens_verify_with_pyjwt(lesson_api: ApiSandbox, tmp_path: Path) -> None:
    storage = SqliteStorage(database_path=str(tmp_path / "cache.db"))
    with CacheClient(base_url=lesson_api.base_url, storage=storage, rfc=True, trust_env=False, timeout=10) as client:
        login = client.post("/auth/login", json={"username": "alice", "password": "wonderland-42"})
        token = login.json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        for _ in range(2):
            me = client.get("/auth/me", headers=bearer)
            assert me.status_code == 200 and not me.extensions["caching"]["from_cache"]
        assert [e.path for e in _recorded(lesson_api, 3)] == ["/auth/login", "/auth/me", "/auth/me"]

    auth = lesson_api.app.state.auth
    assert auth is not None
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(token, auth.secret, algorithms=["HS256"], options={"require": ["exp", "iat", "sub"]})
    assert claims["sub"] == "alice" and claims["role"] == "reader" and claims["typ"] == "access"
    assert claims["exp"] - claims["iat"] == 300 == login.json()["expires_in"]
    # the API's index states the same lifetime (the tokens lesson's check reads it there)
    with httpx.Client(base_url=lesson_api.base_url, trust_env=False, timeout=10) as plain:
        assert plain.get("/").json()["access_ttl_seconds"] == claims["exp"] - claims["iat"]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "another-key-of-enough-length-32b", algorithms=["HS256"])

    # The sandbox's own verdict on an expired token matches PyJWT's, read on the lesson clock.
    with httpx.Client(base_url=lesson_api.base_url, trust_env=False, timeout=10) as plain:
        plain.post("/_sandbox/clock", json={"advance": 301})
        assert plain.get("/auth/me", headers=bearer).status_code == 401
    # (A negative leeway also moves PyJWT's iat check, so it is off, as in the sandbox: see docs.)
    offset = lesson_api.app.state.clock.offset
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(token, auth.secret, algorithms=["HS256"], leeway=-offset, options={"verify_iat": False})
