"""HTTP caching, the application cache, latency, rate limiting and auth, over real HTTP."""

# The weak-auth lesson signs with a guessable 6-byte secret on purpose.

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

import httpx
import jwt
import pytest

from sandboxes.api.sandbox import ApiSandbox
from tests.api.helpers import make_db, settings

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _client(api: ApiSandbox) -> httpx.Client:
    return httpx.Client(base_url=api.base_url, trust_env=False, timeout=10)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_db(tmp_path_factory.mktemp("db") / "lesson.db")


@pytest.fixture(scope="module")
def cached(db: Path) -> Iterator[ApiSandbox]:
    caching = {"etag": True, "last_modified": True, "cache_control": "max-age=60, private", "app_cache_ttl": 30}
    sandbox = ApiSandbox.start(settings(caching=caching), database=db)
    yield sandbox
    sandbox.stop()


def test_etag_and_if_none_match_give_304(cached: ApiSandbox) -> None:
    with _client(cached) as c:
        first = c.get("/v1/books/2")
        etag = first.headers["etag"]
        assert etag.startswith('"') and first.headers["cache-control"] == "max-age=60, private"
        again = c.get("/v1/books/2", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
        assert c.get("/v1/books/2", headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
        assert c.get("/v1/books/2", headers={"If-None-Match": '"stale"'}).status_code == 200


def test_last_modified_and_if_modified_since(cached: ApiSandbox) -> None:
    with _client(cached) as c:
        r = c.get("/v1/books/3")
        assert c.get("/v1/books/3", headers={"If-Modified-Since": r.headers["last-modified"]}).status_code == 304
        old = formatdate(time.time() - 10 * 365 * 86400, usegmt=True)
        assert c.get("/v1/books/3", headers={"If-Modified-Since": old}).status_code == 200


def test_a_read_whose_if_match_fails_is_412_before_any_304(cached: ApiSandbox) -> None:
    """RFC 9110 §13.2.2: If-Match (then If-Unmodified-Since) is evaluated before If-None-Match and
    If-Modified-Since, for a GET as for a write; a false one is 412, whatever the others say."""
    with _client(cached) as c:
        r = c.get("/v1/books/4")
        etag, modified = r.headers["etag"], r.headers["last-modified"]
        stale = c.get("/v1/books/4", headers={"If-Match": '"not-this"', "If-Modified-Since": modified})
        assert stale.status_code == 412 and stale.headers["etag"] == etag
        assert c.get("/v1/books/4", headers={"If-Match": etag}).status_code == 200
        assert c.get("/v1/books/4", headers={"If-Match": f"W/{etag}"}).status_code == 412  # strong comparison
        assert c.get("/v1/books/4", headers={"If-Match": etag, "If-None-Match": etag}).status_code == 304
        old = formatdate(time.time() - 10 * 365 * 86400, usegmt=True)
        assert c.get("/v1/books/4", headers={"If-Unmodified-Since": old}).status_code == 412
        assert c.get("/v1/books/4", headers={"If-Unmodified-Since": modified}).status_code == 200


def test_app_cache_hit_miss_invalidation_and_server_timing(cached: ApiSandbox) -> None:
    with _client(cached) as c:
        miss = c.get("/v1/books", params={"author": 3})
        hit = c.get("/v1/books", params={"author": 3})
        assert miss.headers["x-cache"] == "MISS" and hit.headers["x-cache"] == "HIT"
        assert "db;dur=" in miss.headers["server-timing"] and 'cache;desc="HIT"' in hit.headers["server-timing"]
        assert "db;dur=" not in hit.headers["server-timing"]
        etag = hit.headers["etag"]
        c.patch("/v1/books/2", json={"price": 99.0}).raise_for_status()  # a write invalidates
        after = c.get("/v1/books", params={"author": 3})
        assert after.headers["x-cache"] == "MISS" and after.headers["etag"] != etag
        assert c.get("/v1/books", params={"author": 3}, headers={"If-None-Match": etag}).status_code == 200


def test_app_cache_ttl_and_latency(db: Path) -> None:
    s = settings(caching={"app_cache_ttl": 0.3})
    resources = [r.model_copy(update={"latency_ms": 150}) for r in s.resources]
    api = ApiSandbox.start(s.model_copy(update={"resources": resources}), database=db)
    try:
        with _client(api) as c:
            t = time.perf_counter()
            assert c.get("/v1/books/1").headers["x-cache"] == "MISS"
            slow = time.perf_counter() - t
            t = time.perf_counter()
            assert c.get("/v1/books/1").headers["x-cache"] == "HIT"
            fast = time.perf_counter() - t
            assert slow >= 0.15 and fast < slow
            time.sleep(0.35)
            assert c.get("/v1/books/1").headers["x-cache"] == "MISS"
    finally:
        api.stop()


def test_token_bucket_rate_limit(db: Path) -> None:
    api = ApiSandbox.start(settings(rate_limit={"capacity": 3, "refill_per_second": 0.5}), database=db)
    try:
        with _client(api) as c:
            statuses = [c.get("/v1/books/1") for _ in range(4)]
            assert [r.status_code for r in statuses] == [200, 200, 200, 429]
            # draft-ietf-httpapi-ratelimit-headers: a policy (quota, window) and the live counters
            assert statuses[0].headers["ratelimit-policy"] == '"bucket";q=3;w=6'
            assert [r.headers["ratelimit"] for r in statuses[:3]] == [
                '"bucket";r=2;t=2',
                '"bucket";r=1;t=4',
                '"bucket";r=0;t=6',
            ]
            assert "ratelimit-limit" not in statuses[0].headers  # the old draft's fields are gone
            limited = statuses[3]
            assert (
                limited.headers["retry-after"] == "2" and limited.headers["content-type"] == "application/problem+json"
            )
            assert c.get("/health").status_code == 200  # not rate limited
            # The checker's own requests have their own bucket.
            assert api.send("GET", "/v1/books/1").status == 200
    finally:
        api.stop()


AUTH = {
    "refresh_tokens": True,
    "cookie_sessions": True,
    "access_ttl_seconds": 60,
    "users": [
        {"username": "ada", "password": "correct horse", "role": "admin"},
        {"username": "bob", "password": "battery staple", "role": "reader"},
    ],
}


@pytest.fixture(scope="module")
def secured(db: Path) -> Iterator[ApiSandbox]:
    s = settings(auth=AUTH)
    books = s.resources[0].model_copy(update={"auth": "write", "write_role": "admin"})
    sandbox = ApiSandbox.start(s.model_copy(update={"resources": [books, s.resources[1]]}), database=db)
    yield sandbox
    sandbox.stop()


def _login(c: httpx.Client, username: str, password: str) -> dict:
    r = c.post("/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


def test_register_login_and_me(secured: ApiSandbox) -> None:
    with _client(secured) as c:
        r = c.post("/auth/register", json={"username": "cleo", "password": "long enough"})
        assert r.status_code == 201 and r.json() == {"username": "cleo", "role": "user"}
        assert c.post("/auth/register", json={"username": "cleo", "password": "long enough"}).status_code == 409
        assert c.post("/auth/register", json={"username": "dan", "password": "short"}).status_code == 422
        assert c.post("/auth/login", json={"username": "cleo", "password": "wrong one"}).status_code == 401
        assert c.post("/auth/login", json={"username": "nobody", "password": "wrong one"}).status_code == 401
        tokens = _login(c, "cleo", "long enough")
        assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 60
        stored = secured.app.state.auth.users["cleo"].password_hash
        assert stored.startswith("$argon2id$")
        me = c.get("/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert me.json()["username"] == "cleo"
        anonymous = httpx.get(secured.base_url + "/auth/me", trust_env=False)
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")


def test_401_versus_403(secured: ApiSandbox) -> None:
    with _client(secured) as c:
        assert c.get("/v1/books/1").status_code == 200  # reading needs no login
        assert c.delete("/v1/books/1").status_code == 401
        reader = _login(c, "bob", "battery staple")["access_token"]
        r = c.patch("/v1/books/1", json={"price": 1.0}, headers={"Authorization": f"Bearer {reader}"})
        assert r.status_code == 403 and "admin" in r.json()["detail"]
        assert c.get("/auth/admin", headers={"Authorization": f"Bearer {reader}"}).status_code == 403
        admin = _login(c, "ada", "correct horse")["access_token"]
        r = c.patch("/v1/books/1", json={"price": 1.0}, headers={"Authorization": f"Bearer {admin}"})
        assert r.status_code == 200
        assert c.get("/v1/books/1", headers={"Authorization": "Bearer not.a.token"}).status_code == 200
        assert c.delete("/v1/books/1", headers={"Authorization": "Bearer not.a.token"}).status_code == 401


def test_expired_forged_and_none_tokens_are_refused(secured: ApiSandbox) -> None:
    secret = secured.app.state.auth.secret
    now = int(time.time())
    expired = jwt.encode({"sub": "ada", "role": "admin", "exp": now - 5, "iat": now - 65}, secret, algorithm="HS256")
    forged = jwt.encode({"sub": "ada", "role": "admin", "exp": now + 60}, "secret", algorithm="HS256")
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).decode().rstrip("=")
    payload = base64.urlsafe_b64encode(json.dumps({"sub": "ada", "role": "admin", "exp": now + 60}).encode())
    unsigned = f"{header}.{payload.decode().rstrip('=')}."
    with _client(secured) as c:
        for token in (expired, forged, unsigned):
            r = c.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 401, token
        assert "expired" in c.get("/auth/me", headers={"Authorization": f"Bearer {expired}"}).json()["detail"]


def test_refresh_rotation_reuse_and_logout(secured: ApiSandbox) -> None:
    with _client(secured) as c:
        tokens = _login(c, "ada", "correct horse")
        renewed = c.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert renewed.status_code == 200 and renewed.json()["refresh_token"] != tokens["refresh_token"]
        # Reusing the old one is refused and burns the whole family.
        assert c.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401
        assert c.post("/auth/refresh", json={"refresh_token": renewed.json()["refresh_token"]}).status_code == 401
        fresh = _login(c, "ada", "correct horse")
        bearer = {"Authorization": f"Bearer {fresh['access_token']}"}
        out = c.post("/auth/logout", json={"refresh_token": fresh["refresh_token"]}, headers=bearer)
        assert out.status_code == 204
        assert c.get("/auth/me", headers=bearer).status_code == 401  # access token revoked
        assert c.post("/auth/refresh", json={"refresh_token": fresh["refresh_token"]}).status_code == 401


def test_cookie_session(secured: ApiSandbox) -> None:
    with _client(secured) as c:
        r = c.post("/auth/login", json={"username": "bob", "password": "battery staple"})
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert c.get("/auth/me").json() == {"username": "bob", "role": "reader", "via": "cookie"}
        assert c.post("/auth/logout").status_code == 204
        assert c.get("/auth/me").status_code == 401


def test_a_caller_without_credentials_is_told_which_this_api_takes(secured: ApiSandbox, db: Path) -> None:
    """With cookie sessions the session cookie is a way in too, and the 401 says so; without them it
    names the Bearer token only, on /auth/me and on a resource alike."""
    with _client(secured) as c:
        for path in ("/auth/me", "/v1/books"):
            refused = c.get(path) if path == "/auth/me" else c.post(path, json={"title": "x", "year": 2000})
            assert refused.status_code == 401, path
            assert refused.json()["detail"] == (
                "log in first: send 'Authorization: Bearer <access token>' or the session cookie the login set"
            ), path
    tokens_only = {k: v for k, v in AUTH.items() if k != "cookie_sessions"}
    api = ApiSandbox.start(settings(auth=tokens_only), database=db)
    try:
        with _client(api) as c:
            detail = c.get("/auth/me").json()["detail"]
            assert detail == "log in first: send 'Authorization: Bearer <access token>'"
    finally:
        api.stop()


def test_not_before_is_judged_by_the_lesson_clock(db: Path) -> None:
    """A token whose `nbf` has not come is refused as such (not as a malformed JWT), and `nbf` follows
    the lesson clock as `exp` does."""
    api = ApiSandbox.start(settings(auth=AUTH), database=db)
    try:
        secret = api.app.state.auth.secret
        now = int(time.time())
        with _client(api) as c:

            def me(claims: dict) -> httpx.Response:
                token = jwt.encode({"sub": "bob", "role": "reader", "exp": now + 86400, **claims}, secret, "HS256")
                return c.get("/auth/me", headers={"Authorization": f"Bearer {token}"})

            early = me({"nbf": now + 3600})
            assert early.status_code == 401
            assert early.json()["detail"].startswith("the access token is not valid yet")
            assert 'error="invalid_token"' in early.headers["www-authenticate"]
            assert me({"nbf": "soon"}).status_code == 401
            assert c.post("/_sandbox/clock", json={"advance": 3601}).status_code == 200
            assert me({"nbf": now + 3600}).status_code == 200
            assert me({"nbf": now + 3000}).status_code == 200  # in the lesson's past, after the wall clock's now
    finally:
        api.stop()


def test_weak_modes_only_when_asked(db: Path) -> None:
    weak = dict(AUTH, weak={"accept_alg_none": True, "guessable_secret": True, "skip_expiry": True})
    api = ApiSandbox.start(settings(auth=weak), database=db)
    try:
        assert api.weak_auth_modes == ["accept_alg_none", "guessable_secret", "skip_expiry"]
        now = int(time.time())
        header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').decode().rstrip("=")
        body = base64.urlsafe_b64encode(json.dumps({"sub": "eve", "role": "admin", "exp": now + 60}).encode())
        unsigned = f"{header}.{body.decode().rstrip('=')}."
        guessed = jwt.encode({"sub": "eve", "role": "admin", "exp": now - 999}, "secret", algorithm="HS256")
        with _client(api) as c:
            for token in (unsigned, guessed):
                r = c.get("/auth/admin", headers={"Authorization": f"Bearer {token}"})
                assert r.status_code == 200, r.text
            assert c.get("/").json()["weak_auth_modes"] == api.weak_auth_modes
            assert "WARNING" in c.get("/openapi.json").json()["info"]["description"]
    finally:
        api.stop()
