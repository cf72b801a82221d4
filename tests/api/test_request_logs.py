"""Logs that tell the truth: with `logs`, every request the sandbox answers is one JSON line in the
request log (the traffic and the log are the same requests, one for one, 413s and 500s included),
and every answer carries an `X-Request-Id`: the client's when it is fit, else a new one."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandboxes.api import logs
from sandboxes.api.sandbox import ApiSandbox
from tests.api.helpers import make_db, settings

AUTH = {"users": [{"username": "alice", "password": "pw-alice-1"}]}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiSandbox]:
    sandbox = ApiSandbox.start(
        settings(logs={}, caching={"app_cache_ttl": 30}, auth=AUTH, idempotency_keys=True),
        database=make_db(tmp_path / "lesson.db"),
        log_path=tmp_path / "session" / "requests.log",
    )
    yield sandbox
    sandbox.stop()


def _traffic(api: ApiSandbox, count: int) -> list[Any]:
    """The recorder's exchanges once it holds `count` (each is logged just after its answer's last byte)."""
    deadline = time.monotonic() + 5
    while len(api.recorder.all()) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return list(api.recorder.all())


def _lines(api: ApiSandbox, count: int) -> list[dict[str, object]]:
    """The log's records once it holds `count` (a line is written just after the answer's last byte)."""
    deadline = time.monotonic() + 5
    while True:
        records = list(logs.read(api.log_path))
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(0.01)


def test_log_lines_match_the_traffic_one_for_one(api: ApiSandbox) -> None:
    with httpx.Client(base_url=api.base_url, trust_env=False, timeout=10) as c:
        token = c.post("/auth/login", json={"username": "alice", "password": "pw-alice-1"}).json()["access_token"]
        c.get("/v1/books/3")  # MISS
        c.get("/v1/books/3")  # HIT
        c.get("/v1/books?limit=2", headers={"Authorization": f"Bearer {token}"})
        c.get("/v1/nothing-here")
        c.delete("/v1/authors/1")  # 405
        c.post("/v1/books", content=b"x" * (1024 * 1024 + 1), headers={"Content-Type": "application/json"})  # 413
        c.post("/v1/books", json={"title": "New", "year": 2001, "author_id": 1})
        with ThreadPoolExecutor(8) as pool:  # a burst: answers finish out of order
            list(pool.map(lambda i: c.get(f"/v1/books/{i % 20 + 1}"), range(40)))
    traffic: list[Any] = _traffic(api, 48)
    records = _lines(api, len(traffic))
    assert len(traffic) == 48 and len(records) == len(traffic)
    by_id = {r["request_id"]: r for r in records}
    assert len(by_id) == len(records)  # every line has its own id
    for exchange in traffic:
        line = by_id[exchange.request_id]
        assert (line["method"], line["path"], line["status"]) == (exchange.method, exchange.path, exchange.status)
        assert line["query"] == (exchange.query or None)
        assert line["duration_ms"] == round(exchange.duration_ms, 1)
        assert line["bytes"] == exchange.response_body_size
        assert exchange.header("x-request-id") == exchange.request_id
    statuses = sorted({int(str(r["status"])) for r in records})
    assert statuses == [200, 201, 404, 405, 413]
    assert {r["level"] for r in records if r["status"] in (404, 405, 413)} == {"warn"}


def test_a_line_says_sql_cache_and_user_as_the_flow_does(api: ApiSandbox) -> None:
    with httpx.Client(base_url=api.base_url, trust_env=False, timeout=10) as c:
        token = c.post("/auth/login", json={"username": "alice", "password": "pw-alice-1"}).json()["access_token"]
        me = c.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        miss = c.get("/v1/books/3", headers={"Authorization": f"Bearer {token}"})
        hit = c.get("/v1/books/3")
        page = c.get("/v1/books?limit=3")
    records = {r["request_id"]: r for r in _lines(api, 5)}
    assert records[me.headers["x-request-id"]]["user"] == "alice"
    miss_line = records[miss.headers["x-request-id"]]
    # books need no login here: the API never asked who called, and the line does not guess
    assert (miss_line["cache"], miss_line["user"]) == ("MISS", None)
    assert isinstance(miss_line["sql"], int) and miss_line["sql"] >= 1
    hit_line = records[hit.headers["x-request-id"]]
    assert (hit_line["cache"], hit_line["sql"], hit_line["user"]) == ("HIT", 0, None)
    page_line = records[page.headers["x-request-id"]]
    exchange = next(e for e in _traffic(api, 5) if e.request_id == page.headers["x-request-id"])
    from sandboxes.api.flow import Flow

    assert page_line["sql"] == Flow.of(exchange).statement_count >= 2  # the page and its author relation
    assert page_line["time"].endswith("Z") and page_line["time"][10] == "T"


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("order-7.retry:2", True),
        ("a" * 128, True),
        ("a" * 129, False),
        ("has space", False),
        ('quote"', False),
        ("", False),
    ],
)
def test_a_fit_request_id_is_kept_and_any_other_replaced(api: ApiSandbox, sent: str, kept: bool) -> None:
    with httpx.Client(base_url=api.base_url, trust_env=False, timeout=10) as c:
        answer = c.get("/health", headers={"X-Request-Id": sent})
    returned = answer.headers["x-request-id"]
    assert (returned == sent) is kept
    if not kept:
        assert len(returned) == 32 and int(returned, 16) >= 0
    exchange = _traffic(api, 1)[-1]
    assert exchange.request_header("x-request-id") == sent  # the evidence is what the client sent
    assert exchange.request_id == returned


def test_an_id_made_to_look_like_json_cannot_forge_a_log_line(api: ApiSandbox) -> None:
    forged = '1", "path": "/forged", "status": 200, "x": "'
    with socket.create_connection(("127.0.0.1", api.port)) as raw:
        raw.sendall(f"GET /health HTTP/1.1\r\nHost: x\r\nX-Request-Id: {forged}\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200")
    records = _lines(api, 1)
    assert [(r["path"], r["status"]) for r in records] == [("/health", 200)]
    assert records[0]["request_id"] != forged and len(str(records[0]["request_id"])) == 32


def test_the_file_is_written_line_by_line_for_tail_and_grep(api: ApiSandbox) -> None:
    with httpx.Client(base_url=api.base_url, trust_env=False, timeout=10) as c:
        wanted = c.get("/v1/books/7", headers={"X-Request-Id": "find-me-42"})
        c.get("/v1/books/8")
    assert api.log_path is not None
    _lines(api, 2)
    found = subprocess.run(["grep", "find-me-42", str(api.log_path)], capture_output=True, text=True, check=True)
    line = json.loads(found.stdout)
    assert line["path"] == "/v1/books/7" and line["status"] == wanted.status_code == 200
    assert logs.story(api.log_path, "find-me-42") == [line]


def test_without_logs_there_is_no_request_id_and_no_file(tmp_path: Path) -> None:
    sandbox = ApiSandbox.start(settings(), database=make_db(tmp_path / "lesson.db"), log_path=tmp_path / "r.log")
    try:
        with httpx.Client(base_url=sandbox.base_url, trust_env=False, timeout=10) as c:
            answer = c.get("/v1/books/1", headers={"X-Request-Id": "mine"})
        assert "x-request-id" not in answer.headers
        assert sandbox.log_path is None and not (tmp_path / "r.log").exists()
        assert _traffic(sandbox, 1)[-1].request_id is None
    finally:
        sandbox.stop()


def test_the_file_is_bounded_and_a_new_run_keeps_one_older_generation(tmp_path: Path) -> None:
    path = tmp_path / "requests.log"
    log = logs.RequestLog(path, max_mb=1)
    log.max_bytes = 2000
    for number in range(40):
        log.write({"n": number, "pad": "x" * 80})
    log.close()
    older = path.with_name("requests.log.1")
    assert path.stat().st_size <= 2000 and older.stat().st_size <= 2000
    numbers = [r["n"] for r in logs.read(path, older=True)]
    assert numbers == list(range(numbers[0], 40)) and numbers[0] > 0
    again = logs.RequestLog(path)  # a new run: the last run's lines become the older generation
    again.close()
    assert [r["n"] for r in logs.read(older)][-1] == 39 and list(logs.read(path)) == []
