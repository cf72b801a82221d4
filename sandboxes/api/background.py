"""Background work of the sandbox API: the job worker and webhook deliveries catching up with the lesson
clock, writes that enqueue jobs and send events, and their routes (`/_sandbox/jobs`, `/_sandbox/webhooks`,
a job kind's `route` that answers 202 Accepted, and the status monitor `/v1/jobs/{id}`)."""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandboxes.api.jobs import JobQueue
from sandboxes.api.jsonio import dumps, json_response, read_json
from sandboxes.api.problems import ApiError
from sandboxes.api.recorder import ASGIApp, Receive, Scope, Send, trace_of
from sandboxes.api.state import MAX_ADVANCE, State
from sandboxes.api.webhooks import ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookHub, check_endpoint

NO_STORE = {"Cache-Control": "no-store"}
RECENT = 20
REQUEST_BUDGET = 5.0
"""Real seconds a request to /_sandbox/webhooks spends sending due deliveries first, at most."""


class BackgroundMiddleware:
    """Before each request: the job worker catches up with the lesson clock (its SQL is its own, not the
    request's), and due webhook deliveries are sent: by this request when it reads `/_sandbox/webhooks`
    (so what it reads is settled), by the ticker otherwise (an app that calls the API back while it
    handles a delivery is never kept waiting for that delivery)."""

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            trace = trace_of(scope)
            jobs = self.state.jobs
            if isinstance(jobs, JobQueue):
                happened = await run_in_threadpool(jobs.catch_up)
                if trace and happened:
                    trace.add("jobs", f"the worker caught up: {len(happened)} event(s)", events=happened[-20:])
            hooks = self.state.webhooks
            if isinstance(hooks, WebhookHub) and str(scope.get("path", "")).startswith("/_sandbox/webhooks"):
                sent = await run_in_threadpool(hooks.catch_up, REQUEST_BUDGET)
                if trace and sent:
                    trace.add("webhooks", f"{sent} due deliveries sent first")
        await self.app(scope, receive, send)


class Ticker:
    """Every `every` seconds of real time, the worker catches up and due deliveries are sent, so the job
    table a learner reads with `sqlite3` and the app waiting for a webhook see them without the sandbox
    getting a request. What happens is a function of the lesson clock, not of when the ticker runs: a
    request catches up first in the same way (`pack test` does not depend on the ticker)."""

    def __init__(self, state: State, every: float = 0.25) -> None:
        self.state = state
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-background", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            jobs, hooks = self.state.jobs, self.state.webhooks
            try:
                if isinstance(jobs, JobQueue):
                    jobs.catch_up()
                if isinstance(hooks, WebhookHub) and hooks.due(hooks.clock.now()):
                    hooks.catch_up(self.every * 4)
            except Exception:  # noqa: S112 - a job or delivery that breaks must not end the ticker
                continue

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            hooks = self.state.webhooks
            self._thread.join((hooks.settings.timeout_ms / 1000 if isinstance(hooks, WebhookHub) else 0) + 6)


def written(state: State, resource: str, mode: str, payload: Any, item_id: Any, request_id: str | None = None) -> None:
    """A write to `resource` succeeded: enqueue the jobs and send the events the lesson ties to it."""
    if payload is None:  # a delete: the id from the path, a number when it is one (as the row had it)
        payload = {"id": int(item_id) if isinstance(item_id, str) and item_id.isdigit() else item_id}
    data = payload
    jobs = state.jobs
    if isinstance(jobs, JobQueue):
        kinds = [k for k in jobs.kinds.values() if k.after and k.after.resource == resource and mode in k.after.write]
        if kinds:
            with state.db.connect() as conn:
                for kind in kinds:
                    try:
                        jobs.enqueue(conn, kind.name, data, request_id=request_id)
                    except sqlite3.OperationalError as exc:  # the learner dropped the table: made again
                        if "no such table" not in str(exc):
                            raise
                        jobs.create_table()
                        jobs.enqueue(conn, kind.name, data, request_id=request_id)
    hooks = state.webhooks
    if isinstance(hooks, WebhookHub):
        for event in hooks.settings.events:
            if event.after.resource == resource and mode in event.after.write:
                hooks.emit(event.type, data, request_id=request_id)


# -- jobs ---------------------------------------------------------------------------------------------
def job_routes(state: State) -> list[Route]:
    jobs = state.jobs
    if not isinstance(jobs, JobQueue):
        return []
    settings = jobs.settings

    def worker() -> dict[str, Any]:
        with state.lock:
            memory = dict(jobs.memory)
        return {
            "paused": memory["paused"],
            "fail_next": memory["fail_next"],
            "crash_next": memory["crash_next"],
            "workers": settings.workers,
            "runs": memory["runs"],
        }

    def listing() -> dict[str, Any]:
        with state.db.connect() as conn:
            counts = {s: 0 for s in ("queued", "running", "done", "failed", "dead")}
            for row in conn.execute(f"SELECT status, COUNT(*) AS n FROM {jobs.table} GROUP BY status").fetchall():
                counts[str(row["status"])] = int(row["n"])
            rows = conn.execute(f"SELECT * FROM {jobs.table} ORDER BY id DESC LIMIT {RECENT}").fetchall()
        return {
            "table": settings.table,
            "now": round(state.clock.now(), 3),
            "worker": worker(),
            "counts": counts,
            "jobs": [jobs.describe(dict(r)) for r in reversed(rows)],
            "kinds": {
                k.name: {"seconds": k.seconds, **({"route": k.route} if k.route else {})} for k in settings.kinds
            },
        }

    async def jobs_root(request: Request) -> Response:
        if request.method == "POST":
            data = await read_json(request)
            if not isinstance(data, dict):
                raise ApiError(422, 'send {"kind": "...", "payload": {...}}')
            kind, payload, delay = data.get("kind"), data.get("payload", {}), data.get("delay_seconds", 0)
            errors = []
            if kind not in jobs.kinds:
                errors.append({"field": "kind", "message": f"must be one of {', '.join(jobs.kinds)}"})
            if not isinstance(payload, dict):
                errors.append({"field": "payload", "message": "must be a JSON object"})
            if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= MAX_ADVANCE:
                errors.append({"field": "delay_seconds", "message": "must be a number of lesson seconds, 0 or more"})
            errors += [
                {"field": str(k)[:40], "message": "unknown; send kind, payload, delay_seconds"}
                for k in data
                if k not in ("kind", "payload", "delay_seconds")
            ]
            if errors:
                raise ApiError(422, "the job was not enqueued", errors=errors)
            request_id = request.headers.get("x-request-id")

            def add() -> dict[str, Any] | None:
                with state.db.connect() as conn:
                    enqueued = jobs.enqueue(conn, str(kind), payload, float(delay), request_id=request_id)
                    return jobs.job(conn, enqueued)

            job = await run_in_threadpool(add)
            trace = trace_of(request.scope)
            if trace and job:
                trace.add("handler", f"job {job['id']} ({kind}) enqueued")
            return json_response(job, status=201, headers=NO_STORE)
        return json_response(await run_in_threadpool(listing), headers=NO_STORE)

    async def worker_switch(request: Request) -> Response:
        if request.method == "PUT":
            if not settings.switchable:
                raise ApiError(403, "the worker is not the learner's to change in this lesson")
            data = await read_json(request)
            if not isinstance(data, dict) or not data:
                raise ApiError(422, 'send {"paused": true}, {"fail_next": 2} or {"crash_next": "after_work"}')
            errors = []
            if "paused" in data and not isinstance(data["paused"], bool):
                errors.append({"field": "paused", "message": "must be true or false"})
            fail = data.get("fail_next", 0)
            if "fail_next" in data and (isinstance(fail, bool) or not isinstance(fail, int) or not 0 <= fail <= 100):
                errors.append({"field": "fail_next", "message": "must be a whole number from 0 to 100"})
            if "crash_next" in data and data["crash_next"] not in ("after_work", "before_work", None):
                errors.append({"field": "crash_next", "message": "must be after_work, before_work or null"})
            errors += [
                {"field": str(k)[:40], "message": "unknown; use paused, fail_next, crash_next"}
                for k in data
                if k not in ("paused", "fail_next", "crash_next")
            ]
            if errors:
                raise ApiError(422, "the worker was not changed", errors=errors)
            now = state.clock.now()
            with state.lock:
                memory = jobs.memory
                if data.get("paused") is False and memory["paused"]:
                    # a worker that comes back starts now, not when it could have
                    memory["free_at"] = [max(t, now) for t in memory["free_at"]]
                memory.update({k: data[k] for k in data})
            jobs.wake()
            trace = trace_of(request.scope)
            if trace:
                trace.add("handler", "the worker: " + ", ".join(f"{k} {data[k]}" for k in sorted(data)))
        return json_response(worker(), headers=NO_STORE)

    routes = [
        Route("/_sandbox/jobs", jobs_root, methods=["GET", "POST"]),
        Route("/_sandbox/jobs/worker", worker_switch, methods=["GET", "PUT"]),
    ]
    kinds_with_routes = [k for k in settings.kinds if k.route]
    if not kinds_with_routes:
        return routes

    def status_answer(job: dict[str, Any]) -> Response:
        now = state.clock.now()
        location = f"/v1/jobs/{job['id']}"
        if job["status"] == "done":
            return Response(
                dumps(job),
                status_code=303,
                media_type="application/json",
                headers={**NO_STORE, "Location": f"{location}/result"},
            )
        headers = dict(NO_STORE)
        if job["status"] in ("queued", "running", "failed"):
            headers["Retry-After"] = str(jobs.retry_after(job, now))
        return json_response(job, headers=headers)

    async def status(request: Request) -> Response:
        job_id = request.path_params["id"]

        def read() -> dict[str, Any] | None:
            with state.db.connect() as conn:
                return jobs.job(conn, int(job_id))

        job = await run_in_threadpool(read) if job_id.isdigit() and len(job_id) < 19 else None
        if job is None:
            raise ApiError(404, f"there is no job {job_id[:40]}")
        return status_answer(job)

    async def result(request: Request) -> Response:
        job_id = request.path_params["id"]

        def read() -> dict[str, Any] | None:
            with state.db.connect() as conn:
                return jobs.job(conn, int(job_id))

        job = await run_in_threadpool(read) if job_id.isdigit() and len(job_id) < 19 else None
        if job is None:
            raise ApiError(404, f"there is no job {job_id[:40]}")
        if job["status"] != "done":
            raise ApiError(
                404,
                f"job {job_id} has no result yet: it is {job['status']}; GET /v1/jobs/{job_id} says when to look again",
            )
        return json_response({"job": job["id"], "kind": job["kind"], "result": job["result"]}, headers=NO_STORE)

    def accept(kind_name: str) -> Any:
        async def handler(request: Request) -> Response:
            data = await read_json(request)
            if not isinstance(data, dict):
                raise ApiError(422, "send a JSON object: it is the job's payload")

            request_id = request.headers.get("x-request-id")

            def add() -> dict[str, Any] | None:
                with state.db.connect() as conn:
                    return jobs.job(conn, jobs.enqueue(conn, kind_name, data, request_id=request_id))

            job = await run_in_threadpool(add)
            assert job is not None
            trace = trace_of(request.scope)
            if trace:
                trace.add("handler", f"job {job['id']} ({kind_name}) enqueued: 202 Accepted")
            headers = {
                **NO_STORE,
                "Location": f"/v1/jobs/{job['id']}",
                "Retry-After": str(jobs.retry_after(job, state.clock.now())),
            }
            return json_response(job, status=202, headers=headers)

        return handler

    routes += [
        Route("/v1/jobs/{id}", status, methods=["GET", "HEAD"]),
        Route("/v1/jobs/{id}/result", result, methods=["GET", "HEAD"]),
    ]
    for kind in kinds_with_routes:
        assert kind.route is not None
        routes.append(Route(kind.route, accept(kind.name), methods=["POST"]))
    return routes


# -- webhooks -------------------------------------------------------------------------------------------
def webhook_routes(state: State) -> list[Route]:
    hooks = state.webhooks
    if not isinstance(hooks, WebhookHub):
        return []
    settings = hooks.settings

    def overview() -> dict[str, Any]:
        now = state.clock.now()
        with state.lock:
            deliveries = list(hooks.memory["deliveries"].values())
            endpoint = hooks.memory["endpoint"]
        return {
            "endpoint": endpoint,
            "secret": settings.secret,
            "signature": f"{SIGNATURE_HEADER}: v1,base64(HMAC-SHA256(base64decode(secret after whsec_), "
            f"{ID_HEADER} + '.' + {TIMESTAMP_HEADER} + '.' + body)), as Standard Webhooks 1.0 says",
            "tolerance_seconds": settings.tolerance_seconds,
            "retries": settings.retries,
            "backoff_seconds": settings.backoff_seconds,
            "counts": {s: sum(1 for d in deliveries if d["state"] == s) for s in ("pending", "delivered", "failed")},
            "deliveries": [hooks.describe(d, now) for d in deliveries[-RECENT:]],
            "change": 'PUT /_sandbox/webhooks with {"endpoint": "http://127.0.0.1:8001/webhooks"}',
        }

    async def root(request: Request) -> Response:
        if request.method == "PUT":
            data = await read_json(request)
            if not isinstance(data, dict) or set(data) != {"endpoint"}:
                raise ApiError(422, 'send {"endpoint": "http://127.0.0.1:PORT/path"} (or null)')
            endpoint = data["endpoint"]
            if endpoint is not None:
                problem = check_endpoint(endpoint) if isinstance(endpoint, str) else "must be a URL or null"
                if problem:
                    raise ApiError(
                        422, "the endpoint was not changed", errors=[{"field": "endpoint", "message": problem}]
                    )
            with state.lock:
                hooks.memory["endpoint"] = endpoint
            trace = trace_of(request.scope)
            if trace:
                trace.add("handler", f"webhooks now go to {endpoint}")
            sent = await run_in_threadpool(hooks.catch_up, REQUEST_BUDGET)  # what waited for an endpoint goes now
            if trace and sent:
                trace.add("webhooks", f"{sent} waiting deliveries sent")
        return json_response(overview(), headers=NO_STORE)

    async def events(request: Request) -> Response:
        data = await read_json(request)
        kind = data.get("type") if isinstance(data, dict) else None
        if not isinstance(kind, str) or not kind or len(kind) > 64 or not isinstance(data, dict):
            raise ApiError(422, 'send {"type": "order.paid", "data": {...}}')
        unknown = [k for k in data if k not in ("type", "data")]
        if unknown:
            raise ApiError(
                422, "send only type and data", errors=[{"field": str(unknown[0])[:40], "message": "unknown"}]
            )
        delivery = hooks.emit(kind, data.get("data", {}), request_id=request.headers.get("x-request-id"))
        trace = trace_of(request.scope)
        if trace:
            trace.add("handler", f"event {delivery['id']} ({kind}) made; its delivery is due now")
        location = f"/_sandbox/webhooks/deliveries/{delivery['id']}"
        return json_response(
            hooks.describe(delivery, state.clock.now()), status=201, headers={**NO_STORE, "Location": location}
        )

    def known(request: Request) -> str:
        event_id = str(request.path_params["id"])
        with state.lock:
            if event_id not in hooks.memory["deliveries"]:
                raise ApiError(404, f"there is no delivery {event_id[:40]}")
        return event_id

    async def one(request: Request) -> Response:
        event_id = known(request)
        with state.lock:
            delivery = dict(hooks.memory["deliveries"][event_id])
        return json_response(hooks.describe(delivery, state.clock.now()), headers=NO_STORE)

    async def redeliver(request: Request) -> Response:
        event_id = known(request)
        record = await run_in_threadpool(hooks.redeliver, event_id)
        trace = trace_of(request.scope)
        if trace:
            trace.add("webhooks", f"{event_id} delivered again by hand: {record['status'] or record.get('problem')}")
        with state.lock:
            delivery = dict(hooks.memory["deliveries"][event_id])
        return json_response({**hooks.describe(delivery, state.clock.now()), "this_attempt": record}, headers=NO_STORE)

    return [
        Route("/_sandbox/webhooks", root, methods=["GET", "PUT"]),
        Route("/_sandbox/webhooks/events", events, methods=["POST"]),
        Route("/_sandbox/webhooks/deliveries/{id}", one, methods=["GET"]),
        Route("/_sandbox/webhooks/deliveries/{id}/redeliver", redeliver, methods=["POST"]),
    ]
