"""The HTTP check kinds accept right answers and reject wrong ones, explaining with the real exchange."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import TypeAdapter

from sandboxes.api.sandbox import ApiSandbox
from tests.api.helpers import make_db, settings
from tutor.checks import evaluate
from tutor.checks.base import CheckContext, CheckResult
from tutor.pack.actions import HttpRequest
from tutor.pack.checks import CheckSpec

SPEC: TypeAdapter[Any] = TypeAdapter(CheckSpec)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiSandbox]:
    db = make_db(tmp_path_factory.mktemp("db") / "lesson.db")
    auth = {"users": [{"username": "ada", "password": "correct horse", "role": "admin"}]}
    sandbox = ApiSandbox.start(settings(auth=auth, caching={"etag": True}), database=db)
    yield sandbox
    sandbox.stop()


def run(api: ApiSandbox, spec: dict, answer: Any = None) -> CheckResult:
    return evaluate(SPEC.validate_python(spec), CheckContext(answer=answer, http=api.evidence()))


def send(api: ApiSandbox, source: str | None = None, **request: Any) -> None:
    req = HttpRequest.model_validate(request)
    if source is None:
        api.send_as_learner(req)
    else:
        from sandboxes.api.sandbox import build_request_kwargs

        api.send(req.method, req.path, source=source, **build_request_kwargs(req))


PAGE_TWO = {
    "kind": "http_traffic",
    "expect": [
        {
            "request": {"method": "GET", "path": "/v1/books", "query": {"limit": "5", "offset": "5"}},
            "response": {"status": 200, "headers": {"Link": "*"}, "json": {"items[0].id": 6, "total": 25}},
        }
    ],
}


def test_traffic_accepts_the_right_request(api: ApiSandbox) -> None:
    api.mark()
    send(api, path="/v1/books", query={"limit": 5, "offset": 5})
    result = run(api, PAGE_TWO)
    assert result.passed, result.explain()


def test_traffic_rejects_with_the_closest_exchange(api: ApiSandbox) -> None:
    api.mark()
    assert "No requests" in run(api, PAGE_TWO).summary
    send(api, path="/v1/books", query={"limit": 5})  # forgot the offset
    send(api, method="POST", path="/v1/authors", json={"name": "x"})  # unrelated
    result = run(api, PAGE_TWO)
    assert not result.passed
    assert "None of your requests is the one this step asks for" in result.summary
    assert result.got is not None and result.got.startswith("GET /v1/books?limit=5")
    assert "(your request closest to it)" in result.got
    assert result.first_difference == "query: 'offset' is missing"
    text = result.explain()
    assert "you sent:  GET /v1/books?limit=5" in text and "you got:   200" in text
    assert "response body items #1 > id: expected 6, got 1" in text  # the learner's words, not a JSON path


def test_traffic_wrong_method_and_status(api: ApiSandbox) -> None:
    spec = {
        "kind": "http_traffic",
        "expect": [
            {
                "request": {"method": "POST", "path": "/v1/books"},
                "response": {"status": 201, "headers": {"Location": "*"}},
            }
        ],
    }
    api.mark()
    send(api, method="POST", path="/v1/books", json={"title": 3})
    result = run(api, spec)
    assert not result.passed and result.first_difference == "status: expected 201, got 422"
    send(api, method="PUT", path="/v1/books", json={"title": "T", "year": 1})
    assert not run(api, spec).passed
    send(api, method="POST", path="/v1/books", json={"title": "Checked", "year": 2000})
    assert run(api, spec).passed


def test_traffic_source_order_and_count(api: ApiSandbox) -> None:
    outside = {
        "kind": "http_traffic",
        "source": "outside",
        "expect": [{"request": {"path": "/v1/books/1"}, "response": {"status": 200}}],
    }
    api.mark()
    send(api, source="workbench", path="/v1/books/1")
    send(api, source="tutor", path="/v1/books/1")
    result = run(api, outside)
    assert not result.passed and "from the workbench" in result.explain()
    assert run(api, {**outside, "source": "workbench"}).passed
    send(api, path="/v1/books/1")
    assert run(api, outside).passed

    ordered = {
        "kind": "http_traffic",
        "in_order": True,
        "expect": [{"request": {"path": "/v1/books/2"}}, {"request": {"path": "/v1/books/3"}, "at_least": 2}],
    }
    api.mark()
    send(api, path="/v1/books/3")
    send(api, path="/v1/books/2")
    send(api, path="/v1/books/3")
    result = run(api, ordered)
    assert not result.passed and "You sent 1 request like your" in result.summary
    send(api, path="/v1/books/3")
    assert run(api, ordered).passed


PROBE = {
    "kind": "http_probe",
    "steps": [
        {
            "request": {
                "method": "POST",
                "path": "/auth/login",
                "json": {"username": "ada", "password": "correct horse"},
            },
            "expect": {"status": 200},
            "save": {"token": "json:access_token"},
        },
        {
            "request": {"path": "/auth/me", "headers": {"Authorization": "Bearer {token}"}},
            "expect": {"status": 200, "json": {"username": "ada"}},
        },
        {"request": {"path": "/auth/me"}, "expect": {"status": 401, "headers": {"WWW-Authenticate": "*"}}},
    ],
}


def test_probe_carries_values_and_asserts_each_step(api: ApiSandbox) -> None:
    api.mark()
    result = run(api, PROBE)
    assert result.passed, result.explain()
    assert api.evidence().exchanges() and all(e.source == "tutor" for e in api.evidence().exchanges())
    wrong = {**PROBE, "steps": [PROBE["steps"][0], {**PROBE["steps"][1], "expect": {"status": 403}}]}
    result = run(api, wrong)
    assert not result.passed and result.summary.startswith("Step 2 of 2: GET /auth/me answered 200")
    missing = {"kind": "http_probe", "steps": [{"request": {"path": "/v1/books/1"}, "save": {"t": "json:nope"}}]}
    assert "no json:nope" in run(api, missing).summary


def test_probe_says_the_tutor_sent_its_request(api: ApiSandbox) -> None:
    """A probe's request is the tutor's look at the sandbox: the learner never sent it."""
    spec = {"kind": "http_probe", "steps": [{"request": {"path": "/v1/books/1"}, "expect": {"status": 404}}]}
    text = run(api, spec).explain()
    assert "you sent" not in text and "you got" not in text
    assert "sent:      GET /v1/books/1  (by the tutor, to look)" in text and "answered:  200" in text


def test_probe_sees_the_learners_change(api: ApiSandbox) -> None:
    spec = {"kind": "http_probe", "steps": [{"request": {"path": "/v1/authors/77"}, "expect": {"status": 200}}]}
    assert not run(api, spec).passed
    send(api, method="POST", path="/auth/register", json={"username": "zed", "password": "long enough"})
    # authors are read-only; the check sees the sandbox as it is now.
    assert run(api, spec).first_difference == "status: expected 200, got 404"


def test_value_from_header_and_json(api: ApiSandbox) -> None:
    etag = api.send("GET", "/v1/books/4").header("etag")
    spec = {"kind": "http_value", "request": {"path": "/v1/books/4"}, "value_from": "header:ETag"}
    assert run(api, spec, answer=etag).passed
    assert run(api, spec, answer=etag.strip('"')).passed  # typed without the quotes
    wrong = run(api, spec, answer='"0000"')
    assert not wrong.passed and etag not in wrong.explain()  # never gives the answer away
    assert "no answer yet" in run(api, spec).summary
    total = {"kind": "http_value", "request": {"path": "/v1/books", "query": {"limit": 1}}, "value_from": "json:total"}
    count = api.send("GET", "/v1/books").json()["total"]  # earlier tests added books
    assert run(api, total, answer=str(count)).passed and not run(api, total, answer=str(count - 1)).passed
    status = {"kind": "http_value", "request": {"path": "/v1/books/999"}, "value_from": "status"}
    assert run(api, status, answer=404).passed and not run(api, status, answer=400).passed
    # with `what`, a wrong answer is told in the lesson's words, not the checker's request
    worded = {**total, "what": "the number of books in the catalogue"}
    told = run(api, worded, answer=str(count - 1))
    assert not told.passed and told.summary == "That is not the number of books in the catalogue."
    assert "/v1/books" not in told.explain() and str(count) not in told.explain()


def test_checks_without_a_sandbox_say_so() -> None:
    result = evaluate(SPEC.validate_python(PAGE_TWO), CheckContext())
    assert not result.passed and "no API sandbox" in result.summary
