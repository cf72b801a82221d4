"""Learner code runs out of process: every way it can misbehave is reported in words, the tutor stays up,
and nothing is left in the process table or on the port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from tutor.code import runner
from tutor.code.runner import CodeProblem, LearnerApp, port_is_free

GOOD = """
from fastapi import FastAPI
app = FastAPI()

@app.get("/hello")
def hello():
    return {"hello": "world"}
"""


def write(folder: Path, source: str, name: str = "app.py") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(source))
    return folder


def leftovers(workspace: Path) -> list[psutil.Process]:
    """Live processes started for this workspace: the harness (its command line names the folder) and
    anything it spawned (they inherit its working directory)."""
    found = []
    for process in psutil.process_iter(["cmdline", "cwd", "status"]):
        try:
            if process.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            cmdline = " ".join(process.info["cmdline"] or [])
            if str(workspace) in cmdline or process.info["cwd"] == str(workspace):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def assert_nothing_left(workspace: Path, port: int | None = None) -> None:
    deadline = time.monotonic() + 3
    while leftovers(workspace) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert leftovers(workspace) == []
    assert [c for c in psutil.Process().children(recursive=True) if c.status() != psutil.STATUS_ZOMBIE] == []
    if port is not None:
        assert port_is_free(port)


def start_and_fail(workspace: Path, timeout: float = 3.0) -> CodeProblem:
    with pytest.raises(CodeProblem) as caught:
        LearnerApp.start(workspace, timeout=timeout)
    assert_nothing_left(workspace)
    return caught.value


def test_a_right_app_answers_and_its_sql_is_counted(tmp_path: Path) -> None:
    import sqlite3

    database = tmp_path / "lesson.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE books (id INTEGER PRIMARY KEY, author_id INT)")
        connection.executemany("INSERT INTO books (author_id) VALUES (?)", [(i % 7,) for i in range(50)])
    workspace = write(
        tmp_path / "ws",
        GOOD
        + textwrap.dedent("""
        import os, sqlite3

        @app.get("/count")
        def count():
            db = sqlite3.connect(os.environ["BACKEND_TUTOR_DB"])
            one = db.execute("SELECT COUNT(*) FROM books WHERE author_id = 3").fetchone()[0]
            two = db.execute("SELECT id FROM books WHERE id = 4").fetchone()[0]
            return {"count": one, "id": two}
        """),
    )
    with LearnerApp.start(workspace, database=database) as app:
        port = app.port
        assert app.base_url.startswith("http://127.0.0.1:")
        response, flow = app.request("GET", "/hello")
        assert response.json() == {"hello": "world"}
        assert flow.statements == []
        response, flow = app.request("GET", "/count")
        assert response.json() == {"count": 7, "id": 4}
        assert len(flow.statements) == 2
        assert flow.full_scans == [["books"], []]  # no index on author_id; the id lookup seeks
    assert_nothing_left(workspace, port)


def test_a_syntax_error_names_the_learners_file_and_line(tmp_path: Path) -> None:
    workspace = write(tmp_path / "ws", "from fastapi import FastAPI\napp = FastAPI(\n\ndef f():\n    pass\n")
    problem = start_and_fail(workspace)
    assert "could not read your code" in problem.summary
    assert problem.file == "app.py" and problem.line == 2
    assert "app.py:2" in problem.summary


def test_an_import_error_in_a_second_module_names_that_file(tmp_path: Path) -> None:
    workspace = write(tmp_path / "ws", "from fastapi import FastAPI\nimport helpers\napp = FastAPI()\n")
    write(workspace, "x = 1\ny = undefined_name + 1\n", "helpers.py")
    problem = start_and_fail(workspace)
    assert "NameError" in problem.summary
    assert (problem.file, problem.line) == ("helpers.py", 2)


def test_a_module_without_app_is_told_the_contract(tmp_path: Path) -> None:
    problem = start_and_fail(write(tmp_path / "ws", "application = 1\n"))
    assert "has no `app`" in problem.summary


def test_an_endless_loop_at_import_is_stopped(tmp_path: Path) -> None:
    problem = start_and_fail(write(tmp_path / "ws", "while True:\n    pass\n"), timeout=2)
    assert "did not start within 2 seconds" in problem.summary


def test_os_exit_at_import_is_reported(tmp_path: Path) -> None:
    problem = start_and_fail(write(tmp_path / "ws", "import os\nos._exit(7)\n"))
    assert "ended while it was starting" in problem.summary
    assert "status 7" in problem.summary


def test_a_crash_by_signal_is_reported(tmp_path: Path) -> None:
    problem = start_and_fail(write(tmp_path / "ws", "import os\nos.abort()\n"))
    assert "SIGABRT" in problem.summary


def test_an_endpoint_that_never_returns_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "REQUEST_TIMEOUT", 1.5)
    workspace = write(tmp_path / "ws", GOOD + "\n@app.get('/spin')\ndef spin():\n    while True:\n        pass\n")
    with LearnerApp.start(workspace) as app, pytest.raises(CodeProblem) as caught:
        port = app.port
        app.request("GET", "/spin")
    assert "did not answer GET /spin within 1.5 seconds" in caught.value.summary
    assert_nothing_left(workspace, port)


def test_os_exit_inside_an_endpoint_is_reported(tmp_path: Path) -> None:
    workspace = write(tmp_path / "ws", GOOD + "\nimport os\n@app.get('/die')\ndef die():\n    os._exit(3)\n")
    with LearnerApp.start(workspace) as app, pytest.raises(CodeProblem) as caught:
        port = app.port
        app.request("GET", "/die")
    assert "ended while answering GET /die" in caught.value.summary
    assert "status 3" in caught.value.summary
    assert_nothing_left(workspace, port)


def test_children_that_hang_are_killed_with_it(tmp_path: Path) -> None:
    """A child in the group, one that left the group (setsid), and a fork that keeps the listening socket."""
    workspace = write(
        tmp_path / "ws",
        """
        import os, subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
        if os.fork() == 0:
            time.sleep(300)  # the forked child holds every inherited descriptor, the port included
        while True:
            time.sleep(1)
        """,
    )
    problem = start_and_fail(workspace, timeout=2)
    assert "did not start" in problem.summary


def test_an_app_that_forks_a_child_holding_its_port_leaves_the_port_free(tmp_path: Path) -> None:
    workspace = write(
        tmp_path / "ws",
        GOOD + "\nimport os, time\nif os.fork() == 0:\n    time.sleep(300)\n",
    )
    with LearnerApp.start(workspace) as app:
        port = app.port
        assert app.request("GET", "/hello")[0].status_code == 200
        assert len(psutil.Process(app.child.pid).children()) >= 1
    assert_nothing_left(workspace, port)


def test_the_app_dies_with_the_tutor(tmp_path: Path) -> None:
    """SIGKILL the process that started the app: the watchdogs end the app and its children."""
    workspace = write(
        tmp_path / "ws",
        GOOD + "\nimport subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n",
    )
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from tutor.code.runner import LearnerApp
        app = LearnerApp.start(Path({str(workspace)!r}))
        print(app.child.pid, app.port, flush=True)
        time.sleep(300)
    """)
    tutor = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert tutor.stdout is not None
        pid, port = (int(x) for x in tutor.stdout.readline().split())
        assert psutil.pid_exists(pid)
        os.kill(tutor.pid, signal.SIGKILL)
        tutor.wait(timeout=5)
        assert_nothing_left(workspace, port)
    finally:
        if tutor.poll() is None:
            tutor.kill()
            tutor.wait()


def test_code_that_binds_a_port_of_its_own_and_sleeps_leaves_it_free(tmp_path: Path) -> None:
    workspace = write(
        tmp_path / "ws",
        """
        import socket, time
        from pathlib import Path
        held = socket.socket()
        held.bind(("127.0.0.1", 0))
        held.listen()
        Path("held-port").write_text(str(held.getsockname()[1]))
        time.sleep(300)
        """,
    )
    problem = start_and_fail(workspace, timeout=3)
    assert "did not start within 3 seconds" in problem.summary
    held = int((workspace / "held-port").read_text())
    assert port_is_free(held)


def test_a_request_after_a_500_the_app_closed_the_connection_for_is_sent_again(tmp_path: Path) -> None:
    """An exception handler answers 500 and Starlette raises the error again, so uvicorn closes the
    kept-alive connection: the next GET went out on it and read "dropped the connection". It is sent once
    more on a new connection, as RFC 9112 §9.3.1 allows for an idempotent request."""
    workspace = write(
        tmp_path / "ws",
        GOOD
        + textwrap.dedent("""
        from fastapi import Request
        from fastapi.responses import JSONResponse

        @app.exception_handler(Exception)
        async def crashed(request: Request, exc: Exception):
            return JSONResponse({"error": "crashed"}, status_code=500)

        @app.get("/boom")
        def boom():
            raise RuntimeError("boom")
        """),
    )
    with LearnerApp.start(workspace) as app:
        for _ in range(3):
            response, _flow = app.request("GET", "/boom")
            assert response.status_code == 500
            response, _flow = app.request("GET", "/hello")
            assert response.json() == {"hello": "world"}
