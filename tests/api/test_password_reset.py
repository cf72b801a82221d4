"""The password reset flow (`auth.password_reset`) and its deliberately weak modes, over real HTTP."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandboxes.api.password_reset import SAME_ANSWER
from sandboxes.api.sandbox import ApiSandbox
from tutor.pack.sandbox_api import ApiSettings

USERS = [
    {"username": "alice", "password": "wonderland-42"},
    {"username": "bob", "password": "builder-1234"},
]


def _start(weak: dict[str, Any] | None = None, **auth: Any) -> ApiSandbox:
    settings = ApiSettings.model_validate(
        {"auth": {"users": USERS, "password_reset": {"token_ttl_seconds": 900, "weak": weak}, **auth}}
    )
    return ApiSandbox.start(settings, database=None)


@pytest.fixture
def safe() -> Iterator[ApiSandbox]:
    api = _start(cookie_sessions=True, refresh_tokens=True)
    yield api
    api.stop()


@pytest.fixture
def weak() -> Iterator[ApiSandbox]:
    api = _start(
        {
            "sequential_tokens": True,
            "reusable_tokens": True,
            "tokens_never_expire": True,
            "link_from_host_header": True,
            "tells_unknown_email": True,
            "switchable": True,
        }
    )
    yield api
    api.stop()


def _client(api: ApiSandbox) -> httpx.Client:
    return httpx.Client(base_url=api.base_url, trust_env=False, timeout=10)


def _login(c: httpx.Client, username: str, password: str) -> httpx.Response:
    return c.post("/auth/login", json={"username": username, "password": password})


def _inbox(c: httpx.Client, username: str, password: str) -> list[dict[str, Any]]:
    token = _login(c, username, password).json()["access_token"]
    r = c.get("/auth/mailbox", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert r.json()["email"] == f"{username}@example.com"
    messages: list[dict[str, Any]] = r.json()["messages"]
    return messages


def test_the_safe_flow_resets_once_with_a_random_token_kept_only_as_its_hash(safe: ApiSandbox) -> None:
    with _client(safe) as c:
        r = c.post(
            "/auth/password-reset", json={"email": "Alice@Example.com"}, headers={"X-Forwarded-Host": "evil.example"}
        )
        assert r.status_code == 202 and r.json() == {"detail": SAME_ANSWER}
        [mail] = _inbox(c, "alice", "wonderland-42")
        token = mail["token"]
        assert len(token) == 43 and not token.isdigit()
        assert mail["link"] == f"{safe.base_url}/reset-password?token={token}", "built from the server, not the header"
        service = safe.app.state.password_reset
        assert service is not None
        assert token not in service.tokens and hashlib.sha256(token.encode()).hexdigest() in service.tokens

        r = c.post("/auth/password-reset/confirm", json={"token": token, "password": "looking-glass-7"})
        assert r.status_code == 200 and r.json()["username"] == "alice"
        assert _login(c, "alice", "wonderland-42").status_code == 401
        assert _login(c, "alice", "looking-glass-7").status_code == 200
        again = c.post("/auth/password-reset/confirm", json={"token": token, "password": "another-one-8"})
        assert again.status_code == 400, "a used token is spent"
        assert _login(c, "alice", "looking-glass-7").status_code == 200


def test_an_unknown_email_gets_the_same_answer_and_no_mail(safe: ApiSandbox) -> None:
    with _client(safe) as c:
        known = c.post("/auth/password-reset", json={"email": "bob@example.com"})
        unknown = c.post("/auth/password-reset", json={"email": "mallory@example.com"})
        assert (
            (known.status_code, known.json()) == (unknown.status_code, unknown.json()) == (202, {"detail": SAME_ANSWER})
        )
        assert _inbox(c, "alice", "wonderland-42") == [], "nobody else's mail lands in alice's inbox"
        assert len(_inbox(c, "bob", "builder-1234")) == 1


def test_a_token_expires_on_the_lesson_clock(safe: ApiSandbox) -> None:
    with _client(safe) as c:
        c.post("/auth/password-reset", json={"email": "alice@example.com"})
        [mail] = _inbox(c, "alice", "wonderland-42")
        assert c.post("/_sandbox/clock", json={"advance": 901}).status_code == 200
        r = c.post("/auth/password-reset/confirm", json={"token": mail["token"], "password": "looking-glass-7"})
        assert r.status_code == 400
        assert _login(c, "alice", "wonderland-42").status_code == 200


def test_a_reset_logs_out_every_session_and_refresh_token_of_the_account(safe: ApiSandbox) -> None:
    with _client(safe) as c:
        login = _login(c, "alice", "wonderland-42")
        cookie, refresh = login.cookies["session"], login.json()["refresh_token"]
        c.cookies.clear()
        c.post("/auth/password-reset", json={"email": "alice@example.com"})
        [mail] = _inbox(c, "alice", "wonderland-42")
        assert (
            c.post(
                "/auth/password-reset/confirm", json={"token": mail["token"], "password": "looking-glass-7"}
            ).status_code
            == 200
        )
        c.cookies.clear()
        c.cookies.set("session", cookie)
        assert c.get("/auth/me").status_code == 401
        assert c.post("/auth/refresh", json={"refresh_token": refresh}).status_code == 401


def test_bad_bodies_and_the_mailbox_without_a_login(safe: ApiSandbox) -> None:
    with _client(safe) as c:
        assert c.post("/auth/password-reset", json={"email": ""}).status_code == 422
        assert c.post("/auth/password-reset", json=["alice@example.com"]).status_code == 422
        assert c.post("/auth/password-reset/confirm", json={"token": "x"}).status_code == 422
        assert c.post("/auth/password-reset/confirm", json={"token": "x", "password": "short"}).status_code == 422
        assert c.post("/auth/password-reset/confirm", json={"token": "x", "password": "long-enough"}).status_code == 400
        r = c.get("/auth/mailbox")
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
        assert c.get("/_sandbox/password-reset").status_code == 404, "no switch unless the lesson makes one"


def test_the_weak_modes_each_do_their_harm(weak: ApiSandbox) -> None:
    with _client(weak) as c:
        assert c.post("/auth/password-reset", json={"email": "nobody@example.com"}).status_code == 404
        c.post(
            "/auth/password-reset", json={"email": "alice@example.com"}, headers={"X-Forwarded-Host": "evil.example"}
        )
        c.post("/auth/password-reset", json={"email": "bob@example.com"})
        [mine] = _inbox(c, "alice", "wonderland-42")
        assert mine["link"].startswith("http://evil.example/reset-password?token=")
        guess = str(int(mine["token"]) + 1)  # sequential: bob's is the next number
        assert c.post("/_sandbox/clock", json={"advance": 100_000}).status_code == 200  # never expires
        r = c.post("/auth/password-reset/confirm", json={"token": guess, "password": "taken-over-1"})
        assert r.status_code == 200 and r.json()["username"] == "bob"
        r = c.post("/auth/password-reset/confirm", json={"token": guess, "password": "taken-again-2"})
        assert r.status_code == 200, "reusable"
        assert _login(c, "bob", "taken-again-2").status_code == 200
        assert weak.weak_auth_modes == [
            "sequential_tokens",
            "reusable_tokens",
            "tokens_never_expire",
            "link_from_host_header",
            "tells_unknown_email",
        ]


def test_the_switch_turns_each_weak_mode_off(weak: ApiSandbox) -> None:
    with _client(weak) as c:
        assert c.put("/_sandbox/password-reset", json={"sequential_tokens": "false"}).status_code == 422
        assert c.put("/_sandbox/password-reset", json={"no_such_mode": False}).status_code == 422
        assert c.put("/_sandbox/password-reset", json={}).status_code == 422
        r = c.put(
            "/_sandbox/password-reset",
            json={name: False for name in ("sequential_tokens", "reusable_tokens", "tokens_never_expire")},
        )
        assert r.status_code == 200 and r.json()["weak_modes"]["sequential_tokens"] is False
        r = c.put("/_sandbox/password-reset", json={"link_from_host_header": False, "tells_unknown_email": False})
        assert r.status_code == 200
        assert weak.weak_auth_modes == []
        assert c.post("/auth/password-reset", json={"email": "nobody@example.com"}).status_code == 202
        c.post(
            "/auth/password-reset", json={"email": "alice@example.com"}, headers={"X-Forwarded-Host": "evil.example"}
        )
        [mail] = _inbox(c, "alice", "wonderland-42")
        assert len(mail["token"]) == 43 and mail["link"].startswith(weak.base_url + "/")
        assert (
            c.post(
                "/auth/password-reset/confirm", json={"token": mail["token"], "password": "looking-glass-7"}
            ).status_code
            == 200
        )
        assert (
            c.post(
                "/auth/password-reset/confirm", json={"token": mail["token"], "password": "looking-glass-8"}
            ).status_code
            == 400
        )


def test_a_snapshot_puts_tokens_mail_and_switches_back(weak: ApiSandbox) -> None:
    state = weak.app.state
    snapshot = state.snapshot()
    with _client(weak) as c:
        c.post("/auth/password-reset", json={"email": "alice@example.com"})
        c.put("/_sandbox/password-reset", json={"sequential_tokens": False})
        [mail] = _inbox(c, "alice", "wonderland-42")
        state.restore(snapshot)
        assert _inbox(c, "alice", "wonderland-42") == []
        r = c.post("/auth/password-reset/confirm", json={"token": mail["token"], "password": "looking-glass-7"})
        assert r.status_code == 400, "the token was made after the snapshot"
        c.post("/auth/password-reset", json={"email": "alice@example.com"})
        [again] = _inbox(c, "alice", "wonderland-42")
        assert again["token"] == mail["token"], "the counter and the weak mode came back with the snapshot"


def test_the_openapi_document_lists_the_flow(weak: ApiSandbox, safe: ApiSandbox) -> None:
    with _client(weak) as c:
        paths = c.get("/openapi.json").json()["paths"]
        assert {
            "/auth/password-reset",
            "/auth/password-reset/confirm",
            "/auth/mailbox",
            "/_sandbox/password-reset",
        } <= set(paths)
        assert "404" in paths["/auth/password-reset"]["post"]["responses"]
    with _client(safe) as c:
        paths = c.get("/openapi.json").json()["paths"]
        assert "404" not in paths["/auth/password-reset"]["post"]["responses"]
        assert "/_sandbox/password-reset" not in paths


def test_an_account_whose_name_differs_only_in_case_cannot_be_signed_up(safe: ApiSandbox) -> None:
    """Mail goes to NAME@example.com with the name lower-cased, so "Bob" would read bob's reset links."""
    with _client(safe) as c:
        for name in ("Bob", "BOB", "Alice"):
            taken = c.post("/auth/register", json={"username": name, "password": "mallory-pass-1"})
            assert taken.status_code == 409, (name, taken.text)
        assert c.post("/auth/password-reset", json={"email": "bob@example.com"}).status_code == 202
        assert c.post("/auth/register", json={"username": "carol", "password": "carol-pass-1"}).status_code == 201
        assert _inbox(c, "carol", "carol-pass-1") == []


def test_the_telling_answer_names_the_address_it_has_no_account_for(weak: ApiSandbox) -> None:
    """So a check can ask that the same address, and not another account's, gets the 202 after the fix."""
    with _client(weak) as c:
        r = c.post("/auth/password-reset", json={"email": " mallory@example.com "})
        assert r.status_code == 404 and r.json()["email"] == "mallory@example.com", r.text
