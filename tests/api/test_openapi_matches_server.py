"""Where the OpenAPI document and the server disagreed, each is now what the other says, over real HTTP:
every status the server answers is one the document lists for that operation, and every body the
document forbids the server refuses."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandboxes.api.sandbox import ApiSandbox
from tutor.pack.sandbox_api import ApiSettings

USERS = [{"username": "alice", "password": "wonderland-42", "role": "user"}]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiSandbox]:
    db = tmp_path / "shop.db"
    conn = sqlite3.connect(db)
    conn.executescript(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, item TEXT NOT NULL, total REAL);"
        "CREATE TABLE things (id INTEGER PRIMARY KEY, anything);"
    )
    conn.close()
    settings = ApiSettings.model_validate(
        {
            "resources": [
                {"name": "orders", "table": "orders", "auth": "read", "writable": True, "owner_column": "owner"},
                {"name": "things", "table": "things", "writable": True},
            ],
            "auth": {"users": USERS, "login_throttle": {"max_failures": 2, "lockout_seconds": 60}},
            "caching": {"etag": True, "app_cache_ttl": 30, "switchable": True},
        }
    )
    sandbox = ApiSandbox.start(settings, database=db)
    yield sandbox
    sandbox.stop()


def _client(api: ApiSandbox) -> httpx.Client:
    return httpx.Client(base_url=api.base_url, trust_env=False, timeout=10)


def _documented(doc: dict[str, Any], method: str, path: str) -> set[str]:
    return set(doc["paths"][path][method.lower()]["responses"])


def _login(c: httpx.Client) -> dict[str, str]:
    r = c.post("/auth/login", json={"username": "alice", "password": "wonderland-42"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.mark.parametrize("body", ["false", '{"refresh_token": 12345}', "[{}]", '{"refresh_token": null}'])
def test_logout_refuses_a_body_its_schema_forbids(api: ApiSandbox, body: str) -> None:
    with _client(api) as c:
        auth = _login(c)
        r = c.post("/auth/logout", content=body, headers={**auth, "Content-Type": "application/json"})
        assert r.status_code == 422, r.text
        assert c.get("/auth/me", headers=auth).status_code == 200, "a refused logout revokes nothing"
        assert c.post("/auth/logout", json={"refresh_token": "unknown", "extra": 1}, headers=auth).status_code == 204


def test_the_caching_switch_needs_its_body_as_the_document_says(api: ApiSandbox) -> None:
    with _client(api) as c:
        doc = c.get("/openapi.json").json()
        assert doc["paths"]["/_sandbox/caching"]["put"]["requestBody"]["required"] is True
        assert c.put("/_sandbox/caching").status_code == 400


def test_a_throttled_login_is_a_documented_429_with_retry_after(api: ApiSandbox) -> None:
    with _client(api) as c:
        doc = c.get("/openapi.json").json()
        for _ in range(3):
            r = c.post("/auth/login", json={"username": "alice", "password": "nope"})
        assert r.status_code == 429
        assert "429" in _documented(doc, "POST", "/auth/login")
        assert doc["paths"]["/auth/login"]["post"]["responses"]["429"]["headers"]["Retry-After"]["required"] is True
        assert int(r.headers["retry-after"]) > 0


def test_giving_a_row_to_another_user_is_a_documented_403(api: ApiSandbox) -> None:
    with _client(api) as c:
        doc = c.get("/openapi.json").json()
        auth = _login(c)
        r = c.post("/v1/orders", json={"item": "tea", "owner": "bob"}, headers=auth)
        assert r.status_code == 403
        for method, path in (("POST", "/v1/orders"), ("PUT", "/v1/orders/{id}"), ("PATCH", "/v1/orders/{id}")):
            assert "403" in _documented(doc, method, path), (method, path)


@pytest.mark.parametrize("path", ["/v1/orders", "/v1/things"])
def test_numbers_outside_the_documented_range_are_refused(api: ApiSandbox, path: str) -> None:
    field = "total" if path == "/v1/orders" else "anything"
    with _client(api) as c:
        doc = c.get("/openapi.json").json()
        schema = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        bounds = schema["properties"][field]
        assert (bounds["minimum"], bounds["maximum"]) == (-(2.0**1023), 2.0**1023)
        auth = _login(c) if path == "/v1/orders" else {}
        base = {"item": "tea"} if path == "/v1/orders" else {}
        for value in (-1.7976931348623157e308, 1.7976931348623157e308, 2**1023 + 1):
            r = c.post(path, json={**base, field: value}, headers=auth)
            assert r.status_code == 422, (value, r.text)
        assert c.post(path, json={**base, field: 2.0**1023}, headers=auth).status_code == 201
