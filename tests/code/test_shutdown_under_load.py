"""`code_http`'s `shutdown`: the learner's app is sent SIGTERM while requests are in flight, as a
deployment stops it; the check says how many of them got no answer, whether the process ended in time,
and whether its shutdown code left in its database what it had to."""

from __future__ import annotations

import os
import socket
import sqlite3
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tutor.checks import evaluate
from tutor.checks.base import CheckContext
from tutor.code.contain import process_table
from tutor.code.workspace import CodeEvidenceImpl, Workspace
from tutor.pack.checks import CodeHttpCheck

pytestmark = pytest.mark.skipif(os.name != "posix", reason="build-it lessons need a POSIX system")

OPEN: list[CodeEvidenceImpl] = []


@pytest.fixture(autouse=True)
def _close_evidence() -> Iterator[None]:
    yield
    while OPEN:
        OPEN.pop().close()


def context(tmp_path: Path, source: str) -> CheckContext:
    tmp_path.mkdir(parents=True, exist_ok=True)
    database = tmp_path / "lesson.db"
    connection = sqlite3.connect(database)
    connection.executescript("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL);")
    connection.close()
    starter = tmp_path / "starter"
    starter.mkdir()
    (starter / "app.py").write_text(textwrap.dedent(source))
    workspace = Workspace(tmp_path / "ws", starter)
    workspace.prepare()
    evidence = CodeEvidenceImpl(workspace, "app", tmp_path, database)
    OPEN.append(evidence)
    return CheckContext(code=evidence)


def check(*, in_flight: int = 4, exit_within_ms: float = 4000, rows: int = 6) -> CodeHttpCheck:
    return CodeHttpCheck.model_validate(
        {
            "kind": "code_http",
            "steps": [
                {"request": {"method": "POST", "path": "/orders", "json": {"item": "a"}}, "expect": {"status": 202}},
                {"request": {"method": "POST", "path": "/orders", "json": {"item": "b"}}, "expect": {"status": 202}},
                {
                    "request": {"method": "POST", "path": "/orders", "json": {"item": "slow"}},
                    "expect": {"status": 202, "json": {"queued": True}},
                    "shutdown": {
                        "in_flight": in_flight,
                        "exit_within_ms": exit_within_ms,
                        "database": [
                            {
                                "query": "SELECT count(*) FROM orders",
                                "expect": [[rows]],
                                "says": f"the {rows} orders your app accepted",
                            }
                        ],
                    },
                },
            ],
        }
    )


# Orders are accepted into a buffer (202) and written to the database by the shutdown code; each takes
# half a second to accept, so several are in flight when the signal comes.
GRACEFUL = """
import asyncio, os, sqlite3
from contextlib import asynccontextmanager
from fastapi import FastAPI

buffer = []

@asynccontextmanager
async def lifespan(app):
    yield
    connection = sqlite3.connect(os.environ["BACKEND_TUTOR_DB"])
    with connection:
        connection.executemany("INSERT INTO orders (item) VALUES (?)", [(item,) for item in buffer])
    connection.close()

app = FastAPI(lifespan=lifespan)

@app.post("/orders", status_code=202)
async def order(body: dict):
    if body["item"] == "slow":
        await asyncio.sleep(0.6)
    buffer.append(body["item"])
    return {"queued": True}
"""

EXITS_AT_ONCE = GRACEFUL.replace(
    "async def lifespan(app):\n    yield",
    "async def lifespan(app):\n    import signal\n    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))\n    yield",
)

DROPS_THE_BUFFER = GRACEFUL.replace("connection.executemany(", "0 and connection.executemany(")

SLOW_TO_STOP = GRACEFUL.replace("    yield\n", "    yield\n    import time\n    time.sleep(30)\n")

ANSWERS_500_ON_SHUTDOWN = GRACEFUL.replace("await asyncio.sleep(0.6)", "await asyncio.sleep(0.6)\n        1 / 0")

STARTS_A_CHILD = GRACEFUL.replace(
    "async def lifespan(app):\n    yield",
    "async def lifespan(app):\n    import subprocess, sys\n"
    "    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], start_new_session=True)\n"
    "    yield",
)


def run(tmp_path: Path, source: str, **kwargs: Any) -> Any:
    return evaluate(check(**kwargs), context(tmp_path, source))


def test_a_graceful_app_answers_every_request_in_flight_and_flushes(tmp_path: Path) -> None:
    result = run(tmp_path, GRACEFUL)
    assert result.passed, result.explain()
    assert result.facts["in_flight"] == 4 and result.facts["answered"] == 4
    assert 0 < result.facts["exit_ms"] < 4000
    assert "the 4 in flight when it was told to stop too, and stopped " in result.summary
    assert result.summary.endswith(" ms after the signal.")


def test_os_exit_on_sigterm_loses_the_requests_in_flight(tmp_path: Path) -> None:
    result = run(tmp_path, EXITS_AT_ONCE)
    assert not result.passed
    assert result.summary == "4 of your 4 requests in flight got no answer when your app was told to stop (SIGTERM)."
    assert any("request 1:" in line for line in result.details)


def test_shutdown_code_that_drops_the_buffer_is_named_by_what_is_missing(tmp_path: Path) -> None:
    result = run(tmp_path, DROPS_THE_BUFFER)
    assert not result.passed
    assert result.summary == "Your app stopped in time, but its database does not hold the 6 orders your app accepted."
    assert result.expected == "(6)" and result.got == "(0)"


def test_shutdown_code_past_the_limit_is_killed_and_told(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run(tmp_path, SLOW_TO_STOP, exit_within_ms=1500)
    assert not result.passed
    assert result.summary.startswith("Your app was still running 1.5 seconds after it was told to stop (SIGTERM)")
    assert time.monotonic() - started < 15  # killed at the limit, not after its 30 s sleep


def test_answers_given_while_stopping_are_judged_like_any_other(tmp_path: Path) -> None:
    result = run(tmp_path, ANSWERS_500_ON_SHUTDOWN)
    assert not result.passed
    assert "in flight when your app was told to stop" in result.summary and "answered 500" in result.summary


def test_the_database_must_hold_every_order(tmp_path: Path) -> None:
    result = run(tmp_path, GRACEFUL, rows=7)
    assert not result.passed and "does not hold the 7 orders" in result.summary


def test_nothing_the_app_started_is_left_behind(tmp_path: Path) -> None:
    before = set(process_table())
    result = run(tmp_path, STARTS_A_CHILD, in_flight=2, rows=4)
    assert result.passed, result.explain()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        left = [pid for pid in set(process_table()) - before if _is_sleeper(pid)]
        if not left:
            break
        time.sleep(0.1)
    assert not left


def _is_sleeper(pid: int) -> bool:
    try:
        return b"time.sleep(60)" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def test_a_check_without_shutdown_still_ends_the_app_by_a_kill(tmp_path: Path) -> None:
    """Shutdown code runs only when a step asks for it: other checks end the app as before."""
    spec = CodeHttpCheck.model_validate(
        {"kind": "code_http", "steps": [{"request": {"method": "POST", "path": "/orders", "json": {"item": "a"}}}]}
    )
    ctx = context(tmp_path, GRACEFUL)
    assert evaluate(spec, ctx).passed
    assert isinstance(ctx.code, CodeEvidenceImpl) and ctx.code._made is not None
    copies = list(ctx.code._made.glob("lesson-*.db"))
    assert copies
    for copy in copies:
        connection = sqlite3.connect(copy)
        assert connection.execute("SELECT count(*) FROM orders").fetchone() == (0,)
        connection.close()


def test_only_the_last_step_can_stop_the_app() -> None:
    with pytest.raises(ValidationError, match="only the last step can stop the app"):
        CodeHttpCheck.model_validate(
            {
                "kind": "code_http",
                "steps": [
                    {"request": {"path": "/a"}, "shutdown": {"in_flight": 2}},
                    {"request": {"path": "/b"}},
                ],
            }
        )


def test_the_port_is_free_after_a_graceful_stop(tmp_path: Path) -> None:
    ctx = context(tmp_path, GRACEFUL)
    assert ctx.code is not None
    app = ctx.code.start_app()
    port = app.port
    from tutor.code.shutdown import stop_under_load

    outcome = stop_under_load(app, "POST", "/orders", {"json": {"item": "slow"}}, count=2, exit_within=4)
    app.stop()
    assert outcome.signalled and outcome.exit_seconds is not None
    assert all(one.response is not None and one.response.status_code == 202 for one in outcome.requests)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


SAVES_IN_ATEXIT = DROPS_THE_BUFFER.replace(
    "app = FastAPI(lifespan=lifespan)",
    "app = FastAPI(lifespan=lifespan)\n\nimport atexit\n\n@atexit.register\ndef save():\n"
    "    connection = sqlite3.connect(os.environ['BACKEND_TUTOR_DB'])\n    with connection:\n"
    "        connection.executemany('INSERT INTO orders (item) VALUES (?)', [(i,) for i in buffer])\n",
)


def test_after_a_graceful_stop_the_process_ends_by_the_signal_as_under_uvicorn(tmp_path: Path) -> None:
    """uvicorn raises SIGTERM again once it has shut down, so `atexit` code never runs: work saved there
    is lost in production, and the check sees it lost too."""
    ctx = context(tmp_path, SAVES_IN_ATEXIT)
    assert ctx.code is not None
    app = ctx.code.start_app()
    from tutor.code.shutdown import stop_under_load

    outcome = stop_under_load(app, "POST", "/orders", {"json": {"item": "slow"}}, count=2, exit_within=4)
    app.stop()
    assert outcome.exit_words == "it was killed by signal SIGTERM"
    result = run(tmp_path / "again", SAVES_IN_ATEXIT)
    assert not result.passed and "does not hold the 6 orders" in result.summary


# A handler installed while the module is imported: uvicorn imports the app before it installs its own,
# so it serves and stops gracefully first and hands the signal back to this one afterwards.
HANDLER_AT_IMPORT = GRACEFUL.replace(
    "buffer = []\n",
    "buffer = []\nimport signal\nsignal.signal(signal.SIGTERM, lambda *_: os._exit(3))\n",
)


def test_a_handler_installed_at_import_gets_the_signal_after_the_graceful_stop(tmp_path: Path) -> None:
    result = run(tmp_path, HANDLER_AT_IMPORT)
    assert result.passed, result.explain()
    assert result.facts["answered"] == 4
    ctx = context(tmp_path / "again", HANDLER_AT_IMPORT)
    assert ctx.code is not None
    app = ctx.code.start_app()
    from tutor.code.shutdown import stop_under_load

    outcome = stop_under_load(app, "POST", "/orders", {"json": {"item": "slow"}}, count=2, exit_within=4)
    app.stop()
    assert all(one.response is not None and one.response.status_code == 202 for one in outcome.requests)
    assert outcome.exit_words == "it exited with status 3", outcome.exit_words


COUNTS = """
import os, sqlite3
from fastapi import FastAPI
app = FastAPI()

@app.get("/count")
def count():
    connection = sqlite3.connect(os.environ["BACKEND_TUTOR_DB"])
    try:
        return {"orders": connection.execute("SELECT count(*) FROM orders").fetchone()[0]}
    finally:
        connection.close()
"""


def test_sql_before_changes_the_running_apps_database(tmp_path: Path) -> None:
    spec = CodeHttpCheck.model_validate(
        {
            "kind": "code_http",
            "steps": [
                {"request": {"path": "/count"}, "expect": {"status": 200, "json": {"orders": 0}}},
                {
                    "sql_before": "INSERT INTO orders (item) VALUES ('x'), ('y')",
                    "request": {"path": "/count"},
                    "expect": {"status": 200, "json": {"orders": 2}},
                },
            ],
        }
    )
    assert evaluate(spec, context(tmp_path, COUNTS)).passed
    spec.steps[1].expect.json_fields["orders"] = 0
    failed = evaluate(spec, context(tmp_path / "again", COUNTS))
    assert not failed.passed and "Request 2 of 2" in failed.summary
    assert failed.details[0] == (
        "Just before this request, another client changed your app's database: "
        "INSERT INTO orders (item) VALUES ('x'), ('y')"
    )


def test_sql_before_that_fails_is_the_packs_error(tmp_path: Path) -> None:
    spec = CodeHttpCheck.model_validate(
        {"kind": "code_http", "steps": [{"sql_before": "DELETE FROM nothing_here", "request": {"path": "/count"}}]}
    )
    result = evaluate(spec, context(tmp_path, COUNTS))
    assert not result.passed and result.error and "no such table: nothing_here" in result.summary
