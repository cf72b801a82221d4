"""The accounts a lesson seeds are hashed when the sandbox is built, so a failed login costs the same
work (one argon2id verification, no hash) whether the username exists or not, from the very first try.

A first login that had to hash the seeded password (or the dummy hash) first took about twice as long
as later ones, which told an attacker which usernames had never been tried, and so which exist."""

from __future__ import annotations

import copy
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandboxes.api.sandbox import ApiSandbox
from tests.api.helpers import settings

USERS = [
    {"username": "alice", "password": "wonderland-42", "role": "reader"},
    {"username": "bob", "password": "builder-1234", "role": "reader"},
]


class CountingHasher:
    """The sandbox's own argon2 PasswordHasher, counting what it is asked to do."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()

    def hash(self, password: str) -> str:
        with self.lock:
            self.calls["hash"] += 1
        return str(self.real.hash(password))

    def verify(self, stored: str, password: str) -> bool:
        with self.lock:
            self.calls["verify"] += 1
        return bool(self.real.verify(stored, password))


@pytest.fixture
def api() -> Iterator[ApiSandbox]:
    sandbox = ApiSandbox.start(settings(auth={"users": USERS}), database=None)
    yield sandbox
    sandbox.stop()


def _login(api: ApiSandbox, username: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=api.base_url, trust_env=False, timeout=30) as client:
        return client.post("/auth/login", json={"username": username, "password": password})


def test_seeded_accounts_are_hashed_when_the_sandbox_starts(api: ApiSandbox) -> None:
    auth = api.app.state.auth
    assert auth is not None
    assert auth._hashed.wait(60), "the seeded passwords were never hashed"
    for user in USERS:
        stored = auth._seeded[user["username"]]
        assert stored.startswith("$argon2id$")
        assert user["password"] not in stored
    # Nothing the API keeps about an account (what a snapshot copies) holds the password itself.
    memory = repr(copy.deepcopy(auth.memory()["users"]))
    assert all(user["password"] not in memory for user in USERS)


def test_every_first_failed_login_is_one_verification_and_no_hash(api: ApiSandbox) -> None:
    auth = api.app.state.auth
    assert auth is not None
    ready = getattr(auth, "_hashed", None)
    if ready is not None:
        ready.wait(60)
    counting = CountingHasher(auth._hasher)
    auth._hasher = counting
    for username in ("bob", "mallory", "alice", "zed"):  # two accounts, two unknown names, each for the first time
        before = Counter(counting.calls)
        response = _login(api, username, "not-the-password")
        assert response.status_code == 401
        assert counting.calls - before == Counter({"verify": 1}), username
    assert _login(api, "alice", "wonderland-42").status_code == 200
    assert counting.calls["hash"] == 0


def test_a_login_during_the_build_waits_for_it_whoever_it_names() -> None:
    """A login that arrives while the seeded passwords are still being hashed waits for all of them,
    a known account and an unknown name alike: it never hashes anything of its own."""
    api = ApiSandbox.start(settings(auth={"users": USERS}), database=None)
    try:
        auth = api.app.state.auth
        assert auth is not None
        assert _login(api, "nobody", "not-the-password").status_code == 401
        assert auth._hashed.is_set()
        assert _login(api, "bob", "builder-1234").status_code == 200
    finally:
        api.stop()


def test_a_snapshot_taken_before_the_hashes_were_made_restores_working_accounts(api: ApiSandbox) -> None:
    auth = api.app.state.auth
    assert auth is not None
    snapshot = api.snapshot()  # a step opens at once, perhaps before the hashes are done
    auth._hashed.wait(60)
    assert _login(api, "bob", "builder-1234").status_code == 200
    api.restore(snapshot)
    assert _login(api, "bob", "builder-1234").status_code == 200
    assert _login(api, "bob", "not-the-password").status_code == 401
