"""Run the learner's code out of process, so that nothing it does can hang or kill the tutor.

    with LearnerApp.start(workspace, module="app", database=copy) as app:   # raises CodeProblem
        response, flow = app.request("GET", "/books?limit=2")

    outcome = run_tests(workspace, [test_file], database=copy)             # raises CodeProblem

Every child is started by `python -m tutor.code.harness` with `start_new_session=True` (its own process
group), a pipe it watches for the tutor's death, and Linux's parent-death signal. Linux sends that signal
when the *thread* that forked the child ends, so every child is forked from one long-lived launcher
thread, never from a short-lived worker. The listening socket is bound to 127.0.0.1 on a free port by the
tutor itself and passed to the child, so there is no race for the port and it is never 0.0.0.0.

The child is a supervisor (`tutor.code.contain`) that forks the process running the learner's code and
is the subreaper of everything that code starts. Stopping closes the watch pipe: the supervisor kills
its whole tree (a double-forked `setsid` daemon included: it came back to the supervisor when its parent
exited) and exits. Should the supervisor itself not answer, the tutor kills its process group and every
descendant it can see. The learner's code never sees the tutor's home: BACKEND_TUTOR_HOME points at an
empty throwaway folder (`child_environment` sets other values, as `pack test` does for HOME).

Caps, each reported in its own words: MEMORY_MB of memory (RLIMIT_DATA per process, and the whole
tree's resident memory on Linux), FILE_MB for any one file written (RLIMIT_FSIZE), OUTPUT_MB printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutor.code.harness import DB_ENV, PROBE_HEADER

START_TIMEOUT = 10.0
REQUEST_TIMEOUT = 5.0
TESTS_TIMEOUT = 30.0
OUTPUT_TAIL = 1500
REQUEST_ID = "x-request-id"
"""Every request the checker sends the learner's app carries one (`code_http` can ask that the app logs it)."""
MEMORY_MB = 1024
FILE_MB = 256
OUTPUT_MB = 10
STOP_TIMEOUT = 3.0  # for the supervisor to end its tree; then the tutor kills what it can see

_overrides: dict[str, str] = {}
_scratch_home: Path | None = None


@contextlib.contextmanager
def child_environment(**values: str) -> Any:
    """Environment values for every child started inside the block (`pack test` gives its throwaway
    home as BACKEND_TUTOR_HOME and HOME)."""
    before = dict(_overrides)
    _overrides.update(values)
    try:
        yield
    finally:
        _overrides.clear()
        _overrides.update(before)


def _child_home() -> str:
    """An empty folder, the same for every child of this tutor, removed when it exits: what the
    learner's code (and a pack's tests) see as BACKEND_TUTOR_HOME instead of the learner's own."""
    global _scratch_home
    if _scratch_home is None or not _scratch_home.is_dir():
        import atexit
        import shutil

        _scratch_home = Path(tempfile.mkdtemp(prefix="backend-tutor-child-home-"))
        atexit.register(shutil.rmtree, _scratch_home, True)
    return str(_scratch_home)


# When learner code ran in each workspace: (started, ended or None while it runs). A file the app wrote
# changes inside such a window, which is how `tutor.code.watch` tells it from a save of the learner's.
_runs: dict[str, list[list[float | None]]] = {}
_runs_lock = threading.Lock()


def _run_started(workspace: Path) -> list[float | None]:
    window: list[float | None] = [time.time(), None]
    with _runs_lock:
        windows = _runs.setdefault(str(workspace.resolve()), [])
        windows.append(window)
        del windows[:-20]
    return window


def written_by_app(workspace: Path, mtime: float, slack: float = 0.05) -> bool:
    """Whether a file changed at `mtime` changed while learner code ran in `workspace`."""
    with _runs_lock:
        windows = list(_runs.get(str(workspace.resolve()), []))
    now = time.time()
    for started, ended in windows:
        assert started is not None
        if started - slack <= mtime <= (ended if ended is not None else now) + slack:
            return True
    return False


_launcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tutor-code-launcher")


class CodeProblem(Exception):
    """The learner's code could not be run or did something a program must not: in plain words."""

    def __init__(
        self, summary: str, *details: str, file: str | None = None, line: int | None = None, loaded: bool = True
    ) -> None:
        super().__init__(summary)
        self.summary = summary
        self.details = tuple(d for d in details if d)
        self.file = file
        self.line = line
        self.loaded = loaded
        """False when the code never loaded (it does not parse or import, or has no app): a check that
        stops here judged nothing about what the code does."""


@dataclass
class Flow:
    """What one request did to the database, as the harness saw it."""

    statements: list[str] = field(default_factory=list)
    full_scans: list[list[str]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    vm_steps: int = 0
    """SQLite VM instructions the request's statements ran (to the harness's grain, VM_TICK)."""

    @property
    def scanned_tables(self) -> list[str]:
        return sorted({t for tables in self.full_scans for t in tables})


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid` (from /proc, or `ps` where there is none)."""
    from tutor.code.contain import descendants as tree

    return tree(pid)


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _where(event: dict[str, Any]) -> str:
    if not event.get("file"):
        return ""
    text = f"{event['file']}:{event.get('line') or '?'}"
    if event.get("col"):
        text += f":{event['col']}"
    return text


def limit_problem(what: str, mb: int, doing: str, where: str = "") -> CodeProblem:
    """A cap the run went past, in words: what, how much, and while doing what."""
    at = f" (at {where})" if where else ""
    if what == "memory":
        return CodeProblem(
            f"Your app used more than {mb} MB of memory while {doing}{at}.",
            "The tutor stopped it. Something holds too much at once: a huge list or string, or every row of "
            "a big table read into Python. Let SQL do the counting, or read in pages.",
        )
    if what == "file":
        return CodeProblem(
            f"Your app wrote more than {mb} MB into one file while {doing}{at}.",
            "The tutor stops a file at that size. This step needs answers to its requests, not big files.",
        )
    return CodeProblem(
        f"Your app printed more than {mb} MB while {doing}.",
        "The tutor stopped it. Print less: a line per request is plenty.",
    )


def describe_error(event: dict[str, Any], doing: str) -> CodeProblem:
    where = _where(event)
    code = (event.get("code") or "").strip()
    shown = f"    {code}" if code else ""
    if event.get("phase") == "startup":
        doing = "your app was starting (its lifespan or start-up code)"
    if event.get("type") == "limit":
        mb = {"memory": MEMORY_MB, "file": FILE_MB}.get(event.get("what", ""), OUTPUT_MB)
        problem = limit_problem(event.get("what", "memory"), mb, doing, where)
        return CodeProblem(problem.summary, shown, *problem.details, file=event.get("file"), line=event.get("line"))
    if event.get("type") == "own_server":
        at = f" at {where}" if where else ""
        return CodeProblem(
            f"Your module starts a server of its own{at} (uvicorn.run) while it is imported.",
            shown,
            "The tutor starts your app itself, so that call never returns here. Put it under "
            '`if __name__ == "__main__":` so it runs only when you start the file with `python app.py`.',
            file=event.get("file"),
            line=event.get("line"),
        )
    if event.get("type") == "syntax":
        return CodeProblem(
            f"Python could not read your code: {event['message']} at {where}.",
            shown,
            "Fix that line and save; the check runs again.",
            file=event.get("file"),
            line=event.get("line"),
            loaded=False,
        )
    if event.get("type") == "no_app":
        return CodeProblem(
            f"{event['message']}: the tutor serves the ASGI application your module names `app` "
            "(app = FastAPI() at the top level of the file).",
            loaded=False,
        )
    at = f" at {where}" if where else ""
    return CodeProblem(
        f"Your code raised {event['message']}{at} while {doing}.",
        shown,
        file=event.get("file"),
        line=event.get("line"),
        loaded=doing != "your module was imported",
    )


class _Child:
    """One child process running the harness, with its status pipe, watchdog pipe and output file."""

    def __init__(
        self, mode: str, workspace: Path, extra: list[str], env: dict[str, str], listen: int = -1, spare: bool = False
    ) -> None:
        self.workspace = workspace
        self._go_write = -1
        go_read = -1
        if spare:
            go_read, self._go_write = os.pipe()
            os.set_inheritable(self._go_write, False)
            extra = [*extra, "--go-fd", str(go_read)]
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        status_read, status_write = os.pipe()
        self._watch_read, self._watch_write = os.pipe()  # the tutor never writes: EOF means it died
        self.output = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        os.set_inheritable(self._watch_write, False)
        os.set_inheritable(status_read, False)
        command = [
            sys.executable,
            "-m",
            "tutor.code.harness",
            mode,
            "--workspace",
            str(workspace),
            "--status-fd",
            str(status_write),
            "--watch-fd",
            str(self._watch_read),
            "--listen-fd",
            str(listen),
            "--parent",
            str(os.getpid()),
            "--memory-mb",
            str(MEMORY_MB),
            "--file-mb",
            str(FILE_MB),
            "--output-mb",
            str(OUTPUT_MB),
            *extra,
        ]
        child_env = {
            **os.environ,
            "BACKEND_TUTOR_HOME": _child_home(),
            **_overrides,
            **env,
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
        }
        # the harness itself must import (from this checkout or the installed tutor), the learner's folder first
        tutor_root = str(Path(__file__).resolve().parents[2])
        child_env["PYTHONPATH"] = os.pathsep.join([str(workspace), tutor_root])
        fds = [status_write, self._watch_read] + ([listen] if listen >= 0 else []) + ([go_read] if spare else [])

        def spawn() -> subprocess.Popen[bytes]:
            return subprocess.Popen(  # noqa: S603 (our harness, a list of arguments, no shell)
                command,
                cwd=workspace,
                env=child_env,
                stdin=subprocess.DEVNULL,
                stdout=self.output,
                stderr=subprocess.STDOUT,
                pass_fds=fds,
                start_new_session=True,
            )

        try:
            self.process = _launcher.submit(spawn).result()
        finally:
            os.close(status_write)
            os.close(self._watch_read)
            if go_read >= 0:
                os.close(go_read)
        self.imported = False  # the learner's module was imported (what remains is its start-up code)
        self.worker_pid: int | None = None  # the process that serves the app (the supervisor's child)
        self.limit: dict[str, Any] | None = None  # a cap the supervisor stopped the run for
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read_status, args=(status_read,), daemon=True)
        self._reader.start()
        self.stopped = False

    def _read_status(self, fd: int) -> None:
        buffer = b""
        with os.fdopen(fd, "rb", buffering=0) as pipe:
            while True:
                chunk = pipe.read(65536)
                if not chunk:
                    break
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    with contextlib.suppress(ValueError):
                        event = json.loads(line)
                        if event.get("event") == "imported":
                            self.imported = True
                        elif event.get("event") == "ready":
                            self.worker_pid = event.get("pid")
                        elif event.get("event") == "limit":
                            self.limit = event
                        self.events.put(event)
        self.events.put({"event": "closed"})
        self._closed.set()

    def ended_by_limit(self, timeout: float = 2.0) -> dict[str, Any] | None:
        """After the child went quiet: the cap it was stopped for, if any (waits for the status pipe to
        close, so a report sent just before the stop is not missed)."""
        if self.limit is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
            self._closed.wait(timeout=0.5 if self.process.poll() is not None else 0)
        return self.limit

    def go(self) -> None:
        """A spare: import the learner's module and serve it, now."""
        if self._go_write >= 0:
            with contextlib.suppress(OSError):
                os.write(self._go_write, b"g")
            os.close(self._go_write)
            self._go_write = -1

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_event(self, names: set[str], timeout: float) -> dict[str, Any] | None:
        """The next event named in `names` (or an error); None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                event = self.events.get(timeout=min(left, 0.2))
            except queue.Empty:
                continue
            if event.get("event") in names or event.get("event") in ("error", "closed"):
                return event

    def exit_words(self) -> str:
        code = self.process.poll()
        if code is None:
            return "it is still running"
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"it was killed by signal {signal.Signals(-code).name}"
            return f"it was killed by signal {-code}"
        return f"it exited with status {code}"

    def output_size(self) -> int:
        return os.fstat(self.output.fileno()).st_size

    def output_from(self, start: int, limit: int = 1024 * 1024) -> bytes:
        """What the child printed (stdout and stderr) from byte `start` on, at most `limit` bytes."""
        return os.pread(self.output.fileno(), limit, start)

    def output_tail(self) -> str:
        self.output.seek(0, os.SEEK_END)
        size = self.output.tell()
        self.output.seek(max(0, size - OUTPUT_TAIL))
        return self.output.read().decode("utf-8", "replace").strip()

    def stop(self) -> None:
        """End the run: the supervisor kills its whole tree when the watch pipe closes, and exits. If it
        does not within STOP_TIMEOUT, kill its process group and every descendant in sight. Reaps the
        child. Safe to call twice."""
        if self.stopped:
            return
        self.stopped = True
        if self._go_write >= 0:
            os.close(self._go_write)
            self._go_write = -1
        os.close(self._watch_write)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            others = descendants(self.pid)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
            for pid in others:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
        self.output.close()


_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
"""Methods a client may send again after a connection failed before any answer (RFC 9110 §9.2.2)."""


class LearnerApp:
    """The learner's ASGI app, served by the harness in a child process on 127.0.0.1."""

    def __init__(self, child: _Child, port: int) -> None:
        self.child = child
        self._window: list[float | None] | None = None
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self._probe = 0
        self._client: Any = None
        self._last_status = 0
        self.spawned: dict[str, Any] = {}

    @classmethod
    def spawn(
        cls,
        workspace: Path,
        *,
        module: str = "app",
        database: Path | None = None,
        spare: bool = False,
        environment: dict[str, str] | None = None,
    ) -> LearnerApp:
        """Start the child; a spare loads the server stack and waits for `go()` (see `Launcher`).
        `environment`: the lesson's `build.env`, as a deployment would set it."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        port = listener.getsockname()[1]
        env = dict(environment or {})
        if database is not None:
            env[DB_ENV] = str(database)
        try:
            child = _Child("app", workspace, ["--module", module], env, listen=listener.fileno(), spare=spare)
        finally:
            listener.close()  # the child holds the only copy now
        app = cls(child, port)
        app.spawned = {"workspace": workspace, "module": module, "database": database, "environment": environment}
        return app

    def restarted(self, timeout: float = START_TIMEOUT) -> LearnerApp:
        """Stop this app and start the same code again on the same database: a second deployment, whose
        start-up code (a migration, `CREATE INDEX`) meets what the first one left."""
        self.stop()
        app = LearnerApp.spawn(**self.spawned)
        app.wait_ready(timeout)
        return app

    @classmethod
    def start(
        cls,
        workspace: Path,
        *,
        module: str = "app",
        database: Path | None = None,
        timeout: float = START_TIMEOUT,
    ) -> LearnerApp:
        app = cls.spawn(workspace, module=module, database=database)
        app.wait_ready(timeout)
        return app

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Tell a spare to go, and wait until the app answers; on any problem the child is stopped."""
        self._window = _run_started(self.child.workspace)
        self.child.go()
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        event = self.child.wait_event({"ready"}, timeout)
        if event is not None and event["event"] == "ready":
            return
        if event is not None and event["event"] == "error":
            raise describe_error(event, "your module was imported")
        doing = "your app was starting" if self.child.imported else "your module was imported"
        if event is None and self.child.alive():
            if self.child.imported:
                raise CodeProblem(
                    f"Your app did not start within {timeout:g} seconds. Its start-up code (a `lifespan` "
                    'function, or @app.on_event("startup")) never finishes: an endless loop, a sleep, or '
                    "waiting on something that never comes.",
                    "The tutor stopped it.",
                )
            raise CodeProblem(
                f"Your app did not start within {timeout:g} seconds. Something at the top level of your "
                "module never finishes: an endless loop, a sleep, or waiting on input or a network "
                "connection while the module is imported.",
                "The tutor stopped it.",
            )
        limit = self.child.ended_by_limit()
        if limit is not None:
            raise limit_problem(limit["what"], limit["mb"], doing)
        tail = self.child.output_tail()
        raise CodeProblem(
            f"Your app's process ended while it was starting: {self.child.exit_words()}. "
            "Something in your module ends the program (os._exit, sys.exit, a crash in a C extension).",
            f"It printed:\n{tail}" if tail else "",
        )

    def request(self, method: str, path: str, **kwargs: Any) -> tuple[Any, Flow]:
        """Send one probe; return the httpx response and what it did to the database."""
        import httpx

        if self._client is None:
            # uvicorn closes a connection idle for 5 s, and httpx kept one for 5 s too: a probe sent after
            # a pause (a reference app starting on a busy machine) met a connection being closed. Idle
            # connections are dropped on this side first.
            limits = httpx.Limits(keepalive_expiry=1.0)
            self._client = httpx.Client(base_url=self.base_url, timeout=REQUEST_TIMEOUT, trust_env=False, limits=limits)
        self._probe += 1
        probe = str(self._probe)
        headers = {**kwargs.pop("headers", {}), PROBE_HEADER.decode(): probe}
        if not any(name.lower() == REQUEST_ID for name in headers):
            # as a gateway in front of the app would: each request the checker sends has an id of its own
            headers[REQUEST_ID] = uuid.uuid4().hex
        try:
            try:
                response = self._client.request(method, path, headers=headers, **kwargs)
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                # A kept-alive connection the app closed after its last answer (uvicorn closes it when an
                # exception handler has answered 500 and the error is raised again): an idempotent request
                # may be retried once on a new connection (RFC 9112 §9.3.1). Only after a 5xx: a connection
                # the server broke after a 2xx or 3xx (a 304 sent with a body) is the app's fault.
                closed = not isinstance(exc, httpx.RemoteProtocolError) or "disconnected" in str(exc).lower()
                after_error = self._last_status >= 500
                if not (closed and after_error) or method.upper() not in _IDEMPOTENT or not self.child.alive():
                    raise
                self._client.close()
                limits = httpx.Limits(keepalive_expiry=1.0)
                self._client = httpx.Client(
                    base_url=self.base_url, timeout=REQUEST_TIMEOUT, trust_env=False, limits=limits
                )
                response = self._client.request(method, path, headers=headers, **kwargs)
        except httpx.TimeoutException:
            limit = self.child.limit
            if limit is not None:
                raise limit_problem(limit["what"], limit["mb"], f"answering {method} {path}") from None
            raise CodeProblem(
                f"Your app did not answer {method} {path} within {REQUEST_TIMEOUT:g} seconds. "
                "The endpoint never returns: an endless loop, or waiting on something that never comes.",
                "The tutor stopped it.",
            ) from None
        except httpx.HTTPError as exc:
            limit = self.child.ended_by_limit(timeout=0.5)
            if limit is not None:
                raise limit_problem(limit["what"], limit["mb"], f"answering {method} {path}") from None
            if not self.child.alive():
                tail = self.child.output_tail()
                raise CodeProblem(
                    f"Your app's process ended while answering {method} {path}: {self.child.exit_words()}.",
                    f"It printed:\n{tail}" if tail else "",
                ) from None
            raise CodeProblem(f"Your app dropped the connection for {method} {path}: {exc}") from None
        self._last_status = response.status_code
        flow = Flow()
        while True:
            event = self.child.wait_event({"flow"}, 2.0)
            if event is None or event["event"] != "flow":
                break
            if event.get("probe") == probe:
                flow = Flow(
                    [s["sql"] for s in event["statements"]],
                    [s["full_scans"] for s in event["statements"]],
                    event.get("error"),
                    int(event.get("vm_steps") or 0),
                )
                break
        if flow.error and flow.error.get("type") == "limit":
            raise describe_error(flow.error, f"answering {method} {path}")
        if self.child.limit is not None:
            limit = self.child.limit
            raise limit_problem(limit["what"], limit["mb"], f"answering {method} {path}")
        return response, flow

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        self.child.stop()
        if self._window is not None:
            self._window[1] = time.time()

    def __enter__(self) -> LearnerApp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Launcher:
    """Starts the learner's app for one workspace, keeping one spare child ahead of the next check.

    Starting Python and importing FastAPI and uvicorn is most of a check's time. The spare does that
    while the learner is still typing; a save then only imports the learner's module. A spare holds
    its own fresh database copy and listening socket, and is ended with the launcher."""

    def __init__(self, workspace: Path, module: str, database: Any, environment: dict[str, str] | None = None) -> None:
        self.workspace = workspace
        self.module = module
        self.database = database  # () -> a fresh copy's path, or None
        self.environment = dict(environment or {})
        self._spare: LearnerApp | None = None
        self._lock = threading.Lock()

    def _spawn(self, spare: bool) -> LearnerApp:
        return LearnerApp.spawn(
            self.workspace, module=self.module, database=self.database(), spare=spare, environment=self.environment
        )

    def prepare(self) -> None:
        """Have a spare ready (call when the step opens)."""
        with self._lock:
            if self._spare is None or not self._spare.child.alive():
                if self._spare is not None:
                    self._spare.stop()
                self._spare = self._spawn(spare=True)

    def start(self, timeout: float = START_TIMEOUT) -> LearnerApp:
        with self._lock:
            app, self._spare = self._spare, None
            if app is None or not app.child.alive():
                if app is not None:
                    app.stop()
                app = self._spawn(spare=False)
            self._spare = self._spawn(spare=True)
        app.wait_ready(timeout)
        return app

    def close(self) -> None:
        with self._lock:
            if self._spare is not None:
                self._spare.stop()
                self._spare = None


@dataclass(frozen=True)
class TestsOutcome:
    passed: int
    failed: int
    first: dict[str, Any] | None
    output: str


def run_tests(
    workspace: Path,
    test_files: list[Path],
    *,
    module: str = "app",
    database: Path | None = None,
    timeout: float = TESTS_TIMEOUT,
    environment: dict[str, str] | None = None,
) -> TestsOutcome:
    """Run pytest on `test_files` against the learner's workspace, in the sandboxed child."""
    env = dict(environment or {})
    if database is not None:
        env[DB_ENV] = str(database)
    window = _run_started(workspace)
    child = _Child("tests", workspace, ["--module", module, *[str(p) for p in test_files]], env)
    try:
        event = child.wait_event({"tests"}, timeout)
        if child.limit is not None or (event is not None and event["event"] == "closed" and child.ended_by_limit()):
            assert child.limit is not None
            raise limit_problem(child.limit["what"], child.limit["mb"], "the tests ran")
        if event is None:
            raise CodeProblem(
                f"The tests did not finish within {timeout:g} seconds: some code they call never returns "
                "(an endless loop, or waiting on something that never comes).",
                "The tutor stopped them.",
            )
        if event["event"] == "error":
            raise describe_error(event, "the tests imported your module")
        first = event.get("first") or {}
        if event["event"] == "tests" and first.get("limit"):
            where = f"{first['file']}:{first.get('line')}" if first.get("file") else ""
            mb = MEMORY_MB if first["limit"] == "memory" else FILE_MB
            raise limit_problem(first["limit"], mb, "the tests ran", where)
        if event["event"] != "tests":
            child.process.wait(timeout=2)
            raise CodeProblem(
                f"The test run ended before it could report: {child.exit_words()}. "
                "Your code ends the program (os._exit, a crash) while it is tested.",
                child.output_tail(),
            )
        return TestsOutcome(event["passed"], event["failed"], event["first"], child.output_tail())
    finally:
        child.stop()
        window[1] = time.time()
