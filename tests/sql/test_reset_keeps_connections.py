"""F4 puts the step's data back inside the same database file: a learner's own `sqlite3` connection,
opened before the reset, reads the reset rows after it and can still write, and so can the API sandbox
that serves the same file."""

from __future__ import annotations

import sqlite3
import time

import httpx
import pytest

from sandboxes.api.sandbox import ApiSandbox
from sandboxes.sql.sandbox import RESET_BUSY_SECONDS, ResetBlocked, SqlSandbox
from tutor.pack.sandbox_api import ApiSettings


def test_an_outside_connection_reads_the_reset_rows_and_writes_after_a_reset(sandbox: SqlSandbox) -> None:
    outside = sqlite3.connect(sandbox.path, isolation_level=None)  # the learner's sqlite3 in a terminal
    try:
        inode = sandbox.path.stat().st_ino
        sandbox.run_learner("DELETE FROM books WHERE id <= 100")
        outside.execute("CREATE TABLE mine(a)")
        assert outside.execute("SELECT count(*) FROM books").fetchone() == (19900,)
        sandbox.reset()
        assert sandbox.path.stat().st_ino == inode  # the same file, not a new one in its place
        assert outside.execute("SELECT count(*) FROM books").fetchone() == (20000,)
        assert outside.execute("SELECT count(*) FROM sqlite_master WHERE name = 'mine'").fetchone() == (0,)
        outside.execute("INSERT INTO notes(body) VALUES ('written after F4')")  # was: readonly database
        assert sandbox.run_learner("SELECT body FROM notes").last.rows == [("written after F4",)]  # type: ignore[union-attr]
        snap = sandbox.snapshot()
        outside.execute("DELETE FROM notes")
        sandbox.restore(snap)  # a wrong answer undone by pack test, the same way
        assert outside.execute("SELECT body FROM notes").fetchall() == [("written after F4",)]
        outside.execute("UPDATE notes SET body = 'still writable'")
    finally:
        outside.close()


def test_a_reset_starts_the_learners_connection_afresh(sandbox: SqlSandbox) -> None:
    sandbox.run_learner("PRAGMA foreign_keys = ON; BEGIN; DELETE FROM authors WHERE id = 1")
    assert sandbox.in_transaction
    sandbox.reset()
    assert not sandbox.in_transaction
    assert sandbox.run_learner("PRAGMA foreign_keys").last.rows == [(0,)]  # type: ignore[union-attr]
    assert sandbox.run_learner("SELECT count(*) FROM authors").last.rows == [(500,)]  # type: ignore[union-attr]


def test_a_reset_held_up_by_an_open_transaction_says_what_to_do(sandbox: SqlSandbox) -> None:
    outside = sqlite3.connect(sandbox.path, isolation_level=None)
    try:
        outside.execute("BEGIN")
        outside.execute("UPDATE books SET year = 1 WHERE id = 1")
        started = time.monotonic()
        with pytest.raises(ResetBlocked, match="COMMIT or ROLLBACK it there, then reset again"):
            sandbox.reset()
        assert time.monotonic() - started < RESET_BUSY_SECONDS + 1
        outside.execute("ROLLBACK")
        sandbox.run_learner("DELETE FROM books WHERE id <= 5")
        sandbox.reset()
        assert outside.execute("SELECT count(*) FROM books").fetchone() == (20000,)
    finally:
        outside.close()


def test_the_api_sandbox_keeps_serving_the_same_file_across_a_reset(sandbox: SqlSandbox) -> None:
    settings = ApiSettings.model_validate({"resources": [{"name": "notes", "table": "notes", "writable": True}]})
    api = ApiSandbox.start(settings, database=sandbox.path)
    try:
        with httpx.Client(base_url=api.base_url, trust_env=False, timeout=10) as client:
            assert client.post("/v1/notes", json={"body": "before"}).status_code == 201
            sandbox.reset()
            assert client.get("/v1/notes").json()["items"] == []
            created = client.post("/v1/notes", json={"body": "after"})
            assert created.status_code == 201, created.text
            assert sandbox.run_learner("SELECT body FROM notes").last.rows == [("after",)]  # type: ignore[union-attr]
    finally:
        api.stop()


def test_a_step_that_opened_with_foreign_keys_on_reopens_with_them_on(home, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sandboxes.sql.sandbox import SqlSandbox
    from tests.sql.conftest import settings

    box = SqlSandbox.open(settings(), pack_root=tmp_path, home=home, lesson_id="fk")
    try:
        box.run_learner("PRAGMA foreign_keys = ON")
        opened = box.snapshot()  # the step opens here, enforcement on
        box.run_learner("PRAGMA foreign_keys = OFF; DELETE FROM notes")
        box.restore(opened)  # F4
        assert box.trial(["PRAGMA foreign_keys"])[0].rows == ((1,),)
        box.reset()  # the lesson's start: a new connection's defaults
        assert box.trial(["PRAGMA foreign_keys"])[0].rows == ((0,),)
    finally:
        box.close()
