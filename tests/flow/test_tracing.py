"""Traces inside the sandbox API, over real HTTP on 127.0.0.1: complete and ordered for cached and
uncached requests, authorised and refused ones, a handler that fails, and SQL from worker threads."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sandboxes.api import tracing
from sandboxes.api.flow import Flow
from sandboxes.api.recorder import MAX_TRACE_EVENTS, Trace
from sandboxes.api.tracing import TracedConnection
from sandboxes.sql.cost import count_vm_steps
from tests.flow.helpers import books, kinds, ordered, running

AUTH = {"users": [{"username": "ada", "password": "pw-ada", "role": "admin"}]}


def test_uncached_list_records_every_statement_in_order(tmp_path: Path) -> None:
    with running(tmp_path) as api:
        exchange = api.send("GET", "/v1/books", params={"limit": 5})
    assert exchange.status == 200
    assert kinds(exchange) == ["received", "sql", "response"]
    assert ordered(exchange)
    sql = [e for e in exchange.trace if e.kind == "sql"]
    assert len(sql) == 2 + 5  # count, page, one author per book
    count, page, first_author = sql[0], sql[1], sql[2]
    assert count.data["sql"].startswith("SELECT count(*)") and count.data["rows"] == 1
    assert page.data["params"] == [5, 0] and page.data["rows"] == 5
    assert first_author.data["params"] == [2] and first_author.data["rows"] == 1  # book 1 -> author 2
    assert all(e.duration_ms is not None and e.data["vm_exact"] and e.data["vm_steps"] > 0 for e in sql)
    assert "SEARCH authors USING INTEGER PRIMARY KEY" in first_author.data["plan"][0][2]
    # A page in id order with no filter stops at its LIMIT: not a full scan.
    assert page.data["full_scans"] == [] and page.data["limited_scans"] == ["books"]
    response = exchange.trace[-1]
    assert response.data == {"status": 200, "bytes": exchange.response_body_size}


def test_filter_on_an_unindexed_column_is_a_full_scan(tmp_path: Path) -> None:
    with running(tmp_path) as api:
        exchange = api.send("GET", "/v1/books", params={"year": 1995})
    flow = Flow.of(exchange)
    assert flow.full_scans == ["books"]
    assert [s.number for s in flow.statements_scanning(["books"])] == [1, 2]


def test_cached_miss_then_hit(tmp_path: Path) -> None:
    with running(tmp_path, caching={"app_cache_ttl": 60}) as api:
        miss = api.send("GET", "/v1/books/3")
        hit = api.send("GET", "/v1/books/3")
    assert kinds(miss) == ["received", "cache", "sql", "response"] and ordered(miss)
    assert miss.trace[1].label == "MISS" and miss.trace[1].data["ttl_left"] is None
    assert kinds(hit) == ["received", "cache", "response"] and ordered(hit)
    cache = hit.trace[1]
    assert cache.label == "HIT" and cache.data["key"] == "/v1/books/3" and 0 < cache.data["ttl_left"] <= 60


def test_refused_request_decides_auth_and_never_reads_the_database(tmp_path: Path) -> None:
    with running(tmp_path, resources=[books(auth="read")], auth=AUTH) as api:
        refused = api.send("GET", "/v1/books")
        token = api.send("POST", "/auth/login", json={"username": "ada", "password": "pw-ada"}).json()
        allowed = api.send("GET", "/v1/books", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert refused.status == 401
    assert kinds(refused) == ["received", "auth", "response"]
    labels = [(e.label, e.data.get("status")) for e in refused.trace if e.kind == "auth"]
    assert labels == [("anonymous", None), ("refused", 401)]
    assert "log in first" in refused.trace[2].data["reason"]
    assert allowed.status == 200 and ordered(allowed)
    assert kinds(allowed) == ["received", "auth", "sql", "response"]
    decision = [e for e in allowed.trace if e.kind == "auth"][-1]
    assert decision.label == "allowed" and decision.data["user"] == "ada" and decision.data["role"] == "admin"
    assert Flow.of(allowed).auth_before_db() and Flow.of(refused).auth_before_db()


def test_forbidden_write_is_denied_with_who_and_why(tmp_path: Path) -> None:
    auth = {"users": [{"username": "bob", "password": "pw-bob", "role": "user"}]}
    resource = books(auth="write", write_role="editor", writable=True)
    with running(tmp_path, resources=[resource], auth=auth) as api:
        token = api.send("POST", "/auth/login", json={"username": "bob", "password": "pw-bob"}).json()
        denied = api.send("DELETE", "/v1/books/1", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert denied.status == 403
    auth_events = [(e.label, e.data.get("user"), e.data.get("needs")) for e in denied.trace if e.kind == "auth"]
    assert auth_events[:2] == [("authenticated", "bob", None), ("denied", "bob", "editor")]
    assert "sql" not in kinds(denied)
    assert Flow.of(denied).summary().startswith("DELETE /v1/books/1 -> auth denied (bob) -> no SQL -> 403")


def test_rate_limit_decision_is_traced(tmp_path: Path) -> None:
    with running(tmp_path, rate_limit={"capacity": 1, "refill_per_second": 0.01}) as api:
        first = api.send("GET", "/v1/books/1")
        second = api.send("GET", "/v1/books/1")
    assert kinds(first)[:2] == ["received", "rate_limit"] and first.trace[1].label == "allowed"
    assert kinds(second) == ["received", "rate_limit", "response"] and second.trace[1].label == "refused"
    assert "rate limit: refused" in Flow.of(second).summary()


def test_failing_handler_keeps_its_statements_the_error_and_the_500(tmp_path: Path) -> None:
    broken = {"name": "ghosts", "table": "no_such_table"}
    with running(tmp_path, resources=[books(), broken]) as api:
        exchange = api.send("GET", "/v1/ghosts/1")
    assert exchange.status == 500
    assert kinds(exchange) == ["received", "sql", "error", "response"] and ordered(exchange)
    failed = next(e for e in exchange.trace if e.kind == "sql")
    assert "no such table" in failed.data["error"]
    flow = Flow.of(exchange)
    assert "crashed: OperationalError" in flow.summary() and flow.summary().endswith(
        f"500 in {exchange.duration_ms:.0f} ms"
    )


def test_sql_from_worker_threads_lands_on_its_own_request(tmp_path: Path) -> None:
    with running(tmp_path, rows=40) as api, ThreadPoolExecutor(8) as pool:
        exchanges = list(pool.map(lambda n: api.send("GET", "/v1/books", params={"author": n}), [1, 2, 3, 4, 5] * 4))
    for exchange in exchanges:
        author = int(exchange.query_value("author") or 0)
        sql = [e for e in exchange.trace if e.kind == "sql"]
        assert sql[0].data["params"] == [str(author)] and sql[1].data["params"][0] == str(author)
        assert {e.data["params"][0] for e in sql[2:]} == {author}  # every embedded author is this one
        assert len(sql) == 2 + len(exchange.json()["items"])


def test_trace_is_bounded_but_keeps_the_response_and_counts_the_rest(tmp_path: Path) -> None:
    with running(tmp_path, rows=600) as api:
        exchange = api.send("GET", "/v1/books", params={"limit": 600})
    assert exchange.status == 200
    assert len(exchange.trace) == MAX_TRACE_EVENTS + 2
    assert [e.kind for e in exchange.trace[-2:]] == ["response", "truncated"]
    flow = Flow.of(exchange)
    assert flow.statement_count == 602 and flow.dropped_statements == 602 - (MAX_TRACE_EVENTS - 1)
    assert "602 SQL statements" in flow.summary() and flow.notes


def test_tracing_off_records_no_events(tmp_path: Path) -> None:
    from sandboxes.api.app import build_app
    from sandboxes.api.recorder import TrafficRecorder
    from sandboxes.api.server import ThreadedServer
    from tests.api.helpers import make_db, settings

    recorder = TrafficRecorder()
    app = build_app(settings(), database=make_db(tmp_path / "l.db"), recorder=recorder, tracing=False)
    server = ThreadedServer(app)
    server.start()
    try:
        import httpx

        assert httpx.get(f"http://127.0.0.1:{server.port}/v1/books", trust_env=False).status_code == 200
    finally:
        server.stop()
    assert recorder.all()[-1].trace == []


def test_vm_steps_exact_match_the_sql_sandbox_and_big_statements_are_recounted(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    setup = sqlite3.connect(path)
    setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
    setup.execute(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000) "
        "INSERT INTO t SELECT x, x % 7 FROM c"
    )
    setup.commit()
    small = "SELECT * FROM t WHERE id BETWEEN 10 AND 20"
    big = "SELECT count(*) FROM t WHERE v = 3"
    expected_small = count_vm_steps(setup, small)
    expected_big = setup.execute(big).fetchall()
    setup.close()

    def traced_run(sql: str) -> dict:
        conn = sqlite3.connect(path, factory=TracedConnection)
        trace = Trace(0.0)
        conn.attach(trace)
        rows = conn.execute(sql).fetchall()
        conn.close()
        event = trace.events[-1]
        return {**event.data, "result": rows}

    first, second = traced_run(small), traced_run(small)
    assert first["vm_exact"] and first["vm_steps"] == second["vm_steps"] == expected_small
    assert len(first["result"]) == 11 and first["rows"] == 11
    heavy = traced_run(big)
    assert not heavy["vm_exact"] and heavy["vm_steps"] > tracing.EXACT_STEPS
    assert heavy["vm_steps"] % tracing.COARSE_EVERY == 0 and heavy["result"] == expected_big
    assert heavy["full_scans"] == ["t"] and traced_run(big)["vm_steps"] == heavy["vm_steps"]
