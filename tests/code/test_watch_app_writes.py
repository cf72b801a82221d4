"""Only the learner's saves start a check: an app that writes a log, a SQLite file or one of its data files
beside its code does not start check after check (the lesson screen's loop: watcher -> check -> the app
writes -> watcher ...). A real Session on a build-it lesson, the real watcher, real child processes."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from tests.code.test_runner import leftovers
from tutor.code.watch import watch
from tutor.code.workspace import Workspace, learner_file
from tutor.pack.loader import load_pack_or_raise
from tutor.paths import Home
from tutor.session import Session

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "buildpack"

WRITER = """
import json, os, sqlite3
from pathlib import Path
from fastapi import FastAPI

app = FastAPI()


@app.get("/hello")
def hello():
    with open("app.log", "a") as log:
        log.write("GET /hello\\n")
    Path("logs").mkdir(exist_ok=True)
    Path("logs/app.log").open("a").write("GET /hello\\n")
    db = sqlite3.connect("orders.db")
    db.execute("CREATE TABLE IF NOT EXISTS hits (at REAL)")
    db.execute("INSERT INTO hits VALUES (julianday('now'))")
    db.commit()
    db.close()
    counts = json.loads(Path("data.json").read_text())
    counts["hits"] = counts.get("hits", 0) + 1
    Path("data.json").write_text(json.dumps(counts))
    return {"hello": "world"}
"""


def pack_with_a_data_file(tmp_path: Path) -> Path:
    root = tmp_path / "pack"
    shutil.copytree(FIXTURE, root)
    (root / "http" / "hello" / "starter" / "data.json").write_text("{}")
    return root


class Checks:
    """The screen's wiring: every save the watcher reports runs the step's check."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.saves: list[list[str]] = []
        self.verdicts: list[bool] = []
        self.stop = threading.Event()
        assert session.workspace is not None
        self.thread = threading.Thread(target=watch, args=(session.workspace.root, self.on_save, self.stop))

    def on_save(self, names: list[str]) -> None:
        self.saves.append(names)
        step = self.session.lesson.steps[0]
        self.verdicts.append(self.session.check(step).passed)

    def wait_for(self, count: int, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while len(self.verdicts) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.verdicts) >= count, f"expected {count} checks, saw {self.saves}"

    def __enter__(self) -> Checks:
        self.thread.start()
        time.sleep(0.5)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def test_an_app_that_writes_beside_its_code_is_checked_once_per_save(tmp_path: Path) -> None:
    pack = load_pack_or_raise(pack_with_a_data_file(tmp_path))
    lesson = pack.lesson("hello")
    assert lesson is not None
    with Session(pack, lesson, Home(tmp_path / "home").ensure()) as session:
        session.start()
        assert session.workspace is not None
        root = session.workspace.root
        with Checks(session) as checks:
            (root / "app.py").write_text(WRITER)
            checks.wait_for(1)
            time.sleep(4)  # long enough for several rounds of the old loop
            assert checks.saves == [["app.py"]]
            assert checks.verdicts == [True]
            assert (root / "orders.db").exists() and (root / "logs" / "app.log").exists()
            assert '"hits": 1' in (root / "data.json").read_text()

            # the learner's own saves still count: a new module, and the starter's data file
            (root / "helpers.py").write_text("X = 1\n")
            checks.wait_for(2)
            time.sleep(0.5)  # the app's writes during that check: not saves
            (root / "data.json").write_text('{"hits": 0}')
            checks.wait_for(3)
            (root / "notes.txt").write_text("a file of the learner's that is not code\n")
            time.sleep(2)
            assert checks.saves == [["app.py"], ["helpers.py"], ["data.json"]]
    assert leftovers(root) == []


def test_what_counts_as_the_learners_file(tmp_path: Path) -> None:
    starter = tmp_path / "starter"
    starter.mkdir()
    (starter / "app.py").write_text("x = 1\n")
    (starter / "schema.sql").write_text("CREATE TABLE t (x);\n")
    default = Workspace(tmp_path / "a", starter)
    default.prepare()
    assert [learner_file(default.root, rel) for rel in ("app.py", "pkg/new.py", "schema.sql")] == [True] * 3
    assert [learner_file(default.root, rel) for rel in ("app.log", "orders.db", "orders.db-journal")] == [False] * 3
    declared = Workspace(tmp_path / "b", starter, ("*.py", "templates/*.html"))
    declared.prepare()
    assert learner_file(declared.root, "templates/index.html")
    assert learner_file(declared.root, "app.py")
    assert not learner_file(declared.root, "schema.sql")  # the lesson's globs replace the default
