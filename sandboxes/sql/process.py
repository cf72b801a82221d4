"""The learner's guarded connection in a worker process: what the tutor holds instead of the connection.

    learner = LearnerProcess("live.db", time_limit=10, max_db_bytes=..., memory_limit=256 * 2**20)
    result = learner.run("SELECT ...; UPDATE ...")   # a RunResult, as GuardedConnection.run gives
    learner.cancel()                                  # from any thread (F9)
    columns, rows = learner.query(path, sql, ...)     # a check's read, bounded the same way
    learner.close()

Each statement goes to the worker (`sandboxes.sql.worker`) on its own, with its own deadline. When the
worker does not answer by the lesson's time limit plus KILL_MARGIN (one SQLite function call can run
for minutes without reaching the progress handler), when Cancel does not stop it within CANCEL_GRACE,
or when it dies (out of memory, a crash), it is killed and a new one started at once on the same
database. The statement's result says in words what was stopped and why, and what the restart lost
(an open transaction, temporary tables); `PRAGMA foreign_keys` is set again as it was. Nothing the
learner runs can take memory from the tutor, crash it, or hold it past the deadline.

The worker is started when this object is made, without waiting for it: a lesson opens while it
starts, and the first statement waits for it only if it is not ready yet.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from .guard import (
    DEFAULT_MAX_ROWS,
    DEFAULT_MEMORY_BYTES,
    MAX_GROWTH_BYTES,
    RunResult,
    Statement,
    StatementResult,
    _locate,
    in_megabytes,
    split_statements,
)
from .worker import BOOT, HEADER, MAX_FRAME, OUT_OF_MEMORY_EXIT, decode_rows, write_frame

KILL_MARGIN = 0.5
"""Seconds past the time limit a statement may take to answer before its process is killed."""
CANCEL_GRACE = 1.0
"""Seconds Cancel waits for the statement to stop before its process is killed."""
START_TIMEOUT = 20.0
"""How long a new worker may take to say it is ready (a busy machine starting Python)."""
QUERY_MAX_ROWS = 50_000
"""The most rows a check reads back from a query (the learner's own query, re-run, or a reference)."""
QUERY_MAX_BYTES = 16 * 1024 * 1024
"""... and the most data in them (strings and blobs by their length)."""

_ROOT = str(Path(__file__).resolve().parents[2])
# Linux ends a child when the *thread* that started it ends (the parent-death signal): workers are
# started from this one long-lived thread, never from a short-lived worker thread of the app.
_launcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sql-worker-launcher")


class QueryLimit(sqlite3.OperationalError):
    """A check's query was stopped by a limit; the message says which, in the learner's words."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason  # "rows", "bytes", "time", "memory", "cancelled", "crash"


class _Gone(Exception):
    """The worker stopped answering or died: `why` is "time", "cancel" or "died"."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class LearnerProcess:
    """`GuardedConnection`'s interface (run, run_statement, cancel, in_transaction, close), with the
    connection in a worker process; plus `query()` for checks and `reopen()` for a reset."""

    def __init__(
        self,
        path: str | Path,
        *,
        time_limit: float = 3.0,
        max_rows: int = DEFAULT_MAX_ROWS,
        max_db_bytes: int | None = None,
        memory_limit: int = DEFAULT_MEMORY_BYTES,
    ) -> None:
        self.path = str(path)
        self.time_limit = time_limit
        self.max_rows = max_rows
        self.memory_limit = memory_limit
        if max_db_bytes is None:
            try:
                max_db_bytes = os.stat(self.path).st_size + MAX_GROWTH_BYTES
            except OSError:
                max_db_bytes = MAX_GROWTH_BYTES
        self.max_db_bytes = max_db_bytes
        self.restarts = 0  # workers killed or lost and started again
        self._io = threading.RLock()  # one request at a time; a trial holds it across its statements
        self._cancelled = threading.Event()
        self._closed = False
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._ready = False
        self._owed: float | None = None  # an answer is still owed, until this moment (a wait was cut short)
        self._owed_lock = threading.Lock()  # cancel() shortens _owed from another thread
        self._in_transaction = False
        self._foreign_keys = False
        self._scratch = 0  # temporary tables and scratch databases on the connection
        self._start()

    # -- the process -------------------------------------------------------------------------------
    def _start(self) -> None:
        config = {
            "path": self.path,
            "time_limit": self.time_limit,
            "max_rows": self.max_rows,
            "max_db_bytes": self.max_db_bytes,
            "memory_limit": self.memory_limit,
            "file_limit": max(self.max_db_bytes, MAX_GROWTH_BYTES) + 64 * 1024 * 1024,
            "foreign_keys": self._foreign_keys,
        }
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 (kept to say why a worker died; closed in _reap)

        def spawn() -> subprocess.Popen[bytes]:
            return subprocess.Popen(  # noqa: S603 (our own module, a list of arguments, no shell)
                [sys.executable, "-I", "-S", "-c", BOOT, _ROOT, str(os.getpid())],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                start_new_session=True,  # Ctrl+C in the tutor's terminal is not the worker's
            )

        try:
            process = _launcher.submit(spawn).result()
        except BaseException:
            stderr.close()
            raise
        self._process, self._stderr, self._ready = process, stderr, False
        with self._owed_lock:
            self._owed = None
        self._in_transaction, self._scratch = False, 0
        assert process.stdin is not None
        with contextlib.suppress(OSError):  # it died at once: the first request finds out and says so
            write_frame(process.stdin.fileno(), config)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _reap(self, *, kill: bool) -> int | None:
        """End the current worker (killing it when `kill`) and return its exit status."""
        process, self._process = self._process, None
        if process is None:
            return None
        if kill:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        try:
            status = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            status = process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        return status

    def _stderr_tail(self) -> str:
        stderr, self._stderr = self._stderr, None
        if stderr is None:
            return ""
        try:
            stderr.seek(0, os.SEEK_END)
            stderr.seek(max(0, stderr.tell() - 2000))
            return stderr.read().decode("utf-8", "replace")
        except OSError:
            return ""
        finally:
            stderr.close()

    def _restart(self, *, kill: bool) -> str:
        """Kill or reap the worker, start a new one on the same database; why the old one ended."""
        status = self._reap(kill=kill)
        tail = self._stderr_tail()
        self.restarts += 1
        if not self._closed:
            self._start()
        if status == OUT_OF_MEMORY_EXIT or "MemoryError" in tail:
            return "memory"
        if status is not None and status < 0 and status != -signal.SIGKILL:
            return _signal_name(-status)
        if status == -signal.SIGKILL and not kill:
            return "memory"  # killed by someone else than us: the system's out-of-memory killer
        return "" if status in (0, None) or kill else f"exit status {status}"

    # -- frames ------------------------------------------------------------------------------------
    def _read(self, deadline: float, *, cancellable: bool) -> dict[str, Any]:
        """The worker's next frame; raises _Gone when it dies, passes `deadline`, or ignores Cancel."""
        process = self._process
        if process is None or process.stdout is None:
            raise _Gone("died")
        fd = process.stdout.fileno()
        buffer = bytearray()
        needed = HEADER.size
        header_read = False
        signalled_at: float | None = None
        while len(buffer) < needed:
            now = time.monotonic()
            if cancellable and self._cancelled.is_set():
                if signalled_at is None:
                    signalled_at = now
                    self._signal_cancel()
                elif now > signalled_at + CANCEL_GRACE:
                    raise _Gone("cancel")
            ready, _, _ = select.select([fd], [], [], min(0.05, max(0.0, deadline - now)))
            if not ready:
                if time.monotonic() > deadline:
                    raise _Gone("time")
                continue
            chunk = os.read(fd, min(needed - len(buffer), 1 << 20))
            if not chunk:
                raise _Gone("died")
            buffer += chunk
            if not header_read and len(buffer) >= HEADER.size:
                (size,) = HEADER.unpack(buffer[: HEADER.size])
                if size > MAX_FRAME:
                    raise _Gone("died")
                needed = HEADER.size + size
                header_read = True
        message = json.loads(bytes(buffer[HEADER.size :]))
        if not isinstance(message, dict):
            raise _Gone("died")
        return message

    def _ask(self, request: dict[str, Any], seconds: float, *, cancellable: bool = True) -> dict[str, Any]:
        """Send one request and wait for its answer; raises _Gone (the worker is then already gone)."""
        if self._process is None:
            if self._closed:
                raise _Gone("closed")
            self._start()
        process = self._process
        assert process is not None and process.stdin is not None
        try:
            if not self._ready:
                self._read(time.monotonic() + START_TIMEOUT, cancellable=False)
                self._ready = True
            if self._owed is not None:  # the answer to a request whose wait was cut short (Ctrl+C)
                try:
                    self._read(self._owed, cancellable=False)
                except _Gone:  # that statement never stopped: it ends with its process, this one runs
                    self._restart(kill=True)
                    return self._ask(request, seconds, cancellable=cancellable)
                with self._owed_lock:
                    self._owed = None
            deadline = time.monotonic() + seconds
            write_frame(process.stdin.fileno(), {**request, "deadline": seconds})
            with self._owed_lock:
                self._owed = deadline
            answer = self._read(deadline, cancellable=cancellable)
            with self._owed_lock:
                self._owed = None
            return answer
        except OSError:
            raise _Gone("died") from None
        except ValueError:  # a frame that is not JSON: the worker is not well
            raise _Gone("died") from None

    def _lost(self) -> str:
        """What a restart lost, in words ("" when nothing)."""
        parts = []
        if self._in_transaction:
            parts.append("an open transaction was rolled back")
        if self._scratch:
            parts.append("temporary tables and scratch databases are gone")
        return (": " + " and ".join(parts)) if parts else ""

    def _gone_words(self, gone: _Gone, *, what: str = "it") -> tuple[str, bool]:
        """Restart the worker; the words for what happened, and whether it was a stop (time or Cancel)."""
        lost = self._lost()
        if gone.why == "closed" or self._closed:
            self._reap(kill=True)
            self._stderr_tail()
            return "stopped: the lesson's database was closed", False
        ended = self._restart(kill=gone.why != "died")
        restarted = f"; your connection was restarted{lost}" if not self._closed else ""
        if gone.why == "time":
            return (
                f"interrupted: {what} ran past the time limit of {self.time_limit:g} s, so it was stopped{restarted}",
                True,
            )
        if gone.why == "cancel":
            return f"interrupted: cancelled; {what} did not stop, so it was ended{restarted}", True
        if ended == "memory":
            return f"stopped: {what} needed more than {in_megabytes(self.memory_limit)} of memory{restarted}", False
        if ended.startswith("SIG") or ended.startswith("signal"):
            return f"stopped: SQLite crashed on {what} ({ended}){restarted}", False
        cause = f" ({ended})" if ended else ""
        return f"stopped: the SQL process ended unexpectedly{cause}{restarted}", False

    # -- GuardedConnection's interface ---------------------------------------------------------------
    def run(self, script: str) -> RunResult:
        statements = split_statements(script)
        result = RunResult()
        self._cancelled.clear()
        started = time.perf_counter()
        for index, statement in enumerate(statements):
            one = self._run_one(statement, fresh=index == 0)
            result.statements.append(one)
            if not one.ok:
                result.not_run = len(statements) - index - 1
                break
        result.elapsed = time.perf_counter() - started
        return result

    def run_statement(self, statement: Statement) -> StatementResult:
        return self._run_one(statement, fresh=False)

    def _run_one(self, statement: Statement, *, fresh: bool) -> StatementResult:
        request = {
            "op": "run",
            "statement": {
                "number": statement.number,
                "sql": statement.sql,
                "offset": statement.offset,
                "line": statement.line,
                "column": statement.column,
            },
            "fresh": fresh,
            "cancel": self._cancelled.is_set(),
            "time_limit": self.time_limit,
        }
        with self._io:
            before = self._in_transaction
            started = time.perf_counter()
            try:
                answer = self._ask(request, self.time_limit + KILL_MARGIN)
            except _Gone as gone:
                message, stopped = self._gone_words(gone)
                out = StatementResult(statement, error=message, stopped=stopped)
                out.elapsed = time.perf_counter() - started
                out.in_transaction_before = before
                out.in_transaction_after = False
                self._in_transaction, self._scratch = False, 0
                out.where = _locate(statement, message)
                out.restarted = True
                return out
            if "memory" in answer:  # it could not even say what it ran out of memory on
                message, _ = self._gone_words(_Gone("died"))
                message = f"stopped: it needed more than {in_megabytes(self.memory_limit)} of memory" + (
                    message[message.index(";") :] if ";" in message else ""
                )
                out = StatementResult(statement, error=message, where=_locate(statement, message))
                out.in_transaction_before, out.in_transaction_after, out.restarted = before, False, True
                out.elapsed = time.perf_counter() - started
                return out
            self._note(answer.get("state"))
            if "failed" in answer:
                message = str(answer["failed"])
                out = StatementResult(statement, error=message, where=_locate(statement, message))
                out.in_transaction_before = out.in_transaction_after = self._in_transaction
                return out
            data = answer["result"]
            return StatementResult(
                statement,
                columns=list(data["columns"]),
                rows=decode_rows(data["rows"]),
                total_rows=int(data["total_rows"]),
                changes=int(data["changes"]),
                elapsed=float(data["elapsed"]),
                error=data["error"],
                where=data["where"],
                stopped=bool(data["stopped"]),
                in_transaction_before=bool(data["in_transaction_before"]),
                in_transaction_after=bool(data["in_transaction_after"]),
            )

    def _note(self, state: dict[str, Any] | None) -> None:
        if state:
            self._in_transaction = bool(state.get("in_transaction"))
            self._foreign_keys = bool(state.get("foreign_keys"))
            self._scratch = int(state.get("scratch") or 0)

    def cancel(self) -> None:
        """Stop the running statement (from any thread): SQLite stops at its next progress tick; a
        statement that does not stop within CANCEL_GRACE ends with its process."""
        self._cancelled.set()
        with self._owed_lock:
            if self._owed is not None:
                self._signal_cancel()
                self._owed = min(self._owed, time.monotonic() + CANCEL_GRACE)  # nobody may wait for it now

    def _signal_cancel(self) -> None:
        process = self._process
        if process is not None and self._ready:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGUSR1)

    @property
    def in_transaction(self) -> bool:
        return self._in_transaction

    @property
    def foreign_keys(self) -> bool:
        return self._foreign_keys

    def trial(self, statements: Sequence[str], savepoint: str) -> list[StatementResult]:
        """Run `statements` inside a savepoint that is rolled back afterwards (see SqlSandbox.trial):
        one result per statement; those after a statement that ended its process are not run."""
        out: list[StatementResult] = []
        with self._io:
            self._cancelled.clear()  # a Cancel pressed earlier was for the learner's own run
            opened = self._run_one(Statement(0, f"SAVEPOINT {savepoint}", 0, 1, 1), fresh=True)
            problem = None if opened.ok else opened.error
            try:
                for number, sql in enumerate(statements, start=1):
                    statement = Statement(number, sql, 0, 1, 1)
                    if problem is not None:
                        out.append(StatementResult(statement, error=f"not run: {problem}"))
                        continue
                    one = self.run_statement(statement)
                    out.append(one)
                    if one.restarted:  # the savepoint went with the process
                        problem = "an earlier statement of the trial ended its connection"
            finally:
                if opened.ok and not opened.restarted and self._in_transaction:
                    self.run_statement(Statement(0, f"ROLLBACK TO {savepoint}", 0, 1, 1))
                    self.run_statement(Statement(0, f"RELEASE {savepoint}", 0, 1, 1))
        return out

    @contextlib.contextmanager
    def set_aside(self, foreign_keys: bool = False) -> Iterator[None]:
        """Close the learner's connection (and the worker's read connections) while the database file is
        changed under them (a reset copying the step's data in), and open a new one afterwards, as a new
        connection: its open transaction rolled back, per-connection settings back to their defaults.
        A connection opened before the change would keep the old schema in its cache (SQLite then says
        "index ... already exists" for an index the reset removed). Statements wait meanwhile.
        `foreign_keys`: the setting the new connection starts with (a step's opening state may have had
        it on)."""
        self._cancelled.set()  # a statement still running (F4 during a long query) stops first
        with self._io:
            self._cancelled.clear()
            self._foreign_keys = False
            self._ask_or_restart({"op": "close"})
            try:
                yield
            finally:
                self._ask_or_restart({"op": "reopen", "foreign_keys": foreign_keys})
                self._foreign_keys = foreign_keys
                self._in_transaction, self._scratch = False, 0

    def _ask_or_restart(self, request: dict[str, Any]) -> None:
        try:
            self._note(self._ask(request, 5.0, cancellable=False).get("state"))
        except _Gone as gone:
            if gone.why != "closed":
                self._restart(kill=True)

    def query(
        self,
        path: str | Path,
        sql: str,
        *,
        immutable: bool = False,
        reverse_unordered: bool = False,
        max_rows: int = QUERY_MAX_ROWS,
        max_bytes: int = QUERY_MAX_BYTES,
    ) -> tuple[list[str], list[tuple[object, ...]]]:
        """Run a read-only query for a check on a read connection of the worker, to the file `path`
        (`immutable`: a file nobody writes, such as a template or a snapshot). Bounded like the
        learner's statements (time, memory), and by rows and data read back; a limit raises QueryLimit
        with the words for it, an SQL error sqlite3.OperationalError."""
        request = {
            "op": "query",
            "path": str(path),
            "immutable": immutable,
            "sql": sql,
            "reverse_unordered": reverse_unordered,
            "time_limit": self.time_limit,
            "max_rows": max_rows,
            "max_bytes": max_bytes,
        }
        with self._io:
            try:
                answer = self._ask(request, self.time_limit + KILL_MARGIN, cancellable=False)
            except _Gone as gone:
                message, _ = self._gone_words(gone)
                raise QueryLimit(message.removeprefix("interrupted: ").removeprefix("stopped: "), gone.why) from None
        if "memory" in answer:
            answer = {"limit": "memory"}
        limit = answer.get("limit")
        if limit == "rows":
            raise QueryLimit(
                f"it returns more than {max_rows:,} rows, more than a check reads back (a WHERE or a LIMIT "
                "makes it smaller)",
                "rows",
            )
        if limit == "bytes":
            raise QueryLimit(
                f"its rows hold more than {in_megabytes(max_bytes)} of data, more than a check reads back", "bytes"
            )
        if limit == "time":
            raise QueryLimit(f"it ran past the time limit of {self.time_limit:g} s, so it was stopped", "time")
        if limit == "memory":
            raise QueryLimit(
                f"it needed more than {in_megabytes(self.memory_limit)} of memory, so it was stopped", "memory"
            )
        if limit == "cancelled":
            raise QueryLimit("it was cancelled", "cancelled")
        if "error" in answer:
            raise sqlite3.OperationalError(str(answer["error"]))
        return list(answer["columns"]), decode_rows(answer["rows"])

    def close(self) -> None:
        """End the worker: at once when a statement is running, else after asking it to leave."""
        self._closed = True
        process = self._process
        if process is None:
            return
        if self._io.acquire(blocking=False):
            try:
                if self._process is not None and self._process.stdin is not None:
                    with contextlib.suppress(OSError):
                        write_frame(self._process.stdin.fileno(), {"op": "quit"})
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self._process.wait(timeout=0.5)
                self._reap(kill=True)
                self._stderr_tail()
            finally:
                self._io.release()
        else:  # a request is waiting on it: killing the worker ends that wait too
            with contextlib.suppress(ProcessLookupError):
                process.kill()

    def __del__(self) -> None:
        process = getattr(self, "_process", None)
        if process is not None and process.poll() is None:
            with contextlib.suppress(Exception):
                process.kill()
