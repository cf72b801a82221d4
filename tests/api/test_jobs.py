"""Background jobs: a job table in the lesson database and a worker on the lesson clock that the lesson
controls. A job runs when due, takes its kind's seconds, and its work is done twice when the worker
crashes after the work and before marking it done (at-least-once); an idempotent job does nothing the
second time. Failed runs come back with a doubling backoff, then the job is dead. `202 Accepted` with a
status monitor. A replay from the same state runs the same way."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandboxes.api.sandbox import ApiSandbox
from tests.pack.helpers import problems, write_pack
from tutor.pack.loader import load_pack_or_raise
from tutor.pack.sandbox_api import ApiSettings, RequestLogs
from tutor.paths import Home
from tutor.session import Session

SCHEMA = """
CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL);
CREATE TABLE emails (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL);
"""
RECEIPT = "INSERT INTO emails (order_id) VALUES (:id) ON CONFLICT DO NOTHING"


def settings(**jobs: Any) -> ApiSettings:
    return ApiSettings.model_validate(
        {
            "resources": [{"name": "orders", "table": "orders", "writable": True}],
            "jobs": {
                "kinds": [
                    {"name": "receipt", "sql": RECEIPT, "seconds": 2, "after": {"resource": "orders"}},
                    {
                        "name": "report",
                        "result_sql": "SELECT COUNT(*) AS orders FROM orders",
                        "seconds": 5,
                        "route": "/v1/reports",
                    },
                ],
                "switchable": True,
                "lease_seconds": 30,
                "backoff_seconds": 10,
                "max_attempts": 3,
                **jobs,
            },
        }
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "lesson.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA)
    return path


@pytest.fixture
def api(db: Path) -> Iterator[ApiSandbox]:
    sandbox = ApiSandbox.start(settings(), database=db)
    yield sandbox
    sandbox.stop()


def client(api: ApiSandbox) -> httpx.Client:
    return httpx.Client(base_url=api.base_url, trust_env=False, timeout=10)


def jobs(c: httpx.Client) -> list[tuple[int, str, int]]:
    """(id, status, attempts) of each job, after the worker caught up (reading is a request)."""
    return [(j["id"], j["status"], j["attempts"]) for j in c.get("/_sandbox/jobs").json()["jobs"]]


def emails(db: Path) -> list[int]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT order_id FROM emails ORDER BY id")]


def test_the_table_is_real_and_a_write_enqueues_a_job_that_runs_on_the_lesson_clock(api: ApiSandbox, db: Path) -> None:
    with sqlite3.connect(db) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(jobs)")]
    assert columns[:6] == ["id", "kind", "payload", "status", "attempts", "run_at"]
    with client(api) as c:
        assert c.post("/v1/orders", json={"item": "pen"}).status_code == 201
        assert jobs(c) == [(1, "running", 1)]  # due at once, the worker was free
        api.advance_clock(1.5)
        assert jobs(c) == [(1, "running", 1)] and emails(db) == []
        api.advance_clock(1)
        assert jobs(c) == [(1, "done", 1)] and emails(db) == [1]
        job = c.get("/_sandbox/jobs").json()["jobs"][0]
        assert job["payload"] == {"id": 1, "item": "pen"}
        assert job["finished_at"] - job["started_at"] == pytest.approx(2)


def test_a_crash_after_the_work_runs_it_twice_and_an_idempotent_job_does_nothing_twice(
    api: ApiSandbox, db: Path
) -> None:
    with client(api) as c:
        assert c.put("/_sandbox/jobs/worker", json={"crash_next": "after_work"}).status_code == 200
        c.post("/v1/orders", json={"item": "pen"})
        api.advance_clock(3)
        crashed = c.get("/_sandbox/jobs").json()["jobs"][0]
        assert (crashed["status"], crashed["worker"]) == ("running", None)
        assert crashed["last_error"] == "its worker crashed after doing the work, before marking the job done"
        assert emails(db) == [1]  # the work was done
        api.advance_clock(28)  # the lease (30 s from the start) runs out: the job runs again
        assert jobs(c) == [(1, "running", 2)]
        api.advance_clock(2)
        assert jobs(c) == [(1, "done", 2)]
        assert emails(db) == [1, 1]  # at least once: twice
        # the fix: a UNIQUE key the job's ON CONFLICT DO NOTHING meets
        with sqlite3.connect(db) as conn:
            conn.execute("DELETE FROM emails")
            conn.execute("CREATE UNIQUE INDEX one_receipt ON emails (order_id)")
        c.put("/_sandbox/jobs/worker", json={"crash_next": "after_work"})
        c.post("/v1/orders", json={"item": "ink"})
        api.advance_clock(40)
        c.get("/_sandbox/jobs")
        api.advance_clock(5)
        assert jobs(c)[-1] == (2, "done", 2)
        assert emails(db) == [2]


def test_failed_runs_come_back_with_a_doubling_backoff_then_the_job_is_dead(api: ApiSandbox, db: Path) -> None:
    with client(api) as c:
        c.put("/_sandbox/jobs/worker", json={"fail_next": 3})
        c.post("/v1/orders", json={"item": "pen"})
        api.advance_clock(2)
        first = c.get("/_sandbox/jobs").json()["jobs"][0]
        assert (first["status"], first["attempts"]) == ("failed", 1)
        assert first["run_at"] - first["started_at"] == pytest.approx(2 + 10)
        api.advance_clock(10 + 2)
        second = c.get("/_sandbox/jobs").json()["jobs"][0]
        assert (second["status"], second["attempts"]) == ("failed", 2)
        assert second["run_at"] - second["started_at"] == pytest.approx(2 + 20)
        api.advance_clock(20 + 2)
        assert jobs(c) == [(1, "dead", 3)] and emails(db) == []


def test_a_job_whose_sql_fails_is_retried_with_the_error_in_words(db: Path) -> None:
    broken = settings()
    kinds = [k.model_copy(update={"sql": "INSERT INTO emails (order_id) VALUES (:missing)"}) for k in broken.jobs.kinds]
    api = ApiSandbox.start(
        broken.model_copy(update={"jobs": broken.jobs.model_copy(update={"kinds": kinds})}), database=db
    )
    try:
        with client(api) as c:
            c.post("/v1/orders", json={"item": "pen"})
            api.advance_clock(2)
            job = c.get("/_sandbox/jobs").json()["jobs"][0]
            assert job["status"] == "failed" and "missing" in job["last_error"]
    finally:
        api.stop()


def test_a_paused_worker_starts_nothing_and_resumes_from_now(api: ApiSandbox, db: Path) -> None:
    with client(api) as c:
        c.put("/_sandbox/jobs/worker", json={"paused": True})
        c.post("/v1/orders", json={"item": "pen"})
        api.advance_clock(60)
        assert jobs(c) == [(1, "queued", 0)]
        c.put("/_sandbox/jobs/worker", json={"paused": False})
        job = c.get("/_sandbox/jobs").json()["jobs"][0]
        assert job["status"] == "running" and job["started_at"] > job["run_at"] + 59  # not back in the past
        bad = c.put("/_sandbox/jobs/worker", json={"crash_next": "sometimes", "fail_next": -1})
        assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} == {"crash_next", "fail_next"}


def test_two_workers_run_two_jobs_at_once(db: Path) -> None:
    api = ApiSandbox.start(settings(workers=2), database=db)
    try:
        with client(api) as c:
            for item in ("a", "b", "c"):
                c.post("/v1/orders", json={"item": item})
            assert jobs(c) == [(1, "running", 1), (2, "running", 1), (3, "queued", 0)]
            api.advance_clock(2)
            assert jobs(c) == [(1, "done", 1), (2, "done", 1), (3, "running", 1)]
    finally:
        api.stop()


def test_202_accepted_with_a_status_monitor_and_a_result(api: ApiSandbox) -> None:
    with client(api) as c:
        c.post("/v1/orders", json={"item": "pen"})
        accepted = c.post("/v1/reports", json={"month": "2026-11"})
        assert accepted.status_code == 202
        assert accepted.headers["location"] == "/v1/jobs/2"
        monitor = c.get("/v1/jobs/2")
        assert monitor.status_code == 200 and monitor.json()["status"] == "queued"  # the receipt runs first
        assert int(monitor.headers["retry-after"]) >= 5
        assert c.get("/v1/jobs/2/result").status_code == 404
        api.advance_clock(2 + 5)
        done = c.get("/v1/jobs/2", follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/v1/jobs/2/result"
        result = c.get("/v1/jobs/2", follow_redirects=True)
        assert result.json() == {"job": 2, "kind": "report", "result": [{"orders": 1}]}
        assert c.get("/v1/jobs/99").status_code == 404


LESSON = """\
id: queue
title: The job that ran twice
track: http
sandboxes:
  sql:
    sql: |
      CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL);
      CREATE TABLE emails (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL);
  api:
    resources: [{name: orders, table: orders, writable: true}]
    jobs:
      kinds: [{name: receipt, sql: "INSERT INTO emails (order_id) VALUES (:id)", seconds: 2, after: {resource: orders}}]
      switchable: true
steps:
  - id: one
    title: One
    text: Watch the worker.
    check: {kind: choice, options: [{id: a, text: A}, {id: b, text: B}], correct: a}
    solution: {answer: a}
    wrong_answers: [{answer: b}]
"""


def test_a_reset_replays_the_same_jobs_the_same_way(tmp_path: Path) -> None:
    pack = load_pack_or_raise(write_pack(tmp_path / "pack", {"http/queue.yaml": LESSON}))
    lesson = pack.lessons[0].lesson
    with Session(pack, lesson, Home(tmp_path / "home").ensure()) as session:
        session.start()
        assert session.api is not None and session.sql is not None
        session.begin_step(lesson.steps[0])

        def run() -> list[Any]:
            with client(session.api) as c:
                c.put("/_sandbox/jobs/worker", json={"crash_next": "after_work"})
                c.post("/v1/orders", json={"item": "pen"})
                c.post("/v1/orders", json={"item": "ink"})
                session.api.advance_clock(3)
                c.get("/_sandbox/jobs")
                session.api.advance_clock(40)
                listed = c.get("/_sandbox/jobs").json()
            rows = session.sql.connect().execute("SELECT order_id FROM emails ORDER BY id").fetchall()
            return [(j["id"], j["status"], j["attempts"], j["last_error"]) for j in listed["jobs"]] + [rows]

        first = run()
        session.reset_step()
        assert run() == first
        assert first[-1] == [(1,), (2,), (1,)]  # job 1 crashed after its work, and ran again after job 2


def test_jobs_need_the_lesson_database_and_their_sql_meets_the_guard(tmp_path: Path) -> None:
    no_db = LESSON.replace(
        "  sql:\n    sql: |\n      CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL);\n"
        "      CREATE TABLE emails (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL);\n",
        "",
    )
    assert "sql:\n" not in no_db.split("api:")[0]
    found = problems(write_pack(tmp_path / "a", {"http/queue.yaml": no_db}))
    assert any("`jobs` keeps its job table in the lesson database: add `sandboxes: sql:`" in p for p in found), found
    attach = LESSON.replace('sql: "INSERT INTO emails (order_id) VALUES (:id)"', "sql: \"ATTACH DATABASE 'x.db' AS x\"")
    found = problems(write_pack(tmp_path / "b", {"http/queue.yaml": attach}))
    assert any(p.startswith("http/queue.yaml:12:") and "ATTACH" in p for p in found), found


def test_the_job_table_moves_with_the_clock_without_a_request(db: Path) -> None:
    """A learner watching the table with sqlite3 sees the worker run; the API need not be asked."""
    quick = settings()
    kinds = [k.model_copy(update={"seconds": 0.3}) for k in quick.jobs.kinds]
    api = ApiSandbox.start(
        quick.model_copy(update={"jobs": quick.jobs.model_copy(update={"kinds": kinds})}), database=db
    )
    try:
        with client(api) as c:
            c.post("/v1/orders", json={"item": "pen"})
        deadline = time.monotonic() + 5
        status = None
        while status != "done" and time.monotonic() < deadline:
            time.sleep(0.05)
            with sqlite3.connect(db) as conn:
                status = conn.execute("SELECT status FROM jobs WHERE id = 1").fetchone()[0]
        assert status == "done" and emails(db) == [1]
    finally:
        api.stop()


def test_a_job_that_emits_sends_a_signed_webhook_when_it_is_done(db: Path) -> None:
    from tests.api.test_webhooks import SECRET, Receiver, spec_signature

    receiver = Receiver([200])
    base = settings()
    kinds = [k.model_copy(update={"emits": "receipt.sent"}) if k.name == "receipt" else k for k in base.jobs.kinds]
    with_hooks = ApiSettings.model_validate(
        {
            **base.model_dump(),
            "jobs": {**base.jobs.model_dump(), "kinds": [k.model_dump() for k in kinds]},
            "webhooks": {"secret": SECRET, "endpoint": receiver.url},
        }
    )
    api = ApiSandbox.start(with_hooks, database=db)
    try:
        with client(api) as c:
            c.put("/_sandbox/jobs/worker", json={"crash_next": "after_work"})
            c.post("/v1/orders", json={"item": "pen"})
            api.advance_clock(3)
            assert c.get("/_sandbox/webhooks").json()["deliveries"] == []  # it crashed before it was done
            api.advance_clock(30)
            c.get("/_sandbox/jobs")
            hooks = c.get("/_sandbox/webhooks").json()
    finally:
        api.stop()
        receiver.close()
    assert [d["state"] for d in hooks["deliveries"]] == ["delivered"]
    [(headers, body)] = receiver.got
    event = json.loads(body)
    assert event["type"] == "receipt.sent" and event["data"]["job"] == 1 and event["data"]["payload"]["item"] == "pen"
    assert spec_signature(SECRET, headers, body)


def test_log_lines_match_the_traffic_and_the_worker_s_sql_is_not_the_request_s(db: Path, tmp_path: Path) -> None:
    """One `api` line per request, one `worker` line per run's end carrying the id of the request that
    enqueued the job; a request's SQL count is its own, not the worker's."""
    from sandboxes.api import logs

    api = ApiSandbox.start(
        settings().model_copy(update={"logs": RequestLogs()}), database=db, log_path=tmp_path / "requests.log"
    )
    try:
        with client(api) as c:
            c.put("/_sandbox/jobs/worker", json={"fail_next": 1})
            posted = [c.post("/v1/orders", json={"item": item}).headers["x-request-id"] for item in "abc"]
            api.advance_clock(10)  # receipt 1 fails, 2 and 3 run, then 1 again (10 s backoff): not yet
            listed = c.get("/v1/orders")
            c.get("/_sandbox/jobs")
            c.post("/v1/reports", json={})
        deadline = time.monotonic() + 5
        while len(list(logs.read(api.log_path))) < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        traffic = list(api.recorder.all())
        lines = list(logs.read(api.log_path))
    finally:
        api.stop()
    records = {r["request_id"]: r for r in lines if r["service"] == "api"}
    assert len(traffic) == len(records) == 7
    for exchange in traffic:
        line = records[exchange.request_id]
        assert (line["method"], line["path"], line["status"]) == (exchange.method, exchange.path, exchange.status)
    worker = [
        (r["job"], r["event"], r["attempt"], r["request_id"], r["level"]) for r in lines if r["service"] == "worker"
    ]
    assert worker == [
        (1, "failed", 1, posted[0], "warn"),
        (2, "done", 1, posted[1], "info"),
        (3, "done", 1, posted[2], "info"),
    ]
    assert emails(db) == [2, 3]
    listing = next(e for e in traffic if e.request_id == listed.headers["x-request-id"])
    assert records[listing.request_id]["sql"] == sum(e.kind == "sql" for e in listing.trace)
    assert 1 <= records[listing.request_id]["sql"] <= 2


CHECKED = """\
id: twice
title: The job that ran twice
track: http
sandboxes:
  sql:
    sql: |
      CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL);
      CREATE TABLE emails (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL);
  api:
    resources: [{name: orders, table: orders, writable: true}]
    jobs:
      kinds: [{name: receipt, sql: "INSERT INTO emails (order_id) VALUES (:id)", seconds: 2, after: {resource: orders}}]
      switchable: true
steps:
  - id: crash
    title: Crash
    text: Crash the worker after its work, then wait.
    check: {kind: sql_state, query: SELECT order_id FROM emails ORDER BY id, expect: [[1], [1]]}
    solution:
      requests:
        - {method: PUT, path: /_sandbox/jobs/worker, json: {crash_next: after_work}}
        - {method: POST, path: /v1/orders, json: {item: pen}}
        - {wait: 40}
    wrong_answers:
      - requests: [{method: POST, path: /v1/orders, json: {item: pen}}, {wait: 40}]
"""


def test_a_wait_runs_the_jobs_due_by_then_before_the_check_reads_the_table(tmp_path: Path) -> None:
    """No request follows the `wait`: the check still sees the work the worker did in those 40 s."""
    from tutor.pack.actions import Action

    pack = load_pack_or_raise(write_pack(tmp_path / "pack", {"http/twice.yaml": CHECKED}))
    lesson = pack.lessons[0].lesson
    step = lesson.steps[0]
    with Session(pack, lesson, Home(tmp_path / "home").ensure()) as session:
        session.start()
        session.begin_step(step)
        opened = session.save_state()
        assert isinstance(step.solution, Action)
        session.apply(step.solution)
        assert session.check(step).passed
        session.restore_state(opened)
        session.apply(step.wrong_answers[0])
        result = session.check(step)
        assert not result.passed and "got 1" in result.summary, result.summary


def test_a_job_the_learner_inserts_with_sqlite3_is_run_too(api: ApiSandbox, db: Path) -> None:
    """The worker skips reading an idle table between requests, but never misses a row written by hand."""
    with client(api) as c:
        assert jobs(c) == []  # read once: nothing to do, nothing due
        assert jobs(c) == []
        now = api.lesson_time()
        with sqlite3.connect(db) as conn:
            conn.execute(
                "INSERT INTO jobs (kind, payload, run_at, created_at) VALUES ('receipt', '{\"id\": 5}', ?, ?)",
                (now, now),
            )
        assert jobs(c) == [(1, "running", 1)]
        api.advance_clock(2)
        assert jobs(c) == [(1, "done", 1)] and emails(db) == [5]


def test_the_openapi_document_lists_every_status_the_job_routes_answer(api: ApiSandbox) -> None:
    with client(api) as c:
        doc = c.get("/openapi.json").json()
        answers = {
            ("post", "/v1/reports"): [c.post("/v1/reports", json={}), c.post("/v1/reports", json=[1])],
            ("get", "/v1/jobs/{id}"): [c.get("/v1/jobs/1"), c.get("/v1/jobs/99"), c.get("/v1/jobs/x")],
            ("get", "/v1/jobs/{id}/result"): [c.get("/v1/jobs/1/result")],
        }
        api.advance_clock(6)
        answers[("get", "/v1/jobs/{id}")].append(c.get("/v1/jobs/1"))
        answers[("get", "/v1/jobs/{id}/result")].append(c.get("/v1/jobs/1/result"))
    seen = {}
    for (method, path), responses in answers.items():
        documented = set(doc["paths"][path][method]["responses"])
        statuses = {str(r.status_code) for r in responses}
        assert statuses <= documented, (method, path, statuses, documented)
        seen[(method, path)] = statuses
    assert seen == {
        ("post", "/v1/reports"): {"202", "422"},
        ("get", "/v1/jobs/{id}"): {"200", "303", "404"},
        ("get", "/v1/jobs/{id}/result"): {"200", "404"},
    }


def test_a_dropped_job_table_is_made_again_and_the_api_keeps_answering(api: ApiSandbox, db: Path) -> None:
    with client(api) as c:
        c.post("/v1/orders", json={"item": "pen"})
        with sqlite3.connect(db) as conn:
            conn.execute("DROP TABLE jobs")
        assert c.get("/v1/orders").status_code == 200
        assert c.post("/v1/orders", json={"item": "ink"}).status_code == 201
        api.advance_clock(2)
        assert jobs(c) == [(1, "done", 1)]  # the job of the second order, in a table made again
        assert emails(db) == [2]


def test_a_learner_s_write_lock_delays_the_worker_not_the_api_and_the_job_runs_as_due(
    api: ApiSandbox, db: Path
) -> None:
    with client(api) as c:
        c.post("/v1/orders", json={"item": "pen"})
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # the learner's sqlite3 in the middle of a transaction
        try:
            api.advance_clock(5)
            started = time.monotonic()
            assert c.get("/v1/orders/1").status_code == 200
            assert time.monotonic() - started < 2  # the worker gave up waiting, the request did not wait 5 s
        finally:
            holder.execute("COMMIT")
            holder.close()
        job = c.get("/_sandbox/jobs").json()["jobs"][0]
    assert (job["status"], job["attempts"]) == ("done", 1)
    assert job["finished_at"] - job["started_at"] == pytest.approx(2)  # on the lesson clock, as if never delayed
    assert emails(db) == [1]
