from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sandboxes.sql.guard import split_statements
from sandboxes.sql.sandbox import SqlSandbox
from tests.sql.conftest import settings
from tutor.paths import Home

RUNAWAY = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"


def test_live_copy_is_a_real_file_under_sessions(sandbox: SqlSandbox, home: Home) -> None:
    assert sandbox.path.is_relative_to(home.sessions)
    assert sandbox.template.is_relative_to(home.cache)
    conn = sqlite3.connect(sandbox.path)
    assert conn.execute("SELECT count(*) FROM books").fetchone() == (20000,)


def test_several_statements_results_and_caps(sandbox: SqlSandbox) -> None:
    result = sandbox.run_learner("SELECT * FROM books; SELECT count(*) FROM authors;\nUPDATE notes SET body = 'x'")
    assert result.ok and len(result.statements) == 3
    books, authors, update = result.statements
    assert books.total_rows == 20000 and len(books.rows) == 1000 and books.truncated
    assert books.columns[:3] == ["id", "title", "author_id"]
    assert authors.rows == [(500,)]
    assert update.changes == 0 and not update.returns_rows
    assert update.statement.line == 2


def test_errors_say_where(sandbox: SqlSandbox) -> None:
    result = sandbox.run_learner("SELECT 1;\n  SELEC 2;\nSELECT 3")
    assert not result.ok and len(result.statements) == 2 and result.not_run == 1
    failed = result.error
    assert failed is not None
    assert "syntax error" in (failed.error or "")
    assert failed.where == "statement 2, line 2, column 3"
    missing = sandbox.run_learner("SELECT * FROM nope").error
    assert missing is not None and missing.error == "no such table: nope"
    assert missing.where == "statement 1 (line 1, column 1)"
    assert "Error in statement 2" in (result.describe_error() or "")


def test_split_respects_quotes_comments_and_triggers() -> None:
    script = """
    -- a comment; with a semicolon
    SELECT 'a;b';  /* c; */ SELECT "x;y" FROM t;
    CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = 1; DELETE FROM t; END;
    ;
    SELECT 4
    """
    parts = [s.sql for s in split_statements(script)]
    assert parts[0] == "SELECT 'a;b';"
    assert parts[1] == 'SELECT "x;y" FROM t;'
    assert parts[2].startswith("CREATE TRIGGER") and parts[2].endswith("END;")
    assert parts[3] == "SELECT 4"
    assert len(parts) == 4


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        ("ATTACH DATABASE 'other.db' AS other", "ATTACH"),
        ("SELECT load_extension('evil')", "load_extension"),
        ("PRAGMA writable_schema = 1", "writable_schema"),
        ("PRAGMA journal_mode = OFF", "journal_mode may be read"),
        ("VACUUM INTO 'copy.db'", "VACUUM INTO"),
        ("DETACH DATABASE main", "DETACH"),
    ],
)
def test_hostile_sql_is_denied_and_connection_survives(sandbox: SqlSandbox, sql: str, says: str) -> None:
    result = sandbox.run_learner(sql)
    assert not result.ok
    assert "not authorized" in (result.error.error or "") and says in (result.error.error or "")  # type: ignore[union-attr]
    assert sandbox.run_learner("SELECT count(*) FROM authors").last.rows == [(500,)]  # type: ignore[union-attr]
    assert not (sandbox.path.parent / "copy.db").exists()


def test_introspection_pragmas_are_allowed(sandbox: SqlSandbox) -> None:
    result = sandbox.run_learner(
        "PRAGMA table_info(books); PRAGMA index_list(books); PRAGMA foreign_key_list(books);"
        "SELECT * FROM pragma_table_info('authors'); PRAGMA page_count; PRAGMA foreign_keys = ON"
    )
    assert result.ok, result.describe_error()
    assert result.statements[0].total_rows == 7


def test_runaway_query_is_stopped_by_the_time_limit(sandbox: SqlSandbox) -> None:
    started = time.monotonic()
    result = sandbox.run_learner(RUNAWAY)
    assert time.monotonic() - started < 3
    failed = result.error
    assert failed is not None and failed.stopped and "time limit" in (failed.error or "")
    assert sandbox.run_learner("SELECT 1").last.rows == [(1,)]  # type: ignore[union-attr]


def test_cancel_from_another_thread(sandbox: SqlSandbox) -> None:
    sandbox.settings = sandbox.settings.model_copy(update={"time_limit": 30})
    box: dict[str, object] = {}
    worker = threading.Thread(target=lambda: box.setdefault("r", sandbox.run_learner(RUNAWAY)))
    worker.start()
    time.sleep(0.2)
    started = time.monotonic()
    sandbox.cancel()
    worker.join(5)
    assert not worker.is_alive() and time.monotonic() - started < 1
    result = box["r"]
    assert result.error is not None and result.error.error == "interrupted: cancelled"  # type: ignore[attr-defined]
    assert sandbox.run_learner("SELECT 2").last.rows == [(2,)]  # type: ignore[union-attr]


def test_evidence_counts_from_mark(sandbox: SqlSandbox) -> None:
    sandbox.run_learner("SELECT 1")
    sandbox.mark()
    evidence = sandbox.evidence()
    assert evidence.statements() == () and evidence.last_query() is None
    sandbox.run_learner("SELECT id FROM books LIMIT 1; CREATE INDEX ix ON books(year); SELEC oops")
    assert evidence.statements() == ("SELECT id FROM books LIMIT 1;", "CREATE INDEX ix ON books(year);")
    assert evidence.last_query() == "SELECT id FROM books LIMIT 1;"
    sandbox.run_learner("EXPLAIN QUERY PLAN SELECT * FROM books WHERE year = 2000; PRAGMA table_info(books)")
    assert evidence.last_query() == "SELECT * FROM books WHERE year = 2000;"


def test_transactions_are_the_learners(sandbox: SqlSandbox) -> None:
    sandbox.run_learner("BEGIN; DELETE FROM authors WHERE id = 1")
    evidence = sandbox.evidence()
    assert evidence.in_transaction()
    assert evidence.connect().execute("SELECT count(*) FROM authors").fetchone() == (500,)
    sandbox.run_learner("COMMIT")
    assert evidence.connect().execute("SELECT count(*) FROM authors").fetchone() == (499,)


def test_tutor_connection_only_reads(sandbox: SqlSandbox) -> None:
    with pytest.raises(sqlite3.OperationalError):
        sandbox.connect().execute("DELETE FROM books")
    with pytest.raises(sqlite3.OperationalError):
        sandbox.connect_start().execute("DELETE FROM books")


def test_reset_snapshot_restore(sandbox: SqlSandbox) -> None:
    sandbox.run_learner("DELETE FROM books WHERE id <= 100")
    snap = sandbox.snapshot()
    sandbox.run_learner("DELETE FROM books")
    assert sandbox.connect().execute("SELECT count(*) FROM books").fetchone() == (0,)
    sandbox.restore(snap)
    assert sandbox.connect().execute("SELECT count(*) FROM books").fetchone() == (19900,)
    assert sandbox.run_learner("SELECT count(*) FROM books").last.rows == [(19900,)]  # type: ignore[union-attr]
    generation = sandbox.generation
    sandbox.reset()
    assert sandbox.generation == generation + 1
    assert sandbox.run_learner("SELECT count(*) FROM books").last.rows == [(20000,)]  # type: ignore[union-attr]
    sandbox.reset()  # twice: the same file takes the starting content again
    assert sandbox.connect().execute("SELECT count(*) FROM books").fetchone() == (20000,)


def test_open_reuses_the_template(home: Home, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from .conftest import settings

    calls: list[str] = []
    one = SqlSandbox.open(
        settings(), pack_root=tmp_path, home=home, lesson_id="a", progress=lambda w, f: calls.append(w)
    )
    two = SqlSandbox.open(
        settings(), pack_root=tmp_path, home=home, lesson_id="b", progress=lambda w, f: calls.append(w)
    )
    try:
        assert one.template == two.template and one.path != two.path
        assert calls[-1] == "lesson database ready (cached)"
        assert any(c.startswith("generating") for c in calls)
    finally:
        one.close()
        two.close()


def test_history_is_per_lesson(sandbox: SqlSandbox) -> None:
    sandbox.add_history("SELECT 1")
    sandbox.add_history("SELECT 1")
    sandbox.add_history("SELECT 2")
    assert sandbox.history() == ["SELECT 1", "SELECT 2"]


def test_a_damaged_history_keeps_what_it_can_read_and_says_so_once(sandbox: SqlSandbox) -> None:
    sandbox.add_history("SELECT 1")
    with sandbox.history_path.open("ab") as out:
        out.write(b"\xff\xfe not text\n")
    sandbox.add_history("SELECT 2")  # reads the damaged file first: it is set aside, then written whole
    assert sandbox.history() == ["SELECT 1", "SELECT 2"]
    notice = sandbox.take_history_notice()
    assert notice is not None and "the 1 query that could be read" in notice
    assert sandbox.take_history_notice() is None
    assert len(list(sandbox.history_path.parent.glob("history.jsonl.damaged-*"))) == 1


def test_a_snapshot_lives_in_a_file_that_goes_with_it(sandbox: SqlSandbox) -> None:
    """A step's opening state is a file beside the live database, not the database's bytes in the
    app's memory (a million-row lesson made that 34 MB); it is deleted once nothing refers to it."""
    import gc

    sandbox.run_learner("BEGIN; DELETE FROM books WHERE id <= 10")  # not committed: not in the snapshot
    snap = sandbox.snapshot()
    assert snap.path.parent == sandbox.path.parent and snap.path.stat().st_size > 100_000
    copy = sqlite3.connect(snap.path)
    assert copy.execute("SELECT count(*) FROM books").fetchone() == (20000,)
    copy.close()
    sandbox.run_learner("ROLLBACK")
    sandbox.run_learner("DELETE FROM books")
    sandbox.restore(snap)
    sandbox.restore(snap)  # a snapshot can be put back more than once (F4 twice)
    assert sandbox.connect().execute("SELECT count(*) FROM books").fetchone() == (20000,)
    path = snap.path
    del snap
    gc.collect()
    assert not path.exists()
    kept = sandbox.snapshot()
    sandbox.close()  # the app quits without finalizers: closing removes what is left
    assert not kept.path.exists()


def test_snapshots_a_killed_tutor_left_are_removed_on_the_next_open(home: Home, tmp_path: Path) -> None:
    import os

    first = SqlSandbox.open(settings(), pack_root=tmp_path, home=home, lesson_id="leftovers")
    stale = first.path.with_name(f".{first.path.name}.999999999.snapshot-1")  # no such process
    stale.write_bytes(b"x")
    first.close()
    alive = first.path.with_name(f".{first.path.name}.{os.getpid()}.snapshot-7")  # another sandbox's
    alive.write_bytes(b"x")
    second = SqlSandbox.open(settings(), pack_root=tmp_path, home=home, lesson_id="leftovers")
    try:
        assert not stale.exists()
        assert alive.exists()  # this process is running: its snapshot may be in use
    finally:
        second.close()
        alive.unlink(missing_ok=True)


def test_two_threads_reading_through_the_tutor_connection_do_not_deadlock(tmp_path: Path) -> None:
    """The workbench reads the schema in one worker while it explains the learner's query in another.
    On one shared connection (whose authorizer calls back into Python) the two deadlocked, holding the
    GIL, so the whole process froze: the probe runs in a process of its own, with a time limit."""
    import subprocess
    import sys

    probe = f"""
import threading
from pathlib import Path
from sandboxes.sql.plan import explain
from sandboxes.sql.sandbox import SqlSandbox
from sandboxes.sql.schema import read_schema
from tests.sql.conftest import settings
from tutor.paths import Home

home = Home(Path({str(tmp_path / "home")!r}))
sandbox = SqlSandbox.open(settings(), pack_root=Path({str(tmp_path)!r}), home=home, lesson_id="books")

def schema():
    for _ in range(3000):
        read_schema(sandbox.connect())

def plans():
    for _ in range(3000):
        explain(sandbox.connect(), "SELECT * FROM books WHERE author_id = 7")

workers = [threading.Thread(target=schema), threading.Thread(target=plans)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
sandbox.close()
print("both done")
"""
    from tests.conftest import REPO

    try:
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError("the two readers deadlocked") from None
    assert done.stdout.strip() == "both done", done.stderr[-2000:]


def test_a_trial_runs_on_the_learners_connection_and_leaves_nothing(sandbox: SqlSandbox) -> None:
    sandbox.run_learner("PRAGMA foreign_keys = ON; BEGIN; DELETE FROM notes;")
    outcomes = sandbox.trial(
        ["PRAGMA foreign_keys", "INSERT INTO notes(body) VALUES ('kept?')", "INSERT INTO notes(body) VALUES (NULL)"]
    )
    assert outcomes[0].rows == ((1,),)  # the learner's own setting, not a fresh connection's
    assert outcomes[1].ok and outcomes[1].changes == 1
    assert outcomes[2].error is not None and "NOT NULL" in outcomes[2].error
    assert sandbox.in_transaction  # the learner's open transaction is still theirs
    sandbox.run_learner("INSERT INTO notes(body) VALUES ('mine'); COMMIT;")
    assert sandbox.query("SELECT body FROM notes")[1] == [("mine",)]  # the trial's row is gone


def test_queries_read_the_step_start_and_can_reverse_unordered_selects(sandbox: SqlSandbox) -> None:
    sandbox.mark(sandbox.snapshot())
    sandbox.run_learner("DELETE FROM books WHERE id <= 10")
    assert sandbox.query("SELECT count(*) FROM books", on="step")[1] == [(20000,)]
    assert sandbox.query("SELECT count(*) FROM books")[1] == [(19990,)]
    assert sandbox.query("SELECT count(*) FROM books", on="start")[1] == [(20000,)]
    plain = sandbox.query("SELECT id FROM books WHERE id > 100 LIMIT 3")[1]
    reversed_ = sandbox.query("SELECT id FROM books WHERE id > 100 LIMIT 3", reverse_unordered=True)[1]
    ordered = sandbox.query("SELECT id FROM books WHERE id > 100 ORDER BY id LIMIT 3", reverse_unordered=True)[1]
    assert plain == ordered == [(101,), (102,), (103,)]
    assert reversed_ != plain  # without ORDER BY the order was luck


def test_refused_statements_are_kept_as_attempts(sandbox: SqlSandbox) -> None:
    sandbox.mark()
    sandbox.run_learner("SELECT 1; PRAGMA optimize; SELECT 2")
    assert [s.rstrip(";") for s in sandbox.statements()] == ["SELECT 1"]  # what ran
    assert [s.rstrip(";") for s in sandbox.attempted()] == ["SELECT 1", "PRAGMA optimize"]  # up to the refusal


def test_a_learner_coming_back_finds_their_database_as_they_left_it(home: Home, tmp_path: Path) -> None:
    """Reopening a lesson part-way keeps the live database (the index made two steps ago is still
    there); without `keep`, or once the lesson's data changed, it starts afresh from the template."""

    def indexes(box: SqlSandbox) -> list[str]:
        rows = box.connect().execute("SELECT name FROM sqlite_schema WHERE type = 'index' AND name = 'by_year'")
        return [name for (name,) in rows]

    first = SqlSandbox.open(settings(), pack_root=tmp_path, home=home, lesson_id="again")
    first.run_learner("CREATE INDEX by_year ON books(year); DELETE FROM books WHERE id <= 5")
    first.close()

    kept = SqlSandbox.open(settings(), pack_root=tmp_path, home=home, lesson_id="again", keep=True)
    try:
        assert kept.kept
        assert indexes(kept) == ["by_year"]
        assert kept.connect().execute("SELECT count(*) FROM books").fetchone() == (19995,)
    finally:
        kept.close()

    changed = SqlSandbox.open(
        settings(sql="CREATE TABLE other(x);"), pack_root=tmp_path, home=home, lesson_id="again", keep=True
    )
    try:
        assert not changed.kept  # another template: the old file is not this lesson's any more
        assert indexes(changed) == []
    finally:
        changed.close()

    fresh = SqlSandbox.open(settings(), pack_root=tmp_path, home=home, lesson_id="again")
    try:
        assert not fresh.kept and indexes(fresh) == []
        assert fresh.connect().execute("SELECT count(*) FROM books").fetchone() == (20000,)
    finally:
        fresh.close()


def test_a_kept_database_keeps_committed_work_and_drops_what_a_kill_left_uncommitted(
    home: Home, tmp_path: Path
) -> None:
    """A tutor killed mid-transaction leaves a WAL (or a hot journal): what was committed is kept, the
    half-done transaction is rolled back, as SQLite itself recovers."""
    first = SqlSandbox.open(settings(), pack_root=tmp_path, home=home, lesson_id="killed")
    path = first.path
    first.close()
    script = (
        "import os, sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "db.execute('PRAGMA journal_mode=WAL')\n"
        "db.execute('DELETE FROM books WHERE id <= 3')\n"  # committed
        "db.execute('BEGIN')\n"
        "db.execute('DELETE FROM books')\n"  # never committed: the process dies with it open
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60)
    assert path.with_name(path.name + "-wal").exists()
    again = SqlSandbox.open(settings(), pack_root=tmp_path, home=home, lesson_id="killed", keep=True)
    try:
        assert again.kept
        assert again.connect().execute("SELECT count(*) FROM books").fetchone() == (19997,)
    finally:
        again.close()


def test_an_unreadable_database_is_not_kept(home: Home, tmp_path: Path) -> None:
    first = SqlSandbox.open(settings(), pack_root=tmp_path, home=home, lesson_id="broken")
    path = first.path
    first.close()
    path.write_bytes(b"this is not a database" * 100)
    again = SqlSandbox.open(settings(), pack_root=tmp_path, home=home, lesson_id="broken", keep=True)
    try:
        assert not again.kept
        assert again.connect().execute("SELECT count(*) FROM books").fetchone() == (20000,)
    finally:
        again.close()
