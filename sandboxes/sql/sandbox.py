"""The SQL sandbox of one lesson in progress: a live copy of the lesson database, the learner's guarded
connection, and the evidence SQL checks read.

    sandbox = SqlSandbox.open(settings, pack_root=..., home=home, lesson_id="why-slow", progress=cb)
    sandbox.path                         # the live database file: `sqlite3 <path>` works on it
    result = sandbox.run_learner("SELECT ...; CREATE INDEX ...")
    sandbox.cancel()                     # from another thread: stops the running statement
    sandbox.reset()                      # the starting database's content, back in the same file

The learner's connection lives in a worker process (`sandboxes.sql.process`), with a memory cap and a
deadline that holds for any statement; the checks' re-runs of the learner's query (`query()`) and
their trials go through it too. The tutor's own reads (`connect()`) stay in the tutor.

`reset()` and `restore()` copy the content into the live file itself (SQLite's backup API), so other
connections to it (the API sandbox, a learner's `sqlite3` in a terminal) see the reset rows and can
still write; `generation` counts them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from tutor.files import write_atomic
from tutor.pack.sandbox_sql import SqlSettings
from tutor.paths import Home

from .build import ensure_template, fresh_copy, settings_key
from .guard import (
    MAX_GROWTH_BYTES,
    ROW_KEYWORDS,
    RunResult,
    StatementResult,
    authorizer,
    leading_keyword,
    strip_leading,
    unwrap_explain,
)
from .process import LearnerProcess

HISTORY_LIMIT = 200

_SAVEPOINT_STATEMENT = re.compile(
    r"(?P<verb>SAVEPOINT|RELEASE(?:\s+SAVEPOINT)?|ROLLBACK(?:\s+TRANSACTION)?\s+TO(?:\s+SAVEPOINT)?)\s+"
    r"(?P<name>\"(?:[^\"]|\"\")*\"|\[[^\]]*\]|`[^`]*`|'(?:[^']|'')*'|[^\s;]+)",
    re.IGNORECASE,
)
"""A statement that starts, releases or rolls back to a savepoint, and the savepoint's name."""


def _savepoint_name(text: str) -> str:
    """A savepoint's name as SQLite compares it: unquoted, case folded."""
    if text[:1] in "\"'`[" and len(text) >= 2:
        text = text[1:-1]
    return text.lower()


@dataclass(frozen=True)
class RanStatement:
    """A statement the learner ran successfully, and what became of the transaction it ran in:
    "none" (autocommit: it committed on its own), "open", "committed" or "rolled_back"."""

    sql: str
    transaction: str
    number: int | None = None  # which transaction (numbered from 1 per sandbox); None: autocommit
    changes: int = -1  # rows it inserted, updated or deleted (-1: not a write)
    at: float = 0.0  # when it finished (epoch seconds, wall clock): to order it against HTTP requests


@dataclass(frozen=True)
class TrialOutcome:
    """What one statement of a `trial()` did: SQLite's error (None when it ran), the rows it returned,
    and how many rows it changed."""

    sql: str
    error: str | None = None
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[object, ...], ...] = ()
    changes: int = -1

    @property
    def ok(self) -> bool:
        return self.error is None


Where = Literal["live", "step", "start"]
"""Which database a check's query reads: the learner's live one, the one the current step opened on,
or the lesson's starting database."""
TRIAL_SAVEPOINT = "backend_tutor_trial"
RESET_BUSY_SECONDS = 3.0
"""How long a reset waits for other connections to the live file (a learner's sqlite3 in the middle of a
write, a request of the API sandbox) before it says what is in the way."""

_tutor_authorizer = authorizer("tutor")
"""The tutor's own connections may read anything but never reach another file, load code or touch memory."""


class ResetBlocked(RuntimeError):
    """Another connection holds the live database (an open write transaction): the reset waited and
    gave up. The message says what to do."""


def read_only_connection(path: Path) -> sqlite3.Connection:
    """A read-only connection to a database file that nobody writes (a template)."""
    uri = f"file:{quote(str(path))}?mode=ro&immutable=1"
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
    conn.set_authorizer(_tutor_authorizer)
    return conn


class SqlSnapshot:
    """The live database's committed content at one moment, kept in a file beside it rather than in
    memory (a million-row lesson database is tens of megabytes; each step's opening state used to stay
    in the app's memory as bytes). The file goes when the snapshot is no longer referenced. It also keeps
    whether the learner's connection had `PRAGMA foreign_keys` on: a connection setting is part of the
    state a step opens on."""

    def __init__(self, path: Path, *, foreign_keys: bool = False) -> None:
        self.path = path
        self.foreign_keys = foreign_keys
        weakref.finalize(self, path.unlink, missing_ok=True)


def _drop_stale_snapshots(live: Path) -> None:
    """Snapshot files a tutor that was killed left beside this live file (their process is gone)."""
    for leftover in live.parent.glob(f".{live.name}.*.snapshot-*"):
        pid = leftover.name.removeprefix(f".{live.name}.").split(".", 1)[0]
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            leftover.unlink(missing_ok=True)
        except (ValueError, OSError):
            continue


def _readable_copy_of(live: Path, origin: Path, key: str) -> bool:
    """`live` exists, was copied from the template whose key is `key`, and SQLite can read its schema."""
    try:
        if not live.is_file() or origin.read_text().strip() != key:
            return False
        conn = sqlite3.connect(live, timeout=2.0)  # read-write: a hot journal left by a kill is rolled back
        try:
            conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        finally:
            conn.close()
    except (OSError, sqlite3.Error):
        return False
    return True


class SqlSandbox:
    def __init__(self, settings: SqlSettings, template: Path, path: Path, key: str = "") -> None:
        self.settings = settings
        self.kept = False
        """`open(keep=True)` found the learner's database from an earlier session and kept it."""
        self.template = template
        self.path = path
        self.key = key
        self.generation = 0
        self._lock = threading.RLock()
        self._learner: LearnerProcess | None = None
        self._tutors: dict[int, sqlite3.Connection] = {}  # thread id -> the tutor's connection there
        self._start: sqlite3.Connection | None = None
        self._statements: list[str] = []
        self._ran: list[tuple[str, int | None, int, float]] = []  # (statement, transaction or None, changes, at)
        self._step_start: SqlSnapshot | None = None  # what the current step opened on (`mark`)
        self._attempted: list[str] = []  # every statement the learner sent since `mark`, refused ones too
        self._transactions = 0  # transactions seen so far (numbers them)
        self._open_transaction: int | None = None
        self._ended: dict[int, str] = {}  # transaction number -> "committed" | "rolled_back"
        self._savepoints: list[tuple[str, int]] = []  # (name, index in _ran of the first statement after it)
        self._undone: set[int] = set()  # indexes in _ran of statements a ROLLBACK TO undid
        self._last_query: str | None = None
        self._closed = False
        self._snapshots = 0  # snapshot files made (numbers them)
        self._history_notice: str | None = None

    @classmethod
    def open(
        cls,
        settings: SqlSettings,
        *,
        pack_root: Path,
        home: Home,
        lesson_id: str,
        progress: Callable[[str, float], None] | None = None,
        live_name: str = "live",
        start_learner: bool = True,
        keep: bool = False,
    ) -> SqlSandbox:
        """Build (or reuse) the lesson's template and make a fresh live copy under `home.sessions`.

        `keep`: a learner coming back to a lesson part-way finds the database as they left it (the index
        made two steps ago is still there): the live file is kept when it was copied from this very
        template and SQLite can read it; `.kept` says whether it was. Its journal or WAL stays with it,
        so work committed before a crash or a kill is still in it.

        `start_learner`: start the learner's worker process now, without waiting for it (it is ready
        long before the first statement); otherwise it starts with the first statement."""
        home.ensure()
        key = settings_key(settings, pack_root)
        template = ensure_template(settings, pack_root=pack_root, cache_dir=home.cache, progress=progress)
        path = home.sessions / lesson_id / f"{live_name}.db"
        origin = path.with_name(f"{live_name}.template")  # the key of the template the live file came from
        kept = keep and _readable_copy_of(path, origin, key)
        if not kept:
            fresh_copy(template, path)
            write_atomic(origin, f"{key}\n", durable=False)
        _drop_stale_snapshots(path)
        path.with_name(f".{path.stem}.spare.db").unlink(missing_ok=True)  # an earlier version's spare copy
        sandbox = cls(settings, template, path, key)
        sandbox.kept = kept
        if start_learner:
            sandbox.learner()
        return sandbox

    # -- connections -----------------------------------------------------------------------------
    def learner(self) -> LearnerProcess:
        """The learner's guarded connection, in its worker process."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the SQL sandbox is closed")
            if self._learner is None:
                self._learner = LearnerProcess(
                    self.path,
                    time_limit=self.settings.time_limit,
                    max_db_bytes=self._max_db_bytes(),
                    memory_limit=self.settings.memory_limit * 1024 * 1024,
                )
            self._learner.time_limit = self.settings.time_limit
            return self._learner

    def _max_db_bytes(self) -> int:
        """The lesson database may grow this far: its starting size plus a fixed allowance, however
        often the learner's connection reopens."""
        try:
            start = self.template.stat().st_size
        except OSError:
            start = 0
        return start + MAX_GROWTH_BYTES

    def connect(self) -> sqlite3.Connection:
        """The tutor's own connection to the live database: reads only (query_only), never the learner's.

        One per thread. Its authorizer calls back into Python while SQLite holds the connection's mutex,
        and Python's sqlite3 takes that mutex in places without letting go of the GIL: two threads on
        one connection (the workbench's schema panel and the plan of the query just run) deadlocked."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the SQL sandbox is closed")
            conn = self._tutors.get(threading.get_ident())
            if conn is None:
                conn = sqlite3.connect(self.path, check_same_thread=False, timeout=2.0, isolation_level=None)
                conn.set_authorizer(_tutor_authorizer)
                conn.execute("PRAGMA query_only = ON")
                self._tutors[threading.get_ident()] = conn
            return conn

    def connect_start(self) -> sqlite3.Connection:
        """A read-only connection to the starting database (the template every learner gets)."""
        with self._lock:
            if self._start is None:
                self._start = read_only_connection(self.template)
            return self._start

    def _close_live(self) -> None:
        self._end_transaction("rolled_back")  # closing a connection throws its open transaction away
        if self._learner is not None:
            self._learner.close()
            self._learner = None
        for conn in self._tutors.values():
            conn.close()
        self._tutors.clear()

    def _sync_transaction(self) -> None:
        """A restart of the learner's connection (a check's query or trial that ran past the limit)
        rolled back their open transaction: the evidence says so."""
        learner = self._learner
        if self._open_transaction is not None and learner is not None and not learner.in_transaction:
            self._end_transaction("rolled_back")

    # -- the learner -----------------------------------------------------------------------------
    def run_learner(self, sql: str) -> RunResult:
        """Run the learner's SQL (one or more statements) on the guarded connection; record evidence."""
        result = self.learner().run(sql)
        with self._lock:
            for one in result.statements:
                transaction = self._follow_transaction(one)
                self._attempted.append(one.statement.sql)
                if not one.ok:
                    continue
                self._statements.append(one.statement.sql)
                self._ran.append((one.statement.sql, transaction, one.changes, time.time()))
                if transaction is not None:
                    self._follow_savepoint(one.statement.sql)
                inner = unwrap_explain(one.statement.sql)
                if one.returns_rows and leading_keyword(inner) in ROW_KEYWORDS:
                    self._last_query = inner
        return result

    def _follow_transaction(self, one: StatementResult) -> int | None:
        """The number of the transaction `one` ran in (None: autocommit); notes where transactions end."""
        before, after = one.in_transaction_before, one.in_transaction_after
        if (before or after) and self._open_transaction is None:
            self._transactions += 1
            self._open_transaction = self._transactions
        number = self._open_transaction if (before or after) else None
        if before and not after:
            ended_by_commit = one.ok and leading_keyword(one.statement.sql) in ("COMMIT", "END", "RELEASE")
            self._end_transaction("committed" if ended_by_commit else "rolled_back")
        return number

    def _follow_savepoint(self, sql: str) -> None:
        """Note a SAVEPOINT, a RELEASE or a ROLLBACK TO that just ran (the last of `_ran`): a ROLLBACK TO
        undoes the statements run since its savepoint, though the transaction goes on."""
        match = _SAVEPOINT_STATEMENT.match(strip_leading(sql))
        if match is None:
            return
        name = _savepoint_name(match.group("name"))
        here = len(self._ran) - 1
        verb = match.group("verb").upper()
        if verb == "SAVEPOINT":
            self._savepoints.append((name, here + 1))
            return
        found = next((i for i in range(len(self._savepoints) - 1, -1, -1) if self._savepoints[i][0] == name), None)
        if found is None:
            return
        if verb.startswith("RELEASE"):
            del self._savepoints[found:]
            return
        self._undone.update(range(self._savepoints[found][1], here))  # ROLLBACK TO: the savepoint stays
        del self._savepoints[found + 1 :]

    def _end_transaction(self, outcome: str) -> None:
        self._savepoints = []
        if self._open_transaction is not None:
            self._ended[self._open_transaction] = outcome
            self._open_transaction = None

    def cancel(self) -> None:
        """Stop the learner's running statement. Safe from any thread; a no-op when nothing runs."""
        learner = self._learner
        if learner is not None:
            learner.cancel()

    @property
    def in_transaction(self) -> bool:
        learner = self._learner
        return learner is not None and learner.in_transaction

    @property
    def foreign_keys(self) -> bool:
        """Whether the learner's connection has `PRAGMA foreign_keys` on (kept across a restart)."""
        learner = self._learner
        return learner is not None and learner.foreign_keys

    # -- evidence --------------------------------------------------------------------------------
    def mark(self, step_start: SqlSnapshot | None = None) -> None:
        """Evidence (statements run, the last query) counts from here. `step_start` is the state the
        current step opened on: what `query(on="step")` reads."""
        with self._lock:
            if step_start is not None:
                self._step_start = step_start
            self._savepoints = [(name, 0) for name, _ in self._savepoints]  # still open, nothing after them yet
            self._statements = []
            self._attempted = []
            self._ran = []
            self._undone = set()
            self._last_query = None

    def last_query(self) -> str | None:
        return self._last_query

    def statements(self) -> Sequence[str]:
        return tuple(self._statements)

    def attempted(self) -> Sequence[str]:
        """Every statement the learner sent since the step opened, the refused and failed ones too (a
        declared mistake can be one SQLite refuses)."""
        return tuple(self._attempted)

    def ran(self) -> Sequence[RanStatement]:
        """The statements since `mark()`, each with the fate of its transaction as of now."""
        with self._lock:
            out: list[RanStatement] = []
            for index, (sql, number, changes, at) in enumerate(self._ran):
                state = "none" if number is None else self._ended.get(number, "open")
                if index in self._undone:
                    state = "rolled_back"
                out.append(RanStatement(sql, state, number, changes, at))
            return out

    def evidence(self) -> SqlSandboxEvidence:
        return SqlSandboxEvidence(self)

    # -- what checks run ---------------------------------------------------------------------------
    def query(
        self, sql: str, *, on: Where = "live", reverse_unordered: bool = False
    ) -> tuple[list[str], list[tuple[object, ...]]]:
        """Run a read-only query for a check and return (column names, rows).

        `on`: the learner's live database, the state the current step opened on (a reference result is
        computed there, so data the learner changed cannot make it agree with theirs), or the lesson's
        starting database. `reverse_unordered`: with SQLite's `PRAGMA reverse_unordered_selects` on, so a
        query whose order only happens to be right (no ORDER BY, or no tie-breaker) shows it.

        It runs in the learner's worker process, so it is bounded like their statements: the lesson's
        time limit and memory cap, and at most QUERY_MAX_ROWS rows (QUERY_MAX_BYTES of data) read
        back. A limit raises `sandboxes.sql.process.QueryLimit` (an sqlite3.OperationalError) whose
        message says which, in the learner's words; an SQL error raises sqlite3.OperationalError."""
        if on == "start":
            path, immutable = self.template, True
        elif on == "step" and self._step_start is not None:
            path, immutable = self._step_start.path, True
        else:
            path, immutable = self.path, False
        try:
            return self.learner().query(path, sql, immutable=immutable, reverse_unordered=reverse_unordered)
        finally:
            with self._lock:
                self._sync_transaction()

    def trial(self, statements: Sequence[str]) -> list[TrialOutcome]:
        """Run `statements` in order on the learner's own connection, inside a savepoint that is rolled
        back afterwards: nothing of them stays. They see what the learner's connection sees (its PRAGMA
        settings such as `foreign_keys`, its open transaction) and go through the same guard, time
        limit and memory cap (in the learner's worker process). Behaviour checks use it: a row a
        constraint must refuse, an orphan a foreign key must refuse, the learner's own UPDATE replayed
        against a row someone else has moved on."""
        learner = self.learner()
        with self._lock:
            results = learner.trial(statements, TRIAL_SAVEPOINT)
            self._sync_transaction()
        return [
            TrialOutcome(sql, one.error, tuple(one.columns), tuple(tuple(r) for r in one.rows), one.changes)
            for sql, one in zip(statements, results, strict=True)
        ]

    # -- state -----------------------------------------------------------------------------------
    def reset(self) -> None:
        """The starting database's content, copied into the live file (the learner's connection starts
        afresh, as a new connection: its open transaction rolled back, PRAGMAs back to their defaults).

        The file stays the same file: a learner's `sqlite3` opened on it before the reset reads the reset
        rows after it and can still write, and so can the API sandbox."""
        self._put_back(self.template)
        with self._lock:
            self._statements = []
            self._attempted = []
            self._ran = []
            self._undone = set()
            self._last_query = None

    def _put_back(self, source: Path, foreign_keys: bool = False) -> None:
        """Copy `source`'s content into the live file, page by page, through SQLite (the backup API):
        other connections to the live file notice the change as they would any other writer's. About
        35 ms for a 39 MB (1,000,000-row) database here; no journal is kept, since a reset that is
        interrupted half-way is followed by a fresh copy on the next lesson start anyway."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the SQL sandbox is closed")
            self._end_transaction("rolled_back")
            with self.learner().set_aside(foreign_keys):
                self._copy_into_live(source)
            self.generation += 1

    def _copy_into_live(self, source: Path) -> None:
        origin = read_only_connection(source)
        target = sqlite3.connect(self.path, timeout=RESET_BUSY_SECONDS, isolation_level=None)
        give_up = time.monotonic() + RESET_BUSY_SECONDS
        blocked = (
            "another connection to the lesson database is in the middle of a transaction (a sqlite3 shell of "
            "yours?): COMMIT or ROLLBACK it there, then reset again"
        )

        def waited(status: int, remaining: int, total: int) -> None:
            # Python's backup() retries a locked database for ever; this ends it
            if status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) and time.monotonic() > give_up:
                raise ResetBlocked(blocked)

        try:
            target.execute("PRAGMA journal_mode = OFF")
            target.execute("PRAGMA synchronous = OFF")
            origin.backup(target, progress=waited, sleep=0.05)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise ResetBlocked(blocked) from exc
            raise
        finally:
            target.close()
            origin.close()

    def snapshot(self) -> SqlSnapshot:
        """The live database's committed content, copied into a file beside it (SQLite's backup API: an
        open transaction's changes are not in it).

        Read through a connection of its own, never the shared tutor connection: the copy keeps the GIL
        while it waits for that connection's mutex, and a worker reading the schema on the shared
        connection holds the mutex while it waits for the GIL (to run the authorizer), so the two
        deadlocked."""
        with self._lock:
            self._snapshots += 1
            target = self.path.with_name(f".{self.path.name}.{os.getpid()}.snapshot-{self._snapshots}")
            source = sqlite3.connect(self.path, check_same_thread=False, timeout=2.0, isolation_level=None)
            try:
                copy = sqlite3.connect(target, isolation_level=None)
                try:
                    source.backup(copy)
                finally:
                    copy.close()
            except BaseException:
                target.unlink(missing_ok=True)
                raise
            finally:
                source.close()
            return SqlSnapshot(target, foreign_keys=self.foreign_keys)

    def restore(self, snapshot: SqlSnapshot) -> None:
        """Put back a `snapshot()`: the live file's content becomes exactly that (the snapshot stays
        usable), in the same file, as `reset()` does; the learner's new connection has `foreign_keys` as
        it was when the snapshot was taken (a step that opened with enforcement on reopens with it on)."""
        self._put_back(snapshot.path, snapshot.foreign_keys)

    def close(self) -> None:
        with self._lock:
            self._close_live()
            # this sandbox's snapshot files: quitting ends the process without running their finalizers
            for snapshot in self.path.parent.glob(f".{self.path.name}.{os.getpid()}.snapshot-*"):
                snapshot.unlink(missing_ok=True)
            if self._start is not None:
                self._start.close()
                self._start = None
            self._closed = True

    # -- query history (per lesson, kept next to the live database) ------------------------------
    @property
    def history_path(self) -> Path:
        return self.path.with_name("history.jsonl")

    def history(self) -> list[str]:
        """Queries the learner ran in this lesson, oldest first (survives restarts). A damaged file (a
        line that is not UTF-8 or not JSON) is set aside, its readable queries are kept, and
        `take_history_notice()` says so once."""
        try:
            raw = self.history_path.read_bytes()
        except OSError:
            return []
        out: list[str] = []
        damaged: BaseException | None = None
        for line in raw.splitlines():
            try:
                item = json.loads(line.decode("utf-8")) if line.strip() else None
            except ValueError as exc:  # UnicodeDecodeError, JSONDecodeError
                damaged = damaged or exc
                continue
            if isinstance(item, dict) and isinstance(item.get("sql"), str):
                out.append(item["sql"])
        out = out[-HISTORY_LIMIT:]
        if damaged is not None:
            self._heal_history(out, damaged)
        return out

    def _heal_history(self, kept: list[str], error: BaseException) -> None:
        from tutor.files import damaged_notice

        notice = damaged_notice(self.history_path, error, "This lesson's query history")
        with contextlib.suppress(OSError):
            self._write_history(kept)
        count = f"the {len(kept)} queries" if len(kept) != 1 else "the 1 query"
        self._history_notice = f"{notice} with {count} that could be read"

    def take_history_notice(self) -> str | None:
        """One line for the learner when a damaged history file was set aside (then None)."""
        notice, self._history_notice = self._history_notice, None
        return notice

    def add_history(self, sql: str) -> None:
        text = sql.strip()
        if not text:
            return
        items = self.history()
        if items and items[-1] == text:
            return
        items.append(text)
        self._write_history(items[-HISTORY_LIMIT:])

    def _write_history(self, items: list[str]) -> None:
        from tutor.files import write_atomic

        now = round(time.time())
        write_atomic(self.history_path, "".join(json.dumps({"sql": s, "at": now}) + "\n" for s in items))


class SqlSandboxEvidence:
    """The `SqlEvidence` the check kinds read (see tutor/checks/base.py)."""

    def __init__(self, sandbox: SqlSandbox) -> None:
        self.sandbox = sandbox

    def last_query(self) -> str | None:
        return self.sandbox.last_query()

    def statements(self) -> Sequence[str]:
        return self.sandbox.statements()

    def attempted(self) -> Sequence[str]:
        return self.sandbox.attempted()

    def ran(self) -> Sequence[RanStatement]:
        return self.sandbox.ran()

    def connect(self) -> sqlite3.Connection:
        return self.sandbox.connect()

    def connect_start(self) -> sqlite3.Connection:
        return self.sandbox.connect_start()

    def query(
        self, sql: str, *, on: str = "live", reverse_unordered: bool = False
    ) -> tuple[list[str], list[tuple[object, ...]]]:
        if on not in ("live", "step", "start"):
            raise ValueError(f"on={on!r}: a query reads 'live', 'step' or 'start'")
        where: Where = "live" if on == "live" else "step" if on == "step" else "start"
        return self.sandbox.query(sql, on=where, reverse_unordered=reverse_unordered)

    def trial(self, statements: Sequence[str]) -> list[TrialOutcome]:
        return self.sandbox.trial(statements)

    def in_transaction(self) -> bool:
        """The learner has an open transaction (their uncommitted changes are invisible to checks)."""
        return self.sandbox.in_transaction
