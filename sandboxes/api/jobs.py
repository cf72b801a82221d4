"""Background work: a job table in the lesson database and a worker that runs it on the lesson clock
(docs/sandbox-api.md, "Jobs").

The table (`jobs` by default) is made when the sandbox starts; the learner reads it with their own
`sqlite3`. A job is `queued`, then `running` (its worker holds a lease), then `done`, or `failed` (it
runs again `backoff_seconds * 2^(attempts-1)` later) and at last `dead` after `max_attempts` runs.

The worker does not run on a timer: it catches up with the lesson clock whenever the API gets a
request (`catch_up`). It replays what happened since, in time order: a job starts when it is due and a
worker is free, takes its kind's `seconds` of lesson time, and then does its work (the kind's `sql`,
with the payload as named parameters) and is marked done. So a job's life is a function of the lesson
clock: `wait: 5` in a solution finishes a 5-second job, and a replay does the same.

The lesson controls the worker (`PUT /_sandbox/jobs/worker`, with `switchable`): pause it, make its
next runs fail, or make it crash in the middle of its next run, after the work and before marking
the job done. The crashed job keeps its lease until `lease_seconds` after it started, then runs again:
its work is done twice. That is at-least-once delivery, and why a job's work must be idempotent
(`INSERT ... ON CONFLICT DO NOTHING` against a UNIQUE key does nothing the second time).
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import sqlite3
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandboxes.api.state import State
    from tutor.pack.sandbox_api import JobKind, Jobs

STATUSES = ("queued", "running", "done", "failed", "dead")
BUSY_MS = 250
"""How long the worker waits for a write lock another connection holds before it leaves the work for later."""
MAX_EVENTS = 2000
"""Job events replayed in one catch-up at most (a clock moved a year ahead does not run forever)."""
FATES = ("ok", "fail", "crash_after_work", "crash_before_work")


def table_sql(table: str) -> str:
    return f"""CREATE TABLE IF NOT EXISTS "{table}" (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL DEFAULT '{{}}',
  status TEXT NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'running', 'done', 'failed', 'dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  run_at REAL NOT NULL,
  created_at REAL NOT NULL,
  started_at REAL,
  finished_at REAL,
  worker TEXT,
  lease_until REAL,
  last_error TEXT,
  result TEXT,
  request_id TEXT
)"""


class JobQueue:
    """The lesson's job table and worker. `memory` (worker switches, what each run will meet, when each
    worker is free) is in the state snapshot; the jobs themselves are rows of the lesson database."""

    def __init__(self, settings: Jobs, state: State) -> None:
        self.settings = settings
        self.kinds: dict[str, JobKind] = {k.name: k for k in settings.kinds}
        self.state = state
        self.table = f'"{settings.table}"'
        self.running = threading.Lock()
        """One catch-up at a time."""
        self._wake_at = 0.0
        """Lesson time before which nothing can happen, as the table was at `_seen` (0: read it)."""
        self._seen: tuple[int, ...] = ()
        self._earliest = math.inf
        self.log: Any = None
        """The request log (`sandboxes.api.logs.RequestLog`), with `logs.background`: a line per run's end."""
        self.memory: dict[str, Any] = {
            "paused": False,
            "fail_next": 0,
            "crash_next": None,  # "after_work" | "before_work"
            "fates": {},  # job id (text) -> what its current run meets
            "free_at": [0.0] * settings.workers,  # when each free worker became free (lesson time); busy ones absent
            "runs": 0,
        }

    # -- when to look again ---------------------------------------------------------------------
    def wake(self) -> None:
        """Something may have changed what happens next (a job enqueued, the worker switched, a state
        restored): the next catch-up reads the table."""
        self._wake_at = 0.0

    def _stamp(self) -> tuple[int, ...]:
        """The database file (and its WAL) as the file system sees it, and SQLite's file change counter
        (bytes 24-27 of the header, one more at each commit; a file's time may not move between two
        writes a few milliseconds apart): a learner's own `sqlite3` that enqueues or edits a job changes
        it, so the next catch-up reads the table."""
        path = self.state.db.path
        if path is None:
            return ()
        out: list[int] = []
        try:
            with open(path, "rb") as file:
                out.append(int.from_bytes(file.read(28)[24:28], "big"))
        except OSError:
            out.append(-1)
        for name in (str(path), f"{path}-wal"):
            try:
                info = os.stat(name)
            except OSError:
                out += [0, 0]
                continue
            out += [info.st_mtime_ns, info.st_size]
        return tuple(out)

    def create_table(self) -> None:
        if not self.state.db.available:
            return
        with self.state.db.connect() as conn:
            conn.execute(table_sql(self.settings.table))
            conn.execute(f'CREATE INDEX IF NOT EXISTS "{self.settings.table}_due" ON {self.table} (status, run_at)')

    # -- enqueue ----------------------------------------------------------------------------------
    def enqueue(
        self, conn: sqlite3.Connection, kind: str, payload: Any, delay: float = 0.0, *, request_id: str | None = None
    ) -> int:
        """A new job, due `delay` lesson seconds from now; `request_id`: the request that made it (its log
        lines and the webhook it emits carry it)."""
        self.wake()
        now = self.state.clock.now()
        cursor = conn.execute(
            f"INSERT INTO {self.table} (kind, payload, status, run_at, created_at, request_id) "
            "VALUES (?, ?, 'queued', ?, ?, ?)",
            (kind, json.dumps(payload, ensure_ascii=False, separators=(",", ":")), now + delay, now, request_id),
        )
        return int(cursor.lastrowid or 0)

    def job(self, conn: sqlite3.Connection, job_id: int) -> dict[str, Any] | None:
        row = conn.execute(f"SELECT * FROM {self.table} WHERE id = ?", (job_id,)).fetchone()
        return self.describe(dict(row)) if row is not None else None

    def describe(self, row: dict[str, Any]) -> dict[str, Any]:
        out = dict(row)
        for key in ("payload", "result"):
            if isinstance(out.get(key), str):
                with contextlib.suppress(ValueError):
                    out[key] = json.loads(out[key])
        kind = self.kinds.get(str(row.get("kind")))
        if row.get("status") == "running" and row.get("worker") and kind is not None:
            out["done_at"] = float(row["started_at"]) + kind.seconds
        return out

    # -- the worker -------------------------------------------------------------------------------
    def catch_up(self) -> list[str]:
        """Replay the worker up to the lesson clock's now; what happened, in words (for the trace).
        Without reading the table when nothing can be due yet and no one else wrote the database."""
        if not self.state.db.available:
            return []
        if self.state.clock.now() < self._wake_at and self._stamp() == self._seen:
            return []
        happened: list[str] = []
        with self.running, self.state.db.connect() as conn:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
            seen = self._stamp()  # before reading: a write from elsewhere after this is seen next time
            for _ in range(MAX_EVENTS):
                with self.state.lock:
                    before = copy.deepcopy(self.memory)
                try:
                    event = self._next(conn, self.state.clock.now())
                    if event is None:
                        self._wake_at = self._earliest
                        break
                    happened.append(self._apply(conn, *event))
                except sqlite3.Error as exc:
                    # the learner's own connection holds a write lock, or dropped the table: what was due
                    # stays due (a lesson-time replay), and the worker goes on at the next request
                    with self.state.lock:
                        self.memory = before
                    self._wake_at = 0.0
                    if "no such table" in str(exc):
                        conn.execute(table_sql(self.settings.table))
                        happened.append(f"the job table {self.settings.table} was gone: the worker made it again")
                    else:
                        happened.append(f"the worker could not use the job table ({exc}): it tries again later")
                    break
            else:
                self._wake_at = 0.0  # more to replay: the next request goes on
            self._seen = seen
        return happened

    def _next(self, conn: sqlite3.Connection, now: float) -> tuple[str, float, dict[str, Any]] | None:
        """The earliest thing to happen at or before `now`: (what, when, the job's row)."""
        memory = self.memory
        candidates: list[tuple[float, int, str, dict[str, Any]]] = []
        for row in conn.execute(f"SELECT * FROM {self.table} WHERE status = 'running'").fetchall():
            job = dict(row)
            if job["worker"]:
                kind = self.kinds.get(job["kind"])
                ends = float(job["started_at"]) + (kind.seconds if kind else 0.0)
                candidates.append((ends, 0, "finish", job))
            elif job["lease_until"] is not None:
                candidates.append((float(job["lease_until"]), 1, "lease", job))
        if not memory["paused"] and memory["free_at"]:  # the times the free workers became free
            free = min(memory["free_at"])
            row = conn.execute(
                f"SELECT * FROM {self.table} WHERE status IN ('queued', 'failed') ORDER BY run_at, id LIMIT 1"
            ).fetchone()
            if row is not None:
                job = dict(row)
                candidates.append((max(float(job["run_at"]), free), 2, "start", job))
        due = [c for c in candidates if c[0] <= now]
        if not due:
            self._earliest = min((c[0] for c in candidates), default=math.inf)
            return None
        when, _, what, job = min(due, key=lambda c: (c[0], c[1], c[3]["id"]))
        return what, when, job

    def _line(self, job: dict[str, Any], when: float, event: str, attempt: int, error: str | None = None) -> None:
        """The log line of one thing that happened to a job (with `logs.background`)."""
        if self.log is None:
            return
        from sandboxes.api.logs import iso_time

        kind = self.kinds.get(str(job["kind"]))
        record: dict[str, Any] = {
            "time": iso_time(when),
            "level": {"done": "info", "failed": "warn", "requeued": "warn"}.get(event, "error"),
            "service": "worker",
            "request_id": job.get("request_id"),
            "job": int(job["id"]),
            "kind": job["kind"],
            "event": event,
            "attempt": attempt,
        }
        if event != "requeued":
            record["duration_ms"] = round((kind.seconds if kind else 0.0) * 1000, 1)
        if error:
            record["error"] = error
        self.log.write(record)

    def _slot_taken(self) -> None:
        slots = self.memory["free_at"]
        slots.sort()
        slots.pop(0)

    def _slot_freed(self, when: float) -> None:
        self.memory["free_at"].append(when)

    def _apply(self, conn: sqlite3.Connection, what: str, when: float, job: dict[str, Any]) -> str:
        memory = self.memory
        table = self.table
        job_id = int(job["id"])
        name = f"job {job_id} ({job['kind']})"
        if what == "lease":
            conn.execute(
                f"UPDATE {table} SET status = 'queued', run_at = ?, worker = NULL, lease_until = NULL WHERE id = ?",
                (when, job_id),
            )
            self._line(job, when, "requeued", int(job["attempts"]), "the worker crashed; its lease ran out")
            return f"{name}: its worker crashed and the lease ran out; queued again"
        if what == "start":
            with self.state.lock:
                fate = "ok"
                if memory["crash_next"]:
                    fate = f"crash_{memory['crash_next']}"
                    memory["crash_next"] = None
                elif memory["fail_next"] > 0:
                    fate = "fail"
                    memory["fail_next"] -= 1
                memory["runs"] += 1
                self._slot_taken()
            attempt = int(job["attempts"]) + 1
            if fate == "crash_before_work":
                conn.execute(
                    f"UPDATE {table} SET status = 'running', attempts = ?, started_at = ?, worker = NULL, "
                    "lease_until = ?, last_error = ? WHERE id = ?",
                    (
                        attempt,
                        when,
                        when + self.settings.lease_seconds,
                        "its worker crashed before doing the work",
                        job_id,
                    ),
                )
                self._slot_freed(when)
                self._line(job, when, "crashed", attempt, "its worker crashed before doing the work")
                return f"{name}: run {attempt} started; the worker crashed at once"
            with self.state.lock:
                memory["fates"][str(job_id)] = fate
            conn.execute(
                f"UPDATE {table} SET status = 'running', attempts = ?, started_at = ?, worker = ?, lease_until = ? "
                "WHERE id = ?",
                (attempt, when, f"worker-{memory['runs']}", when + self.settings.lease_seconds, job_id),
            )
            return f"{name}: run {attempt} started"
        # finish
        with self.state.lock:
            fate = memory["fates"].pop(str(job_id), "ok")
        self._slot_freed(when)
        kind = self.kinds.get(job["kind"])
        attempt = int(job["attempts"])
        if fate == "fail":
            return self._failed(conn, job, when, "the run failed (the lesson made it fail)")
        error = None
        result: Any = None
        try:
            payload = json.loads(job["payload"] or "{}")
        except ValueError:
            payload = {}
        params = payload if isinstance(payload, dict) else {}
        try:
            conn.execute("SAVEPOINT job")
            if kind is not None and kind.sql:
                conn.execute(kind.sql, params)
            if kind is not None and kind.result_sql:
                result = [dict(r) for r in conn.execute(kind.result_sql, params).fetchall()]
            conn.execute("RELEASE job")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK TO job")
            conn.execute("RELEASE job")
            error = f"{type(exc).__name__}: {exc}"
        if error is not None:
            return self._failed(conn, job, when, error)
        if fate == "crash_after_work":
            conn.execute(
                f"UPDATE {table} SET worker = NULL, last_error = ? WHERE id = ?",
                ("its worker crashed after doing the work, before marking the job done", job_id),
            )
            self._line(job, when, "crashed", attempt, "its worker crashed after doing the work")
            return f"{name}: run {attempt} did its work, then the worker crashed"
        conn.execute(
            f"UPDATE {table} SET status = 'done', finished_at = ?, worker = NULL, lease_until = NULL, "
            "result = ? WHERE id = ?",
            (when, json.dumps(result) if result is not None else None, job_id),
        )
        self._line(job, when, "done", attempt)
        if kind is not None and kind.emits and self.state.webhooks is not None:
            self.state.webhooks.emit(
                kind.emits,
                {"job": job_id, "kind": kind.name, "payload": payload, "result": result},
                request_id=job.get("request_id"),
            )
        return f"{name}: run {attempt} done"

    def _failed(self, conn: sqlite3.Connection, job: dict[str, Any], when: float, error: str) -> str:
        attempt = int(job["attempts"])
        job_id = int(job["id"])
        if attempt >= self.settings.max_attempts:
            conn.execute(
                f"UPDATE {self.table} SET status = 'dead', finished_at = ?, worker = NULL, lease_until = NULL, "
                "last_error = ? WHERE id = ?",
                (when, error, job_id),
            )
            self._line(job, when, "dead", attempt, error)
            return f"job {job_id} ({job['kind']}): run {attempt} failed; no runs left: dead"
        retry = when + self.settings.backoff_seconds * 2 ** (attempt - 1)
        conn.execute(
            f"UPDATE {self.table} SET status = 'failed', run_at = ?, worker = NULL, lease_until = NULL, "
            "last_error = ? WHERE id = ?",
            (retry, error, job_id),
        )
        self._line(job, when, "failed", attempt, error)
        return f"job {job_id} ({job['kind']}): run {attempt} failed; it runs again in {retry - when:g} s"

    def retry_after(self, job: dict[str, Any], now: float) -> int:
        """Whole seconds until the job's state may change (for a status monitor's Retry-After)."""
        if job["status"] == "running" and job.get("done_at") is not None:
            return max(1, math.ceil(float(job["done_at"]) - now))
        if job["status"] == "running" and job.get("lease_until") is not None:  # its worker crashed
            kind = self.kinds.get(str(job["kind"]))
            return max(1, math.ceil(float(job["lease_until"]) - now + (kind.seconds if kind else 0)))
        if job["status"] in ("queued", "failed"):
            kind = self.kinds.get(str(job["kind"]))
            return max(1, math.ceil(float(job["run_at"]) - now + (kind.seconds if kind else 0)))
        return 1
