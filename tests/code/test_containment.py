"""Everything the learner's code starts ends with the check; memory, file size and output are capped, each
with its own words; the app runs as `uvicorn app:app` runs it (lifespan and start-up events); a module
that starts its own server is told so; the code never sees the tutor's home. Real child processes, real
ports, and the process table checked for orphans after every case."""

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

from tests.code.test_runner import GOOD, assert_nothing_left, start_and_fail, write
from tutor.code import runner
from tutor.code.runner import CodeProblem, LearnerApp, port_is_free, run_tests

DAEMON = """
import os, time

def daemonize(marker):
    '''The classic double fork: the grandchild is in a session of its own and its parent is gone.'''
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            open(marker + ".tmp", "w").write(str(os.getpid()))
            os.rename(marker + ".tmp", marker)  # whole, or not there yet
            time.sleep(300)
        os._exit(0)
    deadline = time.time() + 5
    while not os.path.exists(marker) and time.time() < deadline:
        time.sleep(0.01)
"""


def daemon_pid(workspace: Path, name: str = "daemon.pid") -> int:
    return int((workspace / name).read_text())


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_double_forked_daemon_ends_with_the_check_and_frees_the_port(tmp_path: Path) -> None:
    workspace = write(
        tmp_path / "ws",
        GOOD + DAEMON + "\n@app.get('/spawn')\ndef spawn():\n    daemonize('daemon.pid')\n    return {'ok': True}\n",
    )
    with LearnerApp.start(workspace) as app:
        port = app.port
        assert app.request("GET", "/spawn")[0].json() == {"ok": True}
        pid = daemon_pid(workspace)
        assert psutil.Process(pid).ppid() != 1, "the daemon stays under the supervisor, not init"
    assert gone(pid)
    assert_nothing_left(workspace, port)


def test_a_daemon_outlives_neither_the_app_that_exits_nor_a_failed_start(tmp_path: Path) -> None:
    """The app's own process exits after starting the daemon: the daemon is still found and ended."""
    workspace = write(
        tmp_path / "ws",
        GOOD
        + DAEMON
        + "\n@app.get('/spawn-and-die')\ndef spawn_and_die():\n    daemonize('daemon.pid')\n    os._exit(4)\n",
    )
    with LearnerApp.start(workspace) as app, pytest.raises(CodeProblem) as caught:
        port = app.port
        app.request("GET", "/spawn-and-die")
    assert "ended while answering GET /spawn-and-die" in caught.value.summary
    assert "status 4" in caught.value.summary
    assert gone(daemon_pid(workspace))
    assert_nothing_left(workspace, port)

    at_import = write(tmp_path / "ws2", DAEMON + "\ndaemonize('daemon.pid')\nraise SystemExit(2)\n")
    problem = start_and_fail(at_import)
    assert "SystemExit" in problem.summary
    assert gone(daemon_pid(at_import))


def test_a_daemon_started_under_code_tests_ends_with_the_run(tmp_path: Path) -> None:
    workspace = write(tmp_path / "ws", DAEMON + "\ndef double(x):\n    daemonize('daemon.pid')\n    return 2 * x\n")
    tests = write(
        tmp_path / "t", "from app import double\n\ndef test_double():\n    assert double(2) == 4\n", "test_x.py"
    )
    outcome = run_tests(workspace, [tests / "test_x.py"])
    assert (outcome.passed, outcome.failed) == (1, 0)
    assert gone(daemon_pid(workspace))
    assert_nothing_left(workspace)


def test_a_daemon_ends_when_the_tutor_is_killed(tmp_path: Path) -> None:
    workspace = write(tmp_path / "ws", GOOD + DAEMON + "\ndaemonize('daemon.pid')\n")
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from tutor.code.runner import LearnerApp
        app = LearnerApp.start(Path({str(workspace)!r}))
        print(app.port, flush=True)
        time.sleep(300)
    """)
    tutor = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert tutor.stdout is not None
        port = int(tutor.stdout.readline())
        pid = daemon_pid(workspace)
        assert psutil.pid_exists(pid)
        os.kill(tutor.pid, signal.SIGKILL)
        tutor.wait(timeout=5)
        deadline = time.monotonic() + 5
        while not gone(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gone(pid)
        assert_nothing_left(workspace, port)
    finally:
        if tutor.poll() is None:
            tutor.kill()
            tutor.wait()


# -- caps ---------------------------------------------------------------------------------------------
def test_4_gb_in_a_handler_is_reported_as_memory_not_as_a_loop(tmp_path: Path) -> None:
    workspace = write(
        tmp_path / "ws", GOOD + "\n@app.get('/hog')\ndef hog():\n    data = bytes(4 << 30)\n    return len(data)\n"
    )
    with LearnerApp.start(workspace) as app, pytest.raises(CodeProblem) as caught:
        port = app.port
        app.request("GET", "/hog")
    assert caught.value.summary.startswith(
        f"Your app used more than {runner.MEMORY_MB} MB of memory while answering GET /hog (at app.py:"
    )
    assert caught.value.details[0] == "    data = bytes(4 << 30)"  # the learner's line
    assert "endless loop" not in " ".join([caught.value.summary, *caught.value.details])
    assert_nothing_left(workspace, port)


def test_4_gb_under_code_tests_fails(tmp_path: Path) -> None:
    workspace = write(tmp_path / "ws", "def load():\n    return len(bytes(4 << 30))\n")
    tests = write(tmp_path / "t", "from app import load\n\ndef test_load():\n    assert load() > 0\n", "test_x.py")
    with pytest.raises(CodeProblem) as caught:
        run_tests(workspace, [tests / "test_x.py"])
    assert caught.value.summary == (
        f"Your app used more than {runner.MEMORY_MB} MB of memory while the tests ran (at app.py:2)."
    )
    assert_nothing_left(workspace)


def test_memory_of_forked_children_adds_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each child stays under the per-process cap; together they pass it, and the run is stopped."""
    monkeypatch.setattr(runner, "MEMORY_MB", 200)
    workspace = write(
        tmp_path / "ws",
        GOOD
        + textwrap.dedent("""
        import os, time
        @app.get('/swarm')
        def swarm():
            for _ in range(3):
                if os.fork() == 0:
                    hold = bytearray(90 << 20)
                    for i in range(0, len(hold), 4096):
                        hold[i] = 1
                    time.sleep(300)
            time.sleep(30)
            return {}
        """),
    )
    with LearnerApp.start(workspace) as app, pytest.raises(CodeProblem) as caught:
        port = app.port
        app.request("GET", "/swarm")
    assert caught.value.summary == "Your app used more than 200 MB of memory while answering GET /swarm."
    assert_nothing_left(workspace, port)


def test_a_file_past_the_cap_is_stopped_and_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "FILE_MB", 5)
    workspace = write(
        tmp_path / "ws",
        GOOD + "\n@app.get('/dump')\ndef dump():\n    open('big.bin', 'wb').write(bytes(8 << 20))\n    return {}\n",
    )
    with LearnerApp.start(workspace) as app, pytest.raises(CodeProblem) as caught:
        port = app.port
        app.request("GET", "/dump")
    assert caught.value.summary.startswith(
        "Your app wrote more than 5 MB into one file while answering GET /dump (at app.py:"
    )
    assert (workspace / "big.bin").stat().st_size <= 5 << 20
    assert_nothing_left(workspace, port)


def test_output_past_the_cap_is_stopped_and_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "OUTPUT_MB", 1)
    workspace = write(
        tmp_path / "ws",
        GOOD
        + "\n@app.get('/shout')\ndef shout():\n    for _ in range(30000):\n        print('x' * 100)\n    return {}\n",
    )
    with LearnerApp.start(workspace) as app, pytest.raises(CodeProblem) as caught:
        port = app.port
        app.request("GET", "/shout")
    assert caught.value.summary == "Your app printed more than 1 MB while answering GET /shout."
    assert_nothing_left(workspace, port)


def test_output_under_the_cap_is_kept_for_the_learner(tmp_path: Path) -> None:
    workspace = write(tmp_path / "ws", "import os\nprint('loading the app')\nos._exit(5)\n")
    problem = start_and_fail(workspace)
    assert "status 5" in problem.summary
    assert "loading the app" in "\n".join(problem.details)


# -- the app runs as uvicorn runs it ------------------------------------------------------------------
def test_lifespan_and_startup_events_run_before_the_first_request(tmp_path: Path) -> None:
    lifespan = write(
        tmp_path / "a",
        """
        from contextlib import asynccontextmanager
        from fastapi import FastAPI
        state = {"ready": False}

        @asynccontextmanager
        async def lifespan(app):
            state["ready"] = True
            yield

        app = FastAPI(lifespan=lifespan)

        @app.get("/ready")
        def ready():
            return state
        """,
    )
    events = write(
        tmp_path / "b",
        """
        from fastapi import FastAPI
        app = FastAPI()
        state = {"ready": False}

        @app.on_event("startup")
        def startup():
            state["ready"] = True

        @app.get("/ready")
        def ready():
            return state
        """,
    )
    for workspace in (lifespan, events):
        with LearnerApp.start(workspace) as app:
            port = app.port
            assert app.request("GET", "/ready")[0].json() == {"ready": True}
        assert_nothing_left(workspace, port)


def test_start_up_code_that_raises_is_named_as_start_up(tmp_path: Path) -> None:
    workspace = write(
        tmp_path / "ws",
        """
        from fastapi import FastAPI
        app = FastAPI()

        @app.on_event("startup")
        def startup():
            raise RuntimeError("no index yet")
        """,
    )
    problem = start_and_fail(workspace)
    assert problem.summary == (
        "Your code raised RuntimeError: no index yet at app.py:7 while your app was starting "
        "(its lifespan or start-up code)."
    )


def test_start_up_code_that_never_finishes_is_named_as_start_up(tmp_path: Path) -> None:
    workspace = write(
        tmp_path / "ws",
        """
        import asyncio
        from fastapi import FastAPI
        app = FastAPI()

        @app.on_event("startup")
        async def startup():
            await asyncio.sleep(300)
        """,
    )
    problem = start_and_fail(workspace, timeout=2)
    assert problem.summary.startswith("Your app did not start within 2 seconds. Its start-up code")


def test_uvicorn_run_at_import_is_named_with_the_fix(tmp_path: Path) -> None:
    with __import__("socket").socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    workspace = write(
        tmp_path / "ws",
        GOOD + f"\nimport uvicorn\nuvicorn.run(app, host='127.0.0.1', port={free})\n",
    )
    started = time.monotonic()
    problem = start_and_fail(workspace)
    assert time.monotonic() - started < 5, "told at once, not after the start-up time limit"
    assert problem.summary == "Your module starts a server of its own at app.py:10 (uvicorn.run) while it is imported."
    assert 'if __name__ == "__main__":' in " ".join(problem.details)
    assert port_is_free(free)


def test_uvicorn_run_under_the_main_guard_is_fine(tmp_path: Path) -> None:
    workspace = write(
        tmp_path / "ws",
        GOOD + "\nif __name__ == '__main__':\n    import uvicorn\n    uvicorn.run(app, port=8000)\n",
    )
    with LearnerApp.start(workspace) as app:
        port = app.port
        assert app.request("GET", "/hello")[0].json() == {"hello": "world"}
    assert_nothing_left(workspace, port)


def test_the_learners_code_never_sees_the_tutors_home(tmp_path: Path, tutor_home: Path) -> None:
    workspace = write(
        tmp_path / "ws",
        GOOD
        + textwrap.dedent("""
        import os
        from pathlib import Path
        @app.get('/home')
        def home():
            folder = Path(os.environ["BACKEND_TUTOR_HOME"])
            (folder / "trusted-packs.json").write_text("{}")
            return {"home": str(folder)}
        """),
    )
    with LearnerApp.start(workspace) as app:
        port = app.port
        seen = Path(app.request("GET", "/home")[0].json()["home"])
    assert seen.resolve() != tutor_home.resolve()
    assert not (tutor_home / "trusted-packs.json").exists()
    assert_nothing_left(workspace, port)


def test_pack_test_leaves_no_daemon_behind(tmp_path: Path) -> None:
    """`pack test` of a pack whose solution daemonizes in a handler: after the command, none of the
    daemons (one per request of each replay) is alive."""
    import shutil

    from tests.conftest import run_cli

    pack = tmp_path / "pack"
    shutil.copytree(Path(__file__).resolve().parent / "fixtures" / "buildpack", pack)
    right = pack / "http" / "hello" / "right" / "app.py"
    daemon = textwrap.indent(DAEMON.replace("import os, time\n", ""), "    ")
    right.write_text(
        "import os, time\n"
        + right.read_text().replace(
            "def hello():\n",
            f"def hello():\n{daemon}\n    daemonize({str(tmp_path)!r} + f'/daemon-{{time.time_ns()}}.pid')\n",
        )
    )
    result = run_cli("pack", "test", str(pack), "--trust", home=tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    started = [int(path.read_text()) for path in tmp_path.glob("daemon-*.pid")]
    assert started, "the solution's handler ran"
    deadline = time.monotonic() + 3
    while not all(gone(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in started if not gone(pid)] == []


def test_an_app_without_lifespan_support_is_served(tmp_path: Path) -> None:
    """A bare ASGI callable that knows only HTTP: uvicorn serves it, and so does the tutor."""
    workspace = write(
        tmp_path / "ws",
        """
        async def app(scope, receive, send):
            assert scope["type"] == "http"
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"hi"})
        """,
    )
    with LearnerApp.start(workspace) as app:
        port = app.port
        assert app.request("GET", "/")[0].text == "hi"
    assert_nothing_left(workspace, port)
