"""`http_flow` accepts and rejects, each assertion both ways, against a real sandbox on 127.0.0.1."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tests.flow.helpers import books, running
from tutor.checks import evaluate
from tutor.checks.base import CheckContext, CheckResult
from tutor.pack.specs_http import HttpFlowCheck

AUTH = {"users": [{"username": "ada", "password": "pw-ada", "role": "admin"}]}


def check(api: Any, **spec: Any) -> CheckResult:
    model = HttpFlowCheck.model_validate({"kind": "http_flow", **spec})
    return evaluate(model, CheckContext(http=api.evidence()))


def learner(api: Any, method: str, path: str, **kwargs: Any) -> Any:
    return api.send(method, path, source=None, **kwargs)  # as curl would: an outside client


def test_accepts_the_fixed_endpoint_and_rejects_the_n_plus_one(tmp_path: Path) -> None:
    spec = {"request": {"method": "GET", "path": "/v1/books"}, "max_sql_statements": 3}
    with running(tmp_path) as api:
        api.mark()
        learner(api, "GET", "/v1/books")
        rejected = check(api, **spec)
        learner(api, "PUT", "/_sandbox/relations/books/author", json={"strategy": "join"})
        learner(api, "GET", "/v1/books")
        accepted = check(api, **spec)
    assert not rejected.passed and not rejected.error
    assert rejected.summary == "That request ran 12 SQL statements; at most 3 are allowed."
    assert rejected.got == "12 SQL statements (10 alike: N+1)"
    text = rejected.explain()
    assert "one query per item of the list (N+1)" in text
    assert 'SELECT * FROM "authors" WHERE id = ?' in text and "params: 2" in text
    assert "flow: GET /v1/books -> 12 SQL statements (10 alike: N+1) -> 200 in" in text
    assert accepted.passed, accepted.explain()
    assert "3 SQL statements" in accepted.details[0]


def test_only_the_learners_last_matching_request_counts(tmp_path: Path) -> None:
    with running(tmp_path) as api:
        api.mark()
        assert "No requests reached" in check(api, max_sql_statements=3).summary
        api.send("GET", "/v1/books/1")  # the tutor's own request is not evidence
        assert "No requests reached" in check(api, max_sql_statements=3).summary
        learner(api, "GET", "/v1/books/1")
        missed = check(api, request={"path": "/v1/books", "query": {"limit": "5"}}, max_sql_statements=3)
        assert not missed.passed and missed.summary.startswith("None of your requests is the one this step asks for")
        assert "limit=5" not in missed.summary  # the summary does not hand over the answer
        assert missed.expected == "any method /v1/books?limit=5"  # shown once the solution is asked for
        assert missed.got is not None and missed.got.startswith("GET /v1/books/1")
        assert "(your request closest to it)" in missed.got


def test_no_full_scan_rejects_a_scan_until_an_index_exists(tmp_path: Path) -> None:
    with running(tmp_path) as api:
        api.mark()
        learner(api, "GET", "/v1/books", params={"year": 1995, "limit": 1})
        rejected = check(api, request={"path": "/v1/books"}, no_full_scan=["books"])
        assert check(api, request={"path": "/v1/books"}, no_full_scan=["authors"]).passed
        conn = sqlite3.connect(api.app.state.db.path)
        conn.execute("CREATE INDEX ix_books_year ON books(year)")
        conn.close()
        learner(api, "GET", "/v1/books", params={"year": 1995, "limit": 1})
        accepted = check(api, request={"path": "/v1/books"}, no_full_scan=True)
    assert not rejected.passed and "whole of books" in rejected.summary
    assert "plan: SCAN books  <- FULL SCAN of books" in rejected.explain()
    assert accepted.passed, accepted.explain()


def test_max_vm_steps_bounds_the_work_not_the_time(tmp_path: Path) -> None:
    with running(tmp_path) as api:
        api.mark()
        learner(api, "GET", "/v1/books", params={"limit": 10})
        rejected = check(api, request={"path": "/v1/books"}, max_vm_steps=100)
        accepted = check(api, request={"path": "/v1/books"}, max_vm_steps=10_000)
    assert not rejected.passed and "SQLite VM steps" in rejected.summary and "Where the work went:" in rejected.details
    assert accepted.passed


def test_cache_hit_on_repeat_is_sent_by_the_checker(tmp_path: Path) -> None:
    spec = {"request": {"path": "/v1/books/2"}, "cache_hit_on_repeat": True}
    with running(tmp_path, caching={"app_cache_ttl": 60}) as api:
        api.mark()
        learner(api, "GET", "/v1/books/2")
        accepted = check(api, **spec)
        repeats = [e for e in api.recorder.since_mark() if e.source == "tutor"]
    with running(tmp_path / "nocache") as bare:
        bare.mark()
        learner(bare, "GET", "/v1/books/2")
        rejected = check(bare, **spec)
    assert accepted.passed, accepted.explain()
    assert len(repeats) == 1 and repeats[0].header("x-cache") == "HIT"
    assert not rejected.passed and "no application cache" in (rejected.got or "")


def test_cache_hit_on_repeat_refuses_to_repeat_a_write(tmp_path: Path) -> None:
    with running(tmp_path, resources=[books(writable=True)], caching={"app_cache_ttl": 60}) as api:
        api.mark()
        learner(api, "DELETE", "/v1/books/3")
        result = check(api, request={"method": "DELETE"}, cache_hit_on_repeat=True)
        assert learner(api, "GET", "/v1/books/3").status == 404  # deleted once, never twice
    assert not result.passed and "Only reads can be repeated" in result.summary


def test_auth_before_db(tmp_path: Path) -> None:
    with running(tmp_path, resources=[books(auth="read")], auth=AUTH) as api:
        api.mark()
        token = learner(api, "POST", "/auth/login", json={"username": "ada", "password": "pw-ada"}).json()
        learner(api, "GET", "/v1/books", headers={"Authorization": f"Bearer {token['access_token']}"})
        allowed = check(api, request={"path": "/v1/books"}, auth_before_db=True, status=200)
        learner(api, "GET", "/v1/books")
        refused = check(api, request={"path": "/v1/books"}, auth_before_db=True)
    with running(tmp_path / "open") as public:
        public.mark()
        learner(public, "GET", "/v1/books")
        unguarded = check(public, request={"path": "/v1/books"}, auth_before_db=True)
    assert allowed.passed and refused.passed  # a refusal never touches the database
    assert not unguarded.passed and unguarded.got == "the database was read before any auth decision"
    assert 'SELECT count(*) FROM "books"' in unguarded.explain()


def test_status_and_response(tmp_path: Path) -> None:
    with running(tmp_path) as api:
        api.mark()
        learner(api, "GET", "/v1/books", params={"limit": 2})
        wrong_status = check(api, request={"path": "/v1/books"}, status=404)
        short_page = check(api, request={"path": "/v1/books"}, response={"json": {"items[9].author.id": "*"}})
        good = check(api, request={"path": "/v1/books"}, status=200, response={"json": {"items[1].author.id": "*"}})
    assert not wrong_status.passed and wrong_status.summary == "The request got 200, not 404."
    assert not short_page.passed and "items #10 > author > id" in short_page.summary
    assert good.passed
