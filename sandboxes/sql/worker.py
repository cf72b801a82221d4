"""The process the learner's SQL runs in: one guarded connection, and the checks' read connections.

Started only by `sandboxes.sql.process.LearnerProcess`:

    python -I -S -c BOOT ROOT PARENT_PID

It reads requests from stdin and answers on stdout, one frame each (a 4-byte length, then JSON). Before
any SQL runs it caps what the process may take, because inside one process nothing else can:

- address space (RLIMIT_AS, Linux) and SQLite's own heap (`sqlite3_hard_heap_limit64`, everywhere):
  a statement that needs more fails with "needed more than N MB" instead of growing the tutor;
- file size (RLIMIT_FSIZE): no file it writes (journal, sorter, temporary database) may pass the
  lesson database's own cap by much;
- time: SQLite's progress handler stops a statement at the lesson's limit (as in the tutor), and an
  alarm with no handler ends the whole process a little later, for the one SQLite function call that
  never reaches the progress handler (`printf('%.*c', 2e9, 'x')`). The tutor kills it before that.

Nothing outlives the tutor: Linux's parent-death signal, end of input on stdin, and the alarm.
Cancel is SIGUSR1: the handler runs in the progress handler's next tick and stops the statement.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import sqlite3
import struct
import sys
import time
from typing import Any
from urllib.parse import quote

HEADER = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024
"""The biggest answer the tutor reads (rows are capped well below it); anything bigger is a broken worker."""
ALARM_MARGIN = 2.0
"""Seconds past a request's own deadline at which the process ends itself (the tutor kills it sooner)."""
OUT_OF_MEMORY_EXIT = 86
"""Exit status when the process could not even say it ran out of memory."""


# -- frames --------------------------------------------------------------------------------------------
def encode_value(value: object) -> object:
    if isinstance(value, bytes):
        return {"b": base64.b64encode(value).decode("ascii")}
    return value


def decode_value(value: object) -> object:
    if isinstance(value, dict):
        return base64.b64decode(value["b"])
    return value


def encode_rows(rows: list[tuple[object, ...]]) -> list[list[object]]:
    return [[encode_value(v) for v in row] for row in rows]


def decode_rows(rows: list[list[object]]) -> list[tuple[object, ...]]:
    return [tuple(decode_value(v) for v in row) for row in rows]


def write_frame(fd: int, message: dict[str, Any]) -> None:
    data = json.dumps(message, separators=(",", ":")).encode()
    view = memoryview(HEADER.pack(len(data)) + data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_exactly(fd: int, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = os.read(fd, min(size - len(chunks), 1 << 20))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def read_frame(fd: int) -> dict[str, Any] | None:
    head = read_exactly(fd, HEADER.size)
    if head is None:
        return None
    (size,) = HEADER.unpack(head)
    if size > MAX_FRAME:
        raise ValueError(f"a frame of {size} bytes")
    body = read_exactly(fd, size)
    if body is None:
        return None
    message = json.loads(body)
    if not isinstance(message, dict):
        raise ValueError("a frame that is not an object")
    return message


# -- the worker --------------------------------------------------------------------------------------
class Worker:
    def __init__(self, config: dict[str, Any]) -> None:
        from sandboxes.sql.guard import GuardedConnection

        self.config = config
        self.learner: GuardedConnection | None = None
        self.readers: dict[tuple[str, bool], sqlite3.Connection] = {}
        self.cancelled = False

    # the learner's connection -------------------------------------------------------------------
    def connection(self) -> Any:
        if self.learner is None:
            from sandboxes.sql.guard import GuardedConnection

            config = self.config
            learner = GuardedConnection(
                config["path"],
                time_limit=config["time_limit"],
                max_rows=config["max_rows"],
                max_db_bytes=config["max_db_bytes"],
                memory_limit=config["memory_limit"],
            )
            if config.get("foreign_keys"):
                learner.conn.execute("PRAGMA foreign_keys = ON")
            self.learner = learner
        return self.learner

    def state(self) -> dict[str, Any]:
        learner = self.learner
        if learner is None:
            return {"in_transaction": False, "foreign_keys": bool(self.config.get("foreign_keys")), "scratch": 0}
        conn = learner.conn
        try:
            foreign_keys = bool(conn.execute("PRAGMA foreign_keys").fetchone()[0])
            temporary = conn.execute("SELECT count(*) FROM temp.sqlite_master").fetchone()[0]
            attached = len(conn.execute("PRAGMA database_list").fetchall()) - 2
        except (sqlite3.Error, MemoryError):
            foreign_keys, temporary, attached = bool(self.config.get("foreign_keys")), 0, 0
        return {
            "in_transaction": conn.in_transaction,
            "foreign_keys": foreign_keys,
            "scratch": int(temporary) + max(0, attached),
        }

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        from sandboxes.sql.guard import Statement

        statement = Statement(**request["statement"])
        if request.get("time_limit"):
            self.config["time_limit"] = float(request["time_limit"])
        try:
            learner = self.connection()
        except sqlite3.Error as exc:
            return {"failed": f"the lesson database could not be opened: {exc}", "state": self.state()}
        learner.time_limit = float(self.config["time_limit"])
        if request.get("fresh"):  # a new run: a Cancel meant for the last one is spent
            learner._cancelled.clear()
        if request.get("cancel"):  # Cancel came between two statements of this run
            learner._cancelled.set()
        one = learner.run_statement(statement)
        result = {
            "columns": one.columns,
            "rows": encode_rows(one.rows),
            "total_rows": one.total_rows,
            "changes": one.changes,
            "elapsed": one.elapsed,
            "error": one.error,
            "where": one.where,
            "stopped": one.stopped,
            "in_transaction_before": one.in_transaction_before,
            "in_transaction_after": one.in_transaction_after,
        }
        return {"result": result, "state": self.state()}

    def close(self) -> dict[str, Any]:
        """Close every connection (the learner's open transaction is rolled back): the file is about to
        change under them."""
        if self.learner is not None:
            self.learner.close()
            self.learner = None
        while self.readers:
            self.readers.popitem()[1].close()
        return {"state": self.state()}

    def reopen(self, request: dict[str, Any]) -> dict[str, Any]:
        """A new connection, opened now (its settings are the defaults, or `foreign_keys`)."""
        self.close()
        self.config["foreign_keys"] = bool(request.get("foreign_keys", False))
        self.connection()
        return {"state": self.state()}

    # the checks' read connections ---------------------------------------------------------------
    def reader(self, path: str, immutable: bool) -> sqlite3.Connection:
        key = (path, immutable)
        conn = self.readers.get(key)
        if conn is None:
            from sandboxes.sql.guard import LEARNER_LIMITS, authorizer

            while len(self.readers) >= 3:
                oldest = next(iter(self.readers))
                self.readers.pop(oldest).close()
            uri = f"file:{quote(path)}?mode=ro" + ("&immutable=1" if immutable else "")
            conn = sqlite3.connect(uri, uri=True, isolation_level=None)
            for category, limit in LEARNER_LIMITS.items():
                conn.setlimit(category, limit)
            conn.set_authorizer(authorizer("tutor"))
            self.readers[key] = conn
        return conn

    def query(self, request: dict[str, Any]) -> dict[str, Any]:
        conn = self.reader(request["path"], bool(request.get("immutable")))
        deadline = time.monotonic() + float(request["time_limit"])
        self.cancelled = False
        stopped: list[str] = []

        def tick() -> int:
            if self.cancelled:
                stopped.append("cancelled")
                return 1
            if time.monotonic() > deadline:
                stopped.append("time")
                return 1
            return 0

        max_rows, max_bytes = int(request["max_rows"]), int(request["max_bytes"])
        conn.set_progress_handler(tick, 20_000)
        reverse = bool(request.get("reverse_unordered"))
        rows: list[tuple[object, ...]] = []
        try:
            if reverse:
                conn.execute("PRAGMA reverse_unordered_selects = ON")
            cursor = conn.execute(request["sql"])
            columns = [d[0] for d in cursor.description or ()]
            size = 0
            chunk = 1  # grows once the rows' size is known: a few big values never arrive at once
            while batch := cursor.fetchmany(chunk):
                rows.extend(batch)
                size += sum(16 + sum(len(v) if isinstance(v, str | bytes) else 8 for v in row) for row in batch)
                chunk = max(1, min(500, (max_bytes // 4) // max(1, size // len(rows))))
                if len(rows) > max_rows:
                    cursor.close()
                    return {"limit": "rows"}
                if size > max_bytes:
                    cursor.close()
                    return {"limit": "bytes"}
            return {"columns": columns, "rows": encode_rows(rows)}
        except MemoryError:
            rows.clear()
            return {"limit": "memory"}
        except sqlite3.Error as exc:
            if stopped and "interrupt" in str(exc):
                return {"limit": stopped[0]}
            return {"error": str(exc)}
        finally:
            conn.set_progress_handler(None, 0)
            if reverse:
                conn.execute("PRAGMA reverse_unordered_selects = OFF")

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        deadline = float(request.get("deadline", 0) or 0)
        if deadline:
            signal.setitimer(signal.ITIMER_REAL, deadline + ALARM_MARGIN)
        try:
            if op == "run":
                return self.run(request)
            if op == "query":
                return self.query(request)
            if op == "reopen":
                return self.reopen(request)
            if op == "close":
                return self.close()
            if op == "ping":
                return {"state": self.state()}
            return {"failed": f"unknown request {op!r}"}
        finally:
            if deadline:
                signal.setitimer(signal.ITIMER_REAL, 0)

    def cancel(self, *_args: object) -> None:
        self.cancelled = True
        if self.learner is not None:
            self.learner._cancelled.set()


def _vm_size() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _cap(config: dict[str, Any]) -> None:
    """What the process may take, set once before any learner SQL runs."""
    import resource

    memory = int(config["memory_limit"])
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute(f"PRAGMA hard_heap_limit = {memory}")  # SQLite's own allocations, on every platform
    finally:
        probe.close()
    base = _vm_size()
    if base and sys.platform.startswith("linux"):
        # the interpreter as it stands, plus the statement's allowance, plus room to say what happened
        limit = base + memory + 64 * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    files = int(config["file_limit"])
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_FSIZE, (files, files))


def _arm_parent_death(parent: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the tutor died before the signal was armed
        os._exit(0)


def main() -> None:
    parent = int(sys.argv[2])
    worker: Worker | None = None
    signal.signal(signal.SIGUSR1, lambda *_: worker.cancel() if worker is not None else None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in the tutor's terminal is the tutor's
    _arm_parent_death(parent)
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    try:
        config = read_frame(stdin)
        if config is None:
            return
        _cap(config)
        worker = Worker(config)
        # Opening it rolls back a journal a killed predecessor left. When the file is locked for a
        # moment (a reset copying the database in), it opens with the first statement instead.
        with contextlib.suppress(sqlite3.Error):
            worker.connection()
        write_frame(stdout, {"ready": True, "pid": os.getpid()})
        while True:
            request = read_frame(stdin)
            if request is None or request.get("op") == "quit":
                return
            try:
                answer = worker.handle(request)
            except MemoryError:
                answer = {"memory": True}
            write_frame(stdout, answer)
    except MemoryError:
        os._exit(OUT_OF_MEMORY_EXIT)
    except (BrokenPipeError, KeyboardInterrupt):
        os._exit(0)


BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from sandboxes.sql.worker import main; main()"
"""What `python -I -S -c` runs: the tutor's own folder first, nothing from the environment."""
