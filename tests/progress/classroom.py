"""A learner working through the classroom fixture pack in real sandboxes, as the app's parts do it: a
choice and a typed answer checked, SQL typed into the workbench a statement at a time, requests sent
from curl's place (httpx, no tutor header) with a token copied by hand and the lesson clock moved by a
request, code saved into the workspace. Each check goes through `record_check`, as the app's does."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner

from tutor.cli import main_group
from tutor.evidence import record_check, sha256_of
from tutor.pack.loader import Pack, load_pack
from tutor.paths import Home
from tutor.progress import ProgressStore
from tutor.progress_export import LEARNER_SETTING, record_digest
from tutor.session import Session

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "classroom"
RIGHT_APP = (FIXTURE / "build" / "hello" / "right" / "app.py").read_text()


def pack() -> Pack:
    loaded = load_pack(FIXTURE)
    assert loaded.pack is not None, loaded.problems
    return loaded.pack


def cli(home: Path, *args: str) -> Any:
    return CliRunner().invoke(main_group, list(args), env={"BACKEND_TUTOR_HOME": str(home), "COLUMNS": "120"})


def learn(home: Path, name: str = "Ada") -> None:
    """Pass every step but concepts/count, with a wrong try on the first."""
    the_pack = pack()
    tutor_home = Home(home).ensure()
    with ProgressStore.open(tutor_home.progress_db) as store:
        store.set_setting(LEARNER_SETTING, name)

        def lesson(lesson_id: str) -> Session:
            entry = the_pack.lesson_file(lesson_id)
            assert entry is not None
            session = Session(the_pack, entry.lesson, tutor_home)
            session.start()
            return session

        def passed(session: Session, step_id: str, answer: Any = None, sent: int = 0) -> None:
            step = next(s for s in session.lesson.steps if s.id == step_id)
            if sent:  # the recorder logs an exchange just after its last byte: a check comes later than that
                deadline = time.monotonic() + 5
                while len(session.api.evidence().exchanges()) < sent and time.monotonic() < deadline:  # type: ignore[union-attr]
                    time.sleep(0.01)
            result = session.check(step, answer)
            assert result.passed, result.explain()
            record_check(store, session, step, answer, result)

        with lesson("concepts") as session:
            pick, type_it = session.lesson.steps[0], session.lesson.steps[1]
            session.begin_step(pick)
            wrong = session.check(pick, "four")
            assert not wrong.passed
            record_check(store, session, pick, "four", wrong)
            passed(session, "pick", "five")
            session.begin_step(type_it)
            passed(session, "type-it", "409")

        with lesson("stock") as session:
            session.begin_step(session.lesson.steps[0])
            assert session.sql is not None
            for statement in (
                "BEGIN;",
                "UPDATE stock SET copies = copies - 30 WHERE warehouse = 'warehouse-1';",
                "SELECT * FROM stock;",
                "UPDATE stock SET copies = copies + 30 WHERE warehouse = 'warehouse-2';",
                "COMMIT;",
            ):
                assert session.sql.run_learner(statement).describe_error() is None
            passed(session, "transfer")

        with lesson("tokens") as session, httpx.Client(base_url=session.api.base_url, trust_env=False) as curl:  # type: ignore[union-attr]
            session.begin_step(session.lesson.steps[0])
            login = curl.post("/auth/login", json={"username": "alice", "password": "wonderland-42"}).json()
            assert curl.post("/_sandbox/clock", json={"advance": 301}).status_code == 200
            assert curl.get("/auth/me", headers={"Authorization": f"Bearer {login['access_token']}"}).status_code == 401
            passed(session, "expire", sent=3)
            session.begin_step(session.lesson.steps[1])
            fresh = curl.post("/auth/refresh", json={"refresh_token": login["refresh_token"]}).json()
            assert curl.get("/auth/me", headers={"Authorization": f"Bearer {fresh['access_token']}"}).status_code == 200
            passed(session, "refresh", sent=2)

        with lesson("hello") as session:
            session.begin_step(session.lesson.steps[0])
            assert session.workspace is not None
            (session.workspace.root / "app.py").write_text(RIGHT_APP)
            passed(session, "hello")


def export(home: Path, target: Path, fmt: str = "json") -> Path:
    result = cli(home, "progress", "export", "--pack", str(FIXTURE), "--format", fmt, "-o", str(target))
    assert result.exit_code == 0, result.output
    return target


def step_of(document: dict[str, Any], lesson_id: str, step_id: str) -> dict[str, Any]:
    lesson = next(lesson for lesson in document["lessons"] if lesson["id"] == lesson_id)
    return next(step for step in lesson["steps"] if step["id"] == step_id)


def seal(document: dict[str, Any], lesson_id: str, step_id: str) -> None:
    """Compute a step's evidence sha256 and digest again, as a learner who read the source could."""
    step = step_of(document, lesson_id, step_id)
    if "evidence" in step:
        step["evidence_sha256"] = sha256_of(step["evidence"])
    row = {
        "learner": document["learner"],
        "pack_id": document["pack"]["id"],
        "lesson_id": lesson_id,
        "step_id": step_id,
        "status": step["status"],
        "attempts": step.get("attempts", 0),
        "hints_used": step.get("hints_used", 0),
        "solution_viewed": int(bool(step.get("solution_viewed"))),
        "first_activity": step.get("first_activity") or "",
        "last_activity": step.get("last_activity") or "",
        "completed_at": step.get("completed_at") or "",
        "step_pack_version": step.get("pack_version") or "",
        "evidence_sha256": step.get("evidence_sha256") or "",
    }
    step["digest"] = record_digest(row)


def write(document: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path
