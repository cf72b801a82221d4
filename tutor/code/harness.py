"""What runs inside the child process of a build-it step. Started only by `tutor.code.runner`.

    python -m tutor.code.harness app   --workspace DIR --module app --status-fd N --watch-fd M --listen-fd K
    python -m tutor.code.harness tests --workspace DIR --status-fd N --watch-fd M TEST_FILE

Before any learner code runs the process forks (`tutor.code.contain`): the parent stays behind as a
supervisor that runs none of the learner's code (the subreaper of everything it starts, the keeper of
the memory and output caps, the one that ends it all when the tutor closes the watch pipe or dies); the
child, with its memory and file-size limits set, goes on below.

`app` mode imports the learner's module, reports a syntax or import error with the learner's file and
line, and serves the module's `app` with uvicorn on the listening socket the tutor passed in (bound to
127.0.0.1 by the tutor), as `uvicorn app:app` would: the ASGI lifespan runs, so FastAPI's `lifespan=`
and `@app.on_event("startup")` code runs before the first request. The run is ended by a kill, so
shutdown code runs only when a `code_http` step sends SIGTERM (`shutdown:`): then, as under uvicorn, the
server stops accepting, lets the requests in flight finish, and runs the lifespan shutdown. A module
that starts a server of its own while it is imported (`uvicorn.run(...)` at the top level) is stopped
there and told so. Every `sqlite3` connection the learner opens is traced: for
each request that carries the tutor's probe header, the statements it ran and the tables each one read
in full (`EXPLAIN QUERY PLAN`, parsed by `sandboxes.sql.plan`) go back to the tutor on the status pipe,
one JSON line, before the response's last byte, so the tutor reads them together with the response.

`tests` mode runs pytest on the pack's test file and reports the first failure as one JSON line;
`own-tests` mode runs the learner's own test files and reports how each test ended (`tutor.code.own_tests`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from tutor.code import contain

PROBE_HEADER = b"x-backend-tutor-probe"
IN_FLIGHT_HEADER = b"x-backend-tutor-in-flight"
"""A request of a `code_http` shutdown step: the harness says when it reaches the app (`arrived`), so the
tutor stops the app only once every one of them is in flight."""
DB_ENV = "BACKEND_TUTOR_DB"
VM_TICK = 10
"""SQLite VM instructions between two calls of the progress handler: the grain of a request's `vm_steps`."""
_TX = ("BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA")

_status_lock = threading.Lock()
_status_fd = -1


def send(event: dict[str, Any]) -> None:
    data = (json.dumps(event, default=str) + "\n").encode()
    with _status_lock:
        try:
            while data:
                written = os.write(_status_fd, data)
                data = data[written:]
        except OSError:
            pass


def learner_frame(tb: Any, workspace: Path) -> dict[str, Any] | None:
    """The innermost frame of the traceback that is in one of the learner's files."""
    found = None
    for frame in traceback.extract_tb(tb):
        try:
            path = Path(frame.filename).resolve()
        except OSError:
            continue
        if path.is_relative_to(workspace):
            found = {"file": path.relative_to(workspace).as_posix(), "line": frame.lineno, "code": frame.line or ""}
    return found


class StartsOwnServer(BaseException):
    """The learner's module called uvicorn.run (or Server.run) while it was being imported."""


def describe_exception(exc: BaseException, workspace: Path) -> dict[str, Any]:
    limit = contain.is_limit_error(exc)
    if limit is not None:
        where = learner_frame(exc.__traceback__, workspace) or {}
        return {"type": "limit", "what": limit, "message": f"{type(exc).__name__}: {exc}"[:500], **where}
    if isinstance(exc, StartsOwnServer):
        where = learner_frame(exc.__traceback__, workspace) or {}
        return {"type": "own_server", "message": str(exc), **where}
    if isinstance(exc, SyntaxError) and exc.filename:
        path = Path(exc.filename).resolve()
        rel = path.relative_to(workspace).as_posix() if path.is_relative_to(workspace) else exc.filename
        return {
            "type": "syntax",
            "message": f"{type(exc).__name__}: {exc.msg}",
            "file": rel,
            "line": exc.lineno,
            "col": exc.offset,
            "code": (exc.text or "").rstrip("\n"),
        }
    where = learner_frame(exc.__traceback__, workspace) or {}
    return {"type": "exception", "message": f"{type(exc).__name__}: {exc}"[:500], **where}


# -- SQL tracing -------------------------------------------------------------------------------------
class Tracer:
    def __init__(self) -> None:
        self.current: list[str] | None = None
        self.lock = threading.Lock()
        self.ticks = 0
        """Progress-handler calls (one per VM_TICK SQLite VM instructions) while a probed request runs."""

    def record(self, statement: str) -> None:
        with self.lock:
            if self.current is not None and not statement.lstrip().upper().startswith(_TX):
                self.current.append(statement)

    def tick(self) -> int:
        if self.current is not None:  # a plain int add: racing threads can lose a tick, never raise
            self.ticks += 1
        return 0  # 0: go on (non-zero would interrupt the statement)

    def install(self) -> None:
        import sqlite3

        original = sqlite3.connect
        tracer = self

        def connect(*args: Any, **kwargs: Any) -> Any:
            connection = original(*args, **kwargs)
            # Rows a query without ORDER BY returns come in whatever order the plan walks; turned around,
            # code that relies on that luck shows it (as `sql_result` with `ordered` does for SQL).
            with contextlib.suppress(sqlite3.Error):
                connection.execute("PRAGMA reverse_unordered_selects = ON")
            connection.set_trace_callback(tracer.record)
            # The work a request makes SQLite do, whatever the SQL looks like: reading every row and
            # slicing in Python costs as many VM steps as it reads, where LIMIT stops early.
            connection.set_progress_handler(tracer.tick, VM_TICK)
            return connection

        connect.__doc__ = original.__doc__
        sqlite3.connect = connect
        self.original_connect = original


def full_scans(statements: list[str], connect: Any) -> list[list[str]]:
    """For each statement, the tables its plan reads whole (empty when it is not a query)."""
    database = os.environ.get(DB_ENV)
    if not database or not statements:
        return [[] for _ in statements]
    from sandboxes.sql.plan import explain

    out: list[list[str]] = []
    connection = connect(f"file:{database}?mode=ro", uri=True)
    try:
        for sql in statements:
            head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
            if head not in ("SELECT", "WITH", "UPDATE", "DELETE"):
                out.append([])
                continue
            try:
                plan = explain(connection, sql)
                scanned = {step.table or step.name for step in plan.full_scans()}
                out.append(sorted(name for name in scanned if name))
            except Exception:
                out.append([])
    finally:
        connection.close()
    return out


def wrap(app: Any, tracer: Tracer, workspace: Path) -> Any:
    async def traced(scope: dict[str, Any], receive: Any, send_message: Any) -> None:
        if scope.get("type") == "lifespan":
            said: list[str] = []

            async def lifespan_send(message: dict[str, Any]) -> None:
                said.append(str(message.get("type")))
                await send_message(message)

            try:
                await app(scope, receive, lifespan_send)
            except BaseException as exc:
                # Starlette says startup.failed, then raises: the learner's start-up code failed. An app
                # that raises before saying anything does not speak lifespan, and uvicorn serves it anyway.
                if "lifespan.startup.failed" in said:
                    send({"event": "error", "phase": "startup", **describe_exception(exc, workspace)})
                raise
            return
        probe = None
        if scope.get("type") == "http":
            for name, value in scope.get("headers", []):
                if name == PROBE_HEADER:
                    probe = value.decode("latin-1")
                elif name == IN_FLIGHT_HEADER:
                    send({"event": "arrived", "request": value.decode("latin-1")})
        if probe is None:
            await app(scope, receive, send_message)
            return
        statements: list[str] = []
        reported = False
        with tracer.lock:
            tracer.current = statements
            tracer.ticks = 0

        def report(error: dict[str, Any] | None = None) -> None:
            nonlocal reported
            if reported:
                return
            reported = True
            with tracer.lock:
                tracer.current = None
                vm_steps = tracer.ticks * VM_TICK
            scans = full_scans(statements, tracer.original_connect)
            send(
                {
                    "event": "flow",
                    "probe": probe,
                    "statements": [{"sql": s, "full_scans": f} for s, f in zip(statements, scans, strict=True)],
                    "vm_steps": vm_steps,
                    "error": error,
                }
            )

        status = 0

        async def watched_send(message: dict[str, Any]) -> None:
            nonlocal status
            if message.get("type") == "http.response.start":
                status = int(message.get("status", 0))
            # A 500 is reported once the app has raised (Starlette sends it first, then re-raises), so
            # the report can name the learner's line; anything else before its last byte goes out.
            if message.get("type") == "http.response.body" and not message.get("more_body") and status < 500:
                report()
            await send_message(message)

        try:
            await app(scope, receive, watched_send)
        except BaseException as exc:
            report(describe_exception(exc, workspace))
            raise
        report()

    return traced


# -- modes -------------------------------------------------------------------------------------------
@contextlib.contextmanager
def no_own_server(workspace: Path) -> Any:
    """While the learner's module is imported, `uvicorn.run` (and `uvicorn.Server.run`) raise
    StartsOwnServer instead of serving: the tutor serves the app itself, and a server started at the
    top level of the module would never return. Only when the learner's files name uvicorn at all, so a
    module that does not pays nothing for the check."""
    try:
        mentions = any("uvicorn" in path.read_text(errors="replace") for path in workspace.rglob("*.py"))
    except OSError:
        mentions = False
    if not mentions:
        yield
        return
    try:
        import uvicorn
    except ImportError:
        yield
        return

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise StartsOwnServer("uvicorn.run")

    run, server_run = uvicorn.run, uvicorn.Server.run
    uvicorn.run = refuse
    setattr(uvicorn.Server, "run", refuse)  # noqa: B010 (a method replaced for the import only)
    try:
        yield
    finally:
        uvicorn.run = run
        setattr(uvicorn.Server, "run", server_run)  # noqa: B010


def graceful_on_sigterm(server: Any) -> None:
    """On SIGTERM the server stops accepting, lets the requests in flight finish, and runs the app's
    lifespan shutdown, as uvicorn does when it serves `uvicorn app:app`. uvicorn imports the app first
    and then installs its own handler, so a handler the learner's module installed while it was imported
    is set aside while the app serves (it gets the signal back afterwards: `end_as_signalled`); one the
    app installs later, in its start-up code, replaces the server's, as it would under uvicorn."""
    import signal

    def stop(_signum: int, _frame: Any) -> None:
        server.should_exit = True
        server.stopped_by_sigterm = True

    if not hasattr(server, "sigterm_before"):  # installed once, even if uvicorn asks twice
        server.sigterm_before = signal.signal(signal.SIGTERM, stop)


def end_as_signalled(server: Any) -> None:
    """After a graceful stop on SIGTERM, give the signal back to the handler that was there before the
    server's (the one the module installed while imported, or none), as uvicorn does once it has
    served: with none, the process ends by the signal and `atexit` functions do not run, so code that
    saves its work there is seen to lose it."""
    import signal

    before = getattr(server, "sigterm_before", signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL if before is None else before)
    if getattr(server, "stopped_by_sigterm", False):
        sys.stdout.flush()
        sys.stderr.flush()
        signal.raise_signal(signal.SIGTERM)


def run_app(args: argparse.Namespace, workspace: Path) -> int:
    import importlib
    import signal
    import socket

    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # whatever the tutor's own was: the app's code decides
    tracer = Tracer()
    tracer.install()
    if args.go_fd >= 0:
        # A spare, started ahead of the learner's next save: load the server stack now, then wait for
        # the word. End-of-file instead means the spare is not needed.
        for name in ("uvicorn", "fastapi", "starlette.applications", "pydantic"):
            with contextlib.suppress(Exception):
                importlib.import_module(name)
        if not os.read(args.go_fd, 1):
            return 0
    try:
        with no_own_server(workspace):
            module = importlib.import_module(args.module)
    except BaseException as exc:  # SystemExit too: a module that exits while imported is an error
        send({"event": "error", **describe_exception(exc, workspace)})
        return 3
    app = getattr(module, "app", None)
    if app is None or not callable(app):
        send({"event": "error", "type": "no_app", "message": f"{args.module}.py has no `app`"})
        return 3
    send({"event": "imported"})
    import uvicorn

    class Server(uvicorn.Server):
        """SIGTERM shuts down gracefully, as under `uvicorn app:app` (a `code_http` step with `shutdown`
        sends it); other signals are left alone. The supervisor's own stop is a kill, never SIGTERM."""

        def install_signal_handlers(self) -> None:  # older uvicorn
            graceful_on_sigterm(self)

        @contextlib.contextmanager
        def capture_signals(self) -> Any:  # newer uvicorn
            graceful_on_sigterm(self)
            yield

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                send({"event": "ready", "pid": os.getpid()})

    # lifespan "auto", as `uvicorn app:app` runs it: start-up code runs; an app without a lifespan is fine
    config = uvicorn.Config(wrap(app, tracer, workspace), log_level="warning", access_log=False, lifespan="auto")
    server = Server(config)
    sock = socket.socket(fileno=args.listen_fd)
    server.run(sockets=[sock])
    end_as_signalled(server)
    return 0


class FirstFailure:
    """A pytest plugin: remembers the first failing test, in words a learner reads."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self.first: dict[str, Any] | None = None
        self.passed = 0
        self.failed = 0
        self.docs: dict[str, str] = {}

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.passed and report.when == "call":
            self.passed += 1
        if not report.failed:
            return
        self.failed += 1
        if self.first is not None:
            return
        crash = getattr(report.longrepr, "reprcrash", None)
        message = crash.message if crash is not None else str(report.longrepr).strip().splitlines()[-1:]
        where: dict[str, Any] = {}
        entries = getattr(getattr(report.longrepr, "reprtraceback", None), "reprentries", [])
        for entry in entries:
            location = getattr(entry, "reprfileloc", None)
            if location is None:
                continue
            path = Path(location.path)
            path = (self.workspace / path) if not path.is_absolute() else path
            if path.resolve().is_relative_to(self.workspace):
                where = {"file": path.resolve().relative_to(self.workspace).as_posix(), "line": location.lineno}
        limit = None
        text = message if isinstance(message, str) else " ".join(message)
        if text.startswith("MemoryError"):
            limit = "memory"
        elif "[Errno 27]" in text:  # EFBIG: File too large
            limit = "file"
        self.first = {
            "limit": limit,
            "test": report.nodeid.split("::")[-1],
            "when": report.when,
            "message": message if isinstance(message, str) else " ".join(message),
            "doc": self.docs.get(report.nodeid, ""),
            **where,
        }

    def pytest_collection_modifyitems(self, items: list[Any]) -> None:
        for item in items:
            doc = getattr(getattr(item, "function", None), "__doc__", None) or ""
            self.docs[item.nodeid] = " ".join(doc.split())


def run_tests(args: argparse.Namespace, workspace: Path) -> int:
    import importlib
    import os

    # Only pytest's own plugins: whatever else is installed beside the tutor (a dev checkout has
    # schemathesis and hypothesis) took 1.5 s of a 3 s check to load, and would make a pack's tests
    # behave differently from one machine to the next. A test file may still name one it needs.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    import pytest

    plugin = FirstFailure(workspace)
    tracer = Tracer()
    tracer.install()
    try:  # the learner's module first, so a syntax or import error names their file and line
        with no_own_server(workspace):
            importlib.import_module(args.module)
    except BaseException as exc:
        send({"event": "error", **describe_exception(exc, workspace)})
        return 3
    code = pytest.main(
        [
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
            "--no-header",
            "--tb=short",
            "-o",
            "console_output_style=classic",
            *args.tests,
        ],
        plugins=[plugin],
    )
    send(
        {
            "event": "tests",
            "exit": int(code),
            "passed": plugin.passed,
            "failed": plugin.failed,
            "first": plugin.first,
        }
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutor.code.harness")
    parser.add_argument("mode", choices=["app", "tests", "own-tests"])
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--module", default="app")
    parser.add_argument("--status-fd", type=int, required=True)
    parser.add_argument("--watch-fd", type=int, required=True)
    parser.add_argument("--listen-fd", type=int, default=-1)
    parser.add_argument("--go-fd", type=int, default=-1)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--memory-mb", type=int, default=1024)
    parser.add_argument("--file-mb", type=int, default=256)
    parser.add_argument("--output-mb", type=int, default=10)
    parser.add_argument("tests", nargs="*")
    args = parser.parse_intermixed_args(argv)
    global _status_fd
    _status_fd = args.status_fd
    contain.supervise(
        status_fd=args.status_fd,
        watch_fd=args.watch_fd,
        parent=args.parent,
        close_in_supervisor=[fd for fd in (args.listen_fd, args.go_fd) if fd >= 0],
        memory_mb=args.memory_mb,
        file_mb=args.file_mb,
        output_mb=args.output_mb,
    )
    # from here on: the worker, whose parent is the supervisor
    workspace = Path(args.workspace).resolve()
    os.chdir(workspace)
    sys.path.insert(0, str(workspace))
    sys.dont_write_bytecode = True  # no __pycache__ in the learner's folder
    if args.mode == "app":
        return run_app(args, workspace)
    if args.mode == "own-tests":  # the learner's own tests against the pack's app (tutor.code.own_tests)
        from tutor.code.own_tests import run_in_child

        return run_in_child(args, workspace, send)
    return run_tests(args, workspace)


if __name__ == "__main__":
    sys.exit(main())
