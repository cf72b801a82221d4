"""Run the learner's own pytest files in the sandboxed child, and say how each test ended and why.

    outcome = run_own_tests(folder, [test_file], database=copy, reverse=False)   # raises CodeProblem

`folder` is a throwaway copy of the learner's workspace with the pack's app laid over it (the
`code_own_tests` check makes it). The child is the same as for the pack's tests (`tutor.code.runner`):
the supervisor and its caps, the throwaway home, the timeout. Inside it (`python -m tutor.code.harness
own-tests`) `run_in_child` runs pytest with a plugin that records, for every test, how it ended: passed,
failed by an assertion (an `assert` or `pytest.fail`, the test's own judgement), or failed by an error (an
exception in the test, or a fixture that broke before it ran); the learner's line where it happened; and
the requests it sent the app in process (TestClient or httpx's ASGITransport both call the Starlette app,
whose `__call__` is watched). Files that pytest could not load are recorded too.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ORDER_ENV = "BACKEND_TUTOR_TEST_ORDER"
"""`reversed`: run the collected tests last to first."""
ANSWER_ENV = "BACKEND_TUTOR_ANSWER_WITH"
"""A module file (the reference app): every request a test sends an app in process is answered by that module's
`app` instead, while the files on disk and the modules the tests import stay those of the folder."""
MESSAGE_CHARS = 400
MAX_TESTS = 200


@dataclass(frozen=True)
class OwnTest:
    """One test of the learner's, as it ended."""

    name: str
    doc: str
    outcome: str  # "passed", "failed", "skipped"
    how: str = ""  # for a failure: "assertion" or "error"
    when: str = ""  # "setup", "call", "teardown"
    error: str = ""  # the exception's type, for a failure
    message: str = ""
    file: str | None = None
    line: int | None = None
    requests: tuple[tuple[str, str], ...] = ()  # (method, path) the test sent the app
    nodeid: str = ""  # pytest's id of the test: file, class, name and parameters


@dataclass(frozen=True)
class OwnTestsOutcome:
    tests: list[OwnTest]
    load_errors: list[dict[str, Any]] = field(default_factory=list)
    """Files pytest could not load: {"file", "line", "message"}."""
    output: str = ""

    @property
    def passed(self) -> list[OwnTest]:
        return [t for t in self.tests if t.outcome == "passed"]

    @property
    def failed(self) -> list[OwnTest]:
        return [t for t in self.tests if t.outcome == "failed"]


# -- the tutor's side ------------------------------------------------------------------------------
def run_own_tests(
    workspace: Path,
    test_files: list[Path],
    *,
    database: Path | None = None,
    timeout: float = 30.0,
    environment: dict[str, str] | None = None,
    reverse: bool = False,
    answer_with: Path | None = None,
) -> OwnTestsOutcome:
    """Run pytest on the learner's `test_files` in `workspace`, in the sandboxed child. With `answer_with` (a
    module file holding `app`), that app answers every request the tests send, whatever app they call."""
    from tutor.code.harness import DB_ENV
    from tutor.code.runner import CodeProblem, _Child, _run_started, limit_problem

    env = dict(environment or {})
    if database is not None:
        env[DB_ENV] = str(database)
    if reverse:
        env[ORDER_ENV] = "reversed"
    if answer_with is not None:
        env[ANSWER_ENV] = str(answer_with)
    window = _run_started(workspace)
    child = _Child("own-tests", workspace, [str(p) for p in test_files], env)
    try:
        event = child.wait_event({"own-tests"}, timeout)
        if child.limit is not None or (event is not None and event["event"] == "closed" and child.ended_by_limit()):
            assert child.limit is not None
            raise limit_problem(child.limit["what"], child.limit["mb"], "your tests ran")
        if event is None:
            raise CodeProblem(
                f"Your tests did not finish within {timeout:g} seconds: one of them waits for something that "
                "never comes (a server that is not there, an endless loop, a sleep).",
                "The tutor stopped them.",
            )
        if event["event"] != "own-tests":
            child.process.wait(timeout=2)
            raise CodeProblem(
                f"Your test run ended before it could report: {child.exit_words()}. "
                "Something in the tests ends the program (os._exit, sys.exit at the top of the file, a crash).",
                child.output_tail(),
            )
        tests = [
            OwnTest(**{**record, "requests": tuple(tuple(r) for r in record.get("requests", []))})
            for record in event["tests"]
        ]
        if any(test.error == "MemoryError" for test in tests):
            from tutor.code.runner import MEMORY_MB

            raise limit_problem("memory", MEMORY_MB, "your tests ran")
        return OwnTestsOutcome(tests, list(event.get("load_errors", [])), child.output_tail())
    finally:
        child.stop()
        window[1] = time.time()


# -- inside the child ------------------------------------------------------------------------------
class Recorder:
    """A pytest plugin: every test's end, in words; every file that did not load; the requests each test
    sent the app."""

    def __init__(self, workspace: Path, reverse: bool) -> None:
        self.workspace = workspace
        self.reverse = reverse
        self.records: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.load_errors: list[dict[str, Any]] = []
        self.docs: dict[str, str] = {}
        self.current: list[tuple[str, str]] | None = None
        self.sent: dict[str, list[tuple[str, str]]] = {}
        self.answer_with: Any = None  # an ASGI app that answers every request instead of the one called

    def where(self, tb: Any) -> dict[str, Any]:
        from tutor.code.harness import learner_frame

        found = learner_frame(tb, self.workspace) or {}
        return {"file": found.get("file"), "line": found.get("line")} if found else {}

    # -- collection
    def pytest_collectreport(self, report: Any) -> None:
        if not report.failed:
            return
        text = str(report.longrepr).strip()
        lines = [line for line in text.splitlines() if line.strip()]
        message = next((line.removeprefix("E   ").strip() for line in reversed(lines) if line.startswith("E ")), "")
        where: dict[str, Any] = {}
        import re

        for line in lines:
            match = re.match(r'^\s*File "?([^":]+)"?, line (\d+)|^([^\s:]+\.py):(\d+)', line)
            if match:
                path = Path(match.group(1) or match.group(3))
                path = path if path.is_absolute() else self.workspace / path
                if path.resolve().is_relative_to(self.workspace):
                    where = {
                        "file": path.resolve().relative_to(self.workspace).as_posix(),
                        "line": int(match.group(2) or match.group(4)),
                    }
        self.load_errors.append(
            {
                "file": where.get("file") or str(report.nodeid or ""),
                "line": where.get("line"),
                "message": (message or (lines[-1] if lines else "it could not be loaded"))[:MESSAGE_CHARS],
            }
        )

    def pytest_collection_modifyitems(self, items: list[Any]) -> None:
        if self.reverse:
            items.reverse()
        for item in items:
            doc = getattr(getattr(item, "function", None), "__doc__", None) or ""
            self.docs[item.nodeid] = " ".join(doc.split())

    # -- each test
    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self.current = self.sent.setdefault(nodeid, [])

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        self.current = None

    def _record(self, item: Any, call: Any, report: Any) -> None:
        nodeid = item.nodeid
        if nodeid not in self.records:
            self.order.append(nodeid)
            self.records[nodeid] = {
                "name": nodeid.split("::")[-1],
                "nodeid": nodeid,
                "doc": self.docs.get(nodeid, ""),
                "outcome": "passed",
            }
        record = self.records[nodeid]
        if report.skipped and report.when in ("setup", "call") and record["outcome"] == "passed":
            record["outcome"] = "skipped"
        if not report.failed or record["outcome"] == "failed":
            return
        import pytest

        excinfo = call.excinfo
        judged = excinfo is not None and excinfo.errisinstance((AssertionError, pytest.fail.Exception))
        crash = getattr(report.longrepr, "reprcrash", None)
        message = crash.message if crash is not None else str(report.longrepr).strip().splitlines()[-1:]
        record.update(
            outcome="failed",
            how="assertion" if judged and report.when == "call" else "error",
            when=report.when,
            error=excinfo.typename if excinfo is not None else "",
            message=_first_line(message if isinstance(message, str) else " ".join(message)),
            **(self.where(excinfo.tb) if excinfo is not None else {}),
        )

    def records_list(self) -> list[dict[str, Any]]:
        out = []
        for nodeid in self.order[:MAX_TESTS]:
            record = dict(self.records[nodeid])
            record["requests"] = [list(r) for r in self.sent.get(nodeid, [])][:50]
            out.append(record)
        return out

    def watch_requests(self) -> None:
        """Note every request an in-process client sends a Starlette (or FastAPI) app, for the running test."""
        try:
            from starlette.applications import Starlette
        except ImportError:
            return
        import contextvars

        original = Starlette.__call__
        recorder = self
        inside = contextvars.ContextVar("inside_an_app", default=False)

        async def watched(app: Any, scope: Any, receive: Any, send: Any) -> None:
            if inside.get():  # an app (or a mount) called from the app the test called
                await original(app, scope, receive, send)
                return
            if scope.get("type") == "http" and recorder.current is not None:
                recorder.current.append((str(scope.get("method", "")), str(scope.get("path", ""))))
            token = inside.set(True)
            try:
                if recorder.answer_with is not None and app is not recorder.answer_with:
                    await recorder.answer_with(scope, receive, send)
                else:
                    await original(app, scope, receive, send)
            finally:
                inside.reset(token)

        setattr(Starlette, "__call__", watched)  # noqa: B010 (every app's requests, for the run's life)


def _first_line(message: str) -> str:
    """`assert 400 == 422` out of pytest's `AssertionError: assert 400 == 422\n +  where 400 = ...`."""
    line = message.strip().split("\n")[0].strip()
    return line.removeprefix("AssertionError: ")[:MESSAGE_CHARS] or message[:MESSAGE_CHARS]


def _load_app(path: Path) -> Any:
    """The `app` of the module file at `path`, loaded under a name of its own (the tests' `app` stays theirs)."""
    spec = importlib.util.spec_from_file_location("_backend_tutor_answering_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def _plugin(workspace: Path, reverse: bool) -> Recorder:
    import pytest

    class Plugin(Recorder):
        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_makereport(self, item: Any, call: Any) -> Any:
            outcome = yield
            self._record(item, call, outcome.get_result())

    return Plugin(workspace, reverse)


def run_in_child(args: argparse.Namespace, workspace: Path, send: Callable[[dict[str, Any]], None]) -> int:
    """The `own-tests` mode of the harness: pytest on the learner's files, one JSON report at the end (`send`
    is the harness's, which writes to the status pipe: the harness runs as __main__, not as its module)."""
    # Only pytest's own plugins, as for the pack's tests: the same run on every machine.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    import pytest

    plugin = _plugin(workspace, os.environ.pop(ORDER_ENV, "") == "reversed")
    plugin.watch_requests()
    answer_with = os.environ.pop(ANSWER_ENV, "")
    if answer_with:
        plugin.answer_with = _load_app(Path(answer_with))
    anyio = importlib.util.find_spec("anyio.pytest_plugin") is not None
    code = pytest.main(
        [
            "-q",
            "-p",
            "no:cacheprovider",
            "--no-header",
            "--tb=short",
            "--rootdir",
            str(workspace),
            "-o",
            "console_output_style=classic",
            *(["-p", "anyio.pytest_plugin"] if anyio else []),  # @pytest.mark.anyio, as anyio's docs show
            *args.tests,
        ],
        plugins=[plugin],
    )
    send({"event": "own-tests", "exit": int(code), "tests": plugin.records_list(), "load_errors": plugin.load_errors})
    return 0
