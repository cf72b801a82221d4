"""Object-level authorization (`owner_column`) and the `/_sandbox/auth` switch for weak modes, over real HTTP."""

# Tokens signed with the deliberately guessable secret of the weak-auth lesson.

from __future__ import annotations

import base64
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from sandboxes.api.sandbox import ApiSandbox
from tutor.pack.sandbox_api import ApiSettings

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

USERS = [
    {"username": "alice", "password": "wonderland-42", "role": "user"},
    {"username": "bob", "password": "builder-1234", "role": "user"},
]


def _db(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, item TEXT NOT NULL, total REAL);"
        "INSERT INTO orders VALUES (1, 'alice', 'tea', 4.5), (2, 'bob', 'coffee', 3.2), (3, 'alice', 'cake', 6.0);"
    )
    conn.commit()
    conn.close()
    return path


def _settings(weak: dict | None = None, throttle: dict | None = None) -> ApiSettings:
    return ApiSettings.model_validate(
        {
            "resources": [
                {"name": "orders", "table": "orders", "auth": "read", "writable": True, "owner_column": "owner"}
            ],
            "auth": {"users": USERS, "weak": weak, "login_throttle": throttle},
        }
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return _db(tmp_path / "orders.db")


def _client(api: ApiSandbox) -> httpx.Client:
    return httpx.Client(base_url=api.base_url, trust_env=False, timeout=10)


def _bearer(c: httpx.Client, username: str, password: str) -> dict[str, str]:
    r = c.post("/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def owned(db: Path) -> Iterator[ApiSandbox]:
    api = ApiSandbox.start(_settings(), database=db)
    yield api
    api.stop()


def test_owner_column_needs_auth_read() -> None:
    with pytest.raises(ValueError, match="owner_column"):
        ApiSettings.model_validate({"resources": [{"name": "orders", "table": "orders", "owner_column": "owner"}]})


def test_each_user_sees_and_changes_only_their_own_rows(owned: ApiSandbox) -> None:
    with _client(owned) as c:
        alice = _bearer(c, "alice", "wonderland-42")
        assert [o["id"] for o in c.get("/v1/orders", headers=alice).json()["items"]] == [1, 3]
        assert c.get("/v1/orders/1", headers=alice).status_code == 200
        theirs = c.get("/v1/orders/2", headers=alice)
        missing = c.get("/v1/orders/99", headers=alice)
        # Someone else's row and a row that does not exist look the same (RFC 9110 15.5.5).
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json()["detail"].replace("2", "N") == missing.json()["detail"].replace("99", "N")
        assert c.patch("/v1/orders/2", json={"total": 0}, headers=alice).status_code == 404
        assert c.delete("/v1/orders/2", headers=alice).status_code == 404
        created = c.post("/v1/orders", json={"item": "scone", "total": 2.0}, headers=alice)
        assert created.status_code == 201 and created.json()["owner"] == "alice"
        gift = c.post("/v1/orders", json={"item": "scone", "owner": "bob"}, headers=alice)
        assert gift.status_code == 403
        bob = _bearer(c, "bob", "builder-1234")
        assert c.get("/v1/orders/2", headers=bob).json()["total"] == 3.2
        assert c.get("/auth/me", headers=bob).headers["cache-control"] == "no-store"
        assert c.get("/v1/orders/2").status_code == 401


def _unsigned(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_weak_modes_switch_off_and_on(db: Path) -> None:
    weak = {"accept_alg_none": True, "guessable_secret": True, "skip_owner_check": True, "switchable": True}
    api = ApiSandbox.start(_settings(weak), database=db)
    try:
        far = int(time.time()) + 3600
        unsigned = {"Authorization": f"Bearer {_unsigned({'sub': 'eve', 'role': 'admin', 'exp': far})}"}
        cracked = jwt.encode({"sub": "eve", "role": "admin", "exp": far}, "secret", algorithm="HS256")
        with _client(api) as c:
            assert c.get("/").json()["sandbox_controls"] == ["/_sandbox/clock", "/_sandbox/auth"]
            assert c.get("/auth/admin", headers=unsigned).status_code == 200
            alice = _bearer(c, "alice", "wonderland-42")
            assert c.get("/v1/orders/2", headers=alice).status_code == 200  # BOLA while the check is skipped
            # ...while the list still looks right, which is how the flaw hides.
            assert [o["id"] for o in c.get("/v1/orders", headers=alice).json()["items"]] == [1, 3]

            r = c.put("/_sandbox/auth", json={"accept_alg_none": False, "skip_owner_check": False})
            assert r.status_code == 200 and r.json()["weak_modes"]["accept_alg_none"] is False
            refused = c.get("/auth/admin", headers=unsigned)
            assert refused.status_code == 401 and "HS256" in refused.json()["detail"]
            assert c.get("/v1/orders/2", headers=alice).status_code == 404

            bearer = {"Authorization": f"Bearer {cracked}"}
            assert c.get("/auth/admin", headers=bearer).status_code == 200
            assert c.put("/_sandbox/auth", json={"guessable_secret": False}).status_code == 200
            assert api.app.state.auth.secret != "secret"
            refused = c.get("/auth/admin", headers=bearer)
            assert refused.status_code == 401 and "signature" in refused.json()["detail"]
            assert c.get("/auth/me", headers=alice).status_code == 401  # a new key ends every old token
            assert api.weak_auth_modes == []

            bad = c.put("/_sandbox/auth", json={"accept_alg_none": "no", "verify": False})
            assert bad.status_code == 422 and len(bad.json()["errors"]) == 2
    finally:
        api.stop()


def test_the_admin_page_says_how_the_token_was_verified(db: Path) -> None:
    """A forged admin token signed with the cracked key and an unsigned one let in by the weak mode both
    get 200: `token_alg` tells them apart, so a lesson can ask for the signed one even when the learner
    switched `accept_alg_none` back on."""
    weak = {"accept_alg_none": True, "guessable_secret": True, "switchable": True}
    api = ApiSandbox.start(_settings(weak), database=db)
    try:
        far = int(time.time()) + 3600
        claims = {"sub": "eve", "role": "admin", "exp": far}
        with _client(api) as c:
            for alg in ("none", "NONE", "nOnE"):
                token = _unsigned(claims).replace(
                    base64.urlsafe_b64encode(b'{"alg": "none", "typ": "JWT"}').decode().rstrip("="),
                    base64.urlsafe_b64encode(json.dumps({"alg": alg}).encode()).decode().rstrip("="),
                )
                let_in = c.get("/auth/admin", headers={"Authorization": f"Bearer {token}"})
                assert let_in.status_code == 200 and let_in.json()["token_alg"] == "none", alg
            signed = jwt.encode(claims, "secret", algorithm="HS256")
            verified = c.get("/auth/admin", headers={"Authorization": f"Bearer {signed}"})
            assert verified.status_code == 200 and verified.json()["token_alg"] == "HS256"
    finally:
        api.stop()


def test_no_switch_unless_switchable(db: Path) -> None:
    api = ApiSandbox.start(_settings({"accept_alg_none": True}), database=db)
    try:
        with _client(api) as c:
            assert c.put("/_sandbox/auth", json={"accept_alg_none": False}).status_code in (404, 405)
            assert "/_sandbox/auth" not in c.get("/").json()["sandbox_controls"]
    finally:
        api.stop()


def test_malformed_token_detail_shows_no_decoder_internals(owned: ApiSandbox) -> None:
    with _client(owned) as c:
        r = c.get("/auth/me", headers={"Authorization": "Bearer mZm.mZm.mZm"})
        assert r.status_code == 401
        assert r.json()["detail"].startswith("the access token is not a valid JWT")


def test_snapshot_restores_switched_weak_modes(db: Path) -> None:
    api = ApiSandbox.start(_settings({"guessable_secret": True, "switchable": True}), database=db)
    try:
        saved = api.snapshot()
        with _client(api) as c:
            assert c.put("/_sandbox/auth", json={"guessable_secret": False}).status_code == 200
        assert api.weak_auth_modes == []
        api.restore(saved)
        assert api.weak_auth_modes == ["guessable_secret"] and api.app.state.auth.secret == "secret"
    finally:
        api.stop()


def test_login_throttle_locks_known_and_unknown_accounts_alike(db: Path) -> None:
    api = ApiSandbox.start(_settings(throttle={"max_failures": 3, "lockout_seconds": 30}), database=db)
    try:
        with _client(api) as c:
            for name in ("alice", "nobody"):
                codes = [c.post("/auth/login", json={"username": name, "password": f"guess-{i}"}) for i in range(4)]
                assert [r.status_code for r in codes] == [401, 401, 401, 429], name
                assert 1 <= int(codes[-1].headers["retry-after"]) <= 30
            # The right password is refused too while the lock lasts.
            assert c.post("/auth/login", json={"username": "alice", "password": "wonderland-42"}).status_code == 429
            # Other accounts are not affected, and a success clears the count.
            assert c.post("/auth/login", json={"username": "bob", "password": "nope-nope"}).status_code == 401
            assert c.post("/auth/login", json={"username": "bob", "password": "builder-1234"}).status_code == 200
            assert "bob" not in api.app.state.auth.failed_logins
            api.advance_clock(31)
            assert c.post("/auth/login", json={"username": "alice", "password": "wonderland-42"}).status_code == 200
    finally:
        api.stop()


def test_cookie_session_expires_on_the_server_and_logout_is_told_apart(db: Path) -> None:
    settings = ApiSettings.model_validate(
        {"auth": {"users": USERS, "cookie_sessions": True, "session_ttl_seconds": 120}}
    )
    api = ApiSandbox.start(settings, database=db)
    try:
        with _client(api) as c:
            login = c.post("/auth/login", json={"username": "alice", "password": "wonderland-42"})
            assert "Max-Age=120" in login.headers["set-cookie"]
            sid = login.cookies["session"]
            c.cookies.clear()
            assert c.get("/auth/me", headers={"Cookie": f"session={sid}"}).json()["via"] == "cookie"
            other = c.post("/auth/login", json={"username": "alice", "password": "wonderland-42"}).cookies["session"]
            c.cookies.clear()
            assert c.post("/auth/logout", headers={"Cookie": f"session={other}"}).status_code == 204
            gone = c.get("/auth/me", headers={"Cookie": f"session={other}"})
            assert gone.status_code == 401 and gone.json()["detail"] == "this session was logged out; log in again"
            never = c.get("/auth/me", headers={"Cookie": "session=alice"})
            assert never.status_code == 401 and "unknown" in never.json()["detail"]
            api.advance_clock(121)
            late = c.get("/auth/me", headers={"Cookie": f"session={sid}"})
            assert late.status_code == 401
            assert late.json()["detail"] == "the session expired on the server; log in again"
    finally:
        api.stop()


def test_an_unsigned_token_keeps_its_three_parts(db: Path) -> None:
    """The weak mode trusts an unsigned token, `header.payload.` with an empty third part (RFC 7519
    section 6.1), and nothing shorter: a two-part string is not a JWT, so it gets the same "three base64url
    parts" refusal whether or not the algorithm is pinned."""
    api = ApiSandbox.start(_settings({"accept_alg_none": True, "switchable": True}), database=db)
    try:
        token = _unsigned({"sub": "eve", "role": "admin", "exp": int(time.time()) + 3600})
        assert token.endswith(".") and token.count(".") == 2
        with _client(api) as c:
            assert c.get("/auth/admin", headers={"Authorization": f"Bearer {token}"}).status_code == 200
            for pinned in (False, True):
                c.put("/_sandbox/auth", json={"accept_alg_none": not pinned})
                short = c.get("/auth/admin", headers={"Authorization": f"Bearer {token[:-1]}"})
                assert short.status_code == 401, pinned
                assert "three base64url parts" in short.json()["detail"], pinned
    finally:
        api.stop()
