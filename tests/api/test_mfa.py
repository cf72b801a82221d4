"""The second factor (`auth.mfa`) and its deliberately weak modes, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandboxes.api.sandbox import ApiSandbox
from tutor.pack.sandbox_api import ApiSettings

USERS = [
    {"username": "alice", "password": "wonderland-42"},
    {"username": "bob", "password": "builder-1234"},
    {"username": "carol", "password": "no-factor-99"},
]


def _start(weak: dict[str, Any] | None = None) -> ApiSandbox:
    settings = ApiSettings.model_validate(
        {
            "auth": {
                "users": USERS,
                "mfa": {
                    "accounts": ["alice", "bob"],
                    "digits": 4,
                    "max_attempts": 3,
                    "lockout_seconds": 60,
                    "weak": weak,
                },
            }
        }
    )
    return ApiSandbox.start(settings, database=None)


@pytest.fixture
def safe() -> Iterator[ApiSandbox]:
    api = _start()
    yield api
    api.stop()


@pytest.fixture
def weak() -> Iterator[ApiSandbox]:
    api = _start({"pending_login_is_logged_in": True, "unlimited_code_attempts": True, "switchable": True})
    yield api
    api.stop()


def _client(api: ApiSandbox) -> httpx.Client:
    return httpx.Client(base_url=api.base_url, trust_env=False, timeout=30)


def _first_step(c: httpx.Client, username: str, password: str) -> str:
    r = c.post("/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200 and r.json()["mfa_required"] is True and "access_token" not in r.json(), r.text
    token: str = r.json()["mfa_token"]
    return token


def test_the_password_alone_logs_nobody_in_and_the_code_does_once(safe: ApiSandbox) -> None:
    with _client(safe) as c:
        pending = _first_step(c, "alice", "wonderland-42")
        assert c.get("/auth/me", headers={"Authorization": f"Bearer {pending}"}).status_code == 401
        [shown] = c.get("/_sandbox/mfa/device").json()["codes"]
        assert shown["username"] == "alice" and len(shown["code"]) == 4
        r = c.post("/auth/mfa/verify", json={"mfa_token": pending, "code": shown["code"]})
        assert r.status_code == 200 and r.json()["failed_codes"] == 0
        assert (
            c.get("/auth/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}).json()["username"]
            == "alice"
        )
        again = c.post("/auth/mfa/verify", json={"mfa_token": pending, "code": shown["code"]})
        assert again.status_code == 401, "a code works once"
        assert c.post("/auth/login", json={"username": "carol", "password": "no-factor-99"}).json()["access_token"]


def test_the_device_shows_only_the_learners_own_codes(safe: ApiSandbox) -> None:
    with _client(safe) as c:
        _first_step(c, "bob", "builder-1234")
        assert c.get("/_sandbox/mfa/device").json() == {"accounts": ["alice"], "codes": []}


def test_wrong_codes_in_a_row_lock_the_account_and_end_its_logins(safe: ApiSandbox) -> None:
    with _client(safe) as c:
        pending = _first_step(c, "bob", "builder-1234")
        statuses = [
            c.post("/auth/mfa/verify", json={"mfa_token": pending, "code": f"x{n}"}).status_code for n in range(3)
        ]
        assert statuses == [401, 401, 429]
        fresh = _first_step(c, "bob", "builder-1234")
        r = c.post("/auth/mfa/verify", json={"mfa_token": fresh, "code": "0000"})
        assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 60
        assert c.post("/_sandbox/clock", json={"advance": 61}).status_code == 200
        assert c.post("/auth/mfa/verify", json={"mfa_token": fresh, "code": "x"}).status_code == 401


def test_a_code_expires_on_the_lesson_clock(safe: ApiSandbox) -> None:
    with _client(safe) as c:
        pending = _first_step(c, "alice", "wonderland-42")
        code = c.get("/_sandbox/mfa/device").json()["codes"][0]["code"]
        c.post("/_sandbox/clock", json={"advance": 301})
        assert c.post("/auth/mfa/verify", json={"mfa_token": pending, "code": code}).status_code == 401


def test_the_weak_modes_let_the_step_be_skipped_and_the_code_be_guessed(weak: ApiSandbox) -> None:
    with _client(weak) as c:
        pending = _first_step(c, "bob", "builder-1234")
        assert c.get("/auth/me", headers={"Authorization": f"Bearer {pending}"}).json()["username"] == "bob"
        for n in range(10_000):
            r = c.post("/auth/mfa/verify", json={"mfa_token": pending, "code": f"{n:04d}"})
            if r.status_code == 200:
                break
            assert r.status_code == 401
        assert r.status_code == 200 and r.json()["username"] == "bob" and r.json()["failed_codes"] == n
        assert weak.weak_auth_modes == ["pending_login_is_logged_in", "unlimited_code_attempts"]


def test_the_switch_turns_the_weak_modes_off_and_a_snapshot_brings_them_back(weak: ApiSandbox) -> None:
    state = weak.app.state
    snapshot = state.snapshot()
    with _client(weak) as c:
        assert c.put("/_sandbox/mfa", json={"unlimited_code_attempts": "no"}).status_code == 422
        r = c.put("/_sandbox/mfa", json={"pending_login_is_logged_in": False, "unlimited_code_attempts": False})
        assert r.status_code == 200 and weak.weak_auth_modes == []
        pending = _first_step(c, "bob", "builder-1234")
        assert c.get("/auth/me", headers={"Authorization": f"Bearer {pending}"}).status_code == 401
        state.restore(snapshot)
        assert weak.weak_auth_modes == ["pending_login_is_logged_in", "unlimited_code_attempts"]
        assert c.post("/auth/mfa/verify", json={"mfa_token": pending, "code": "0000"}).status_code == 401


def test_mfa_needs_access_tokens() -> None:
    with pytest.raises(ValueError, match="jwt"):
        ApiSettings.model_validate({"auth": {"users": USERS, "jwt": False, "mfa": {}}})


def test_with_cookie_sessions_the_cookie_comes_with_the_code_not_the_password() -> None:
    settings = ApiSettings.model_validate(
        {"auth": {"users": USERS, "cookie_sessions": True, "mfa": {"accounts": ["alice"]}}}
    )
    api = ApiSandbox.start(settings, database=None)
    try:
        with _client(api) as c:
            pending = _first_step(c, "alice", "wonderland-42")
            assert "session" not in c.cookies
            code = c.get("/_sandbox/mfa/device").json()["codes"][0]["code"]
            assert c.post("/auth/mfa/verify", json={"mfa_token": pending, "code": code}).status_code == 200
            assert c.get("/auth/me").json() == {"username": "alice", "role": "user", "via": "cookie"}
            c.cookies.clear()
            carol = c.post("/auth/login", json={"username": "carol", "password": "no-factor-99"})
            assert carol.status_code == 200 and "session" in carol.cookies, (
                "an account without a factor logs in at once"
            )
    finally:
        api.stop()


def test_the_openapi_document_lists_both_answers_of_the_login(weak: ApiSandbox) -> None:
    with _client(weak) as c:
        paths = c.get("/openapi.json").json()["paths"]
        assert {"/auth/mfa/verify", "/_sandbox/mfa/device", "/_sandbox/mfa"} <= set(paths)
        schema = paths["/auth/login"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert len(schema["anyOf"]) == 2
