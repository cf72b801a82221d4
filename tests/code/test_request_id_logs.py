"""Every request the checker sends a build-it app carries a fresh `X-Request-Id`, and `code_http`'s
`logs_request_id` asks that the app's own log carry it: what it prints, or a file it writes."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tutor.checks import evaluate
from tutor.checks.base import CheckContext
from tutor.code.workspace import CodeEvidenceImpl, Workspace
from tutor.pack.checks import CodeHttpCheck

OPEN: list[CodeEvidenceImpl] = []


@pytest.fixture(autouse=True)
def _close_evidence() -> Iterator[None]:
    yield
    while OPEN:
        OPEN.pop().close()


def context(tmp_path: Path, source: str) -> CheckContext:
    starter = tmp_path / "starter"
    starter.mkdir()
    (starter / "app.py").write_text(textwrap.dedent(source))
    workspace = Workspace(tmp_path / "ws", starter)
    workspace.prepare()
    evidence = CodeEvidenceImpl(workspace, "app", tmp_path, None)
    OPEN.append(evidence)
    return CheckContext(code=evidence)


def check(where: object) -> CodeHttpCheck:
    return CodeHttpCheck.model_validate(
        {
            "kind": "code_http",
            "steps": [
                {"request": {"path": "/orders/1"}, "expect": {"status": 200}, "logs_request_id": where},
                {"request": {"path": "/orders/2"}, "expect": {"status": 200}, "logs_request_id": where},
            ],
        }
    )


PRINTS_ID = """
import json, logging, sys
from fastapi import FastAPI, Request
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
log = logging.getLogger("orders")
app = FastAPI()

@app.get("/orders/{n}")
def order(n: int, request: Request):
    log.info(json.dumps({"request_id": request.headers.get("x-request-id"), "path": request.url.path}))
    return {"id": n, "echo": request.headers.get("x-request-id")}
"""

PRINTS_WITHOUT_ID = """
from fastapi import FastAPI
app = FastAPI()

@app.get("/orders/{n}")
def order(n: int):
    print("GET /orders", n, "200")
    return {"id": n}
"""

PRINTS_A_MADE_UP_ID = """
import uuid
from fastapi import FastAPI
app = FastAPI()

@app.get("/orders/{n}")
def order(n: int):
    print("request_id=" + uuid.uuid4().hex, "GET /orders", n)
    return {"id": n}
"""

WRITES_A_FILE = """
from fastapi import FastAPI, Request
app = FastAPI()

@app.get("/orders/{n}")
def order(n: int, request: Request):
    with open("app.log", "a") as log:
        log.write(f"{request.headers['x-request-id']} GET /orders/{n} 200\\n")
    return {"id": n}
"""


def test_the_app_gets_a_fresh_request_id_and_a_log_that_prints_it_passes(tmp_path: Path) -> None:
    ctx = context(tmp_path, PRINTS_ID)
    result = evaluate(check(True), ctx)
    assert result.passed, result.explain()
    # the id really is fresh for each request: the app echoed two different ones
    assert ctx.code is not None
    with ctx.code.start_app() as app:
        first, _ = app.request("GET", "/orders/1")
        second, _ = app.request("GET", "/orders/1")
    ids = {first.json()["echo"], second.json()["echo"]}
    assert len(ids) == 2 and all(len(i) == 32 for i in ids)


def test_a_log_without_the_id_fails_in_words(tmp_path: Path) -> None:
    result = evaluate(check(True), context(tmp_path, PRINTS_WITHOUT_ID))
    assert not result.passed
    assert result.summary.startswith("Request 1 of 2: GET /orders/1 was answered, but what your app printed has no ")
    assert "X-Request-Id: " in result.summary
    assert any("GET /orders 1 200" in line for line in result.details)


def test_an_id_the_app_made_up_itself_is_not_the_one_sent(tmp_path: Path) -> None:
    result = evaluate(check(True), context(tmp_path, PRINTS_A_MADE_UP_ID))
    assert not result.passed and "has no line with the request id the checker sent" in result.summary


def test_a_log_file_in_the_workspace(tmp_path: Path) -> None:
    assert evaluate(check("app.log"), context(tmp_path, WRITES_A_FILE)).passed
    other = tmp_path / "other"
    other.mkdir()
    result = evaluate(check("app.log"), context(other, PRINTS_ID))
    assert not result.passed
    assert "app.log in your workspace has no line" in result.summary
    assert "There is no app.log in your workspace yet." in result.details
