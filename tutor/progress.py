"""The learner's progress, in `$BACKEND_TUTOR_HOME/progress.db` (SQLite). No Textual, no heavy imports.

Kept per pack id and lesson/step id, so a new version of a pack that renames or removes lessons keeps
the progress of the rest; the pack version last seen is recorded with each step. Every change is its own
committed transaction (WAL journal, busy timeout): a `kill -9` loses nothing already reported saved, and
two tutor windows can write at once. A damaged file is rebuilt from every row that can still be read
(tutor/progress_recover.py), the original is kept as `progress.db.damaged-<timestamp>`, and
`store.notice` says what was kept and what was not. A file written by a newer backend-tutor is refused
(`ProgressTooNew`) and left as it is: it is never read as "no progress".

    store = ProgressStore.open(home.progress_db)
    store.visit(pack_id, version, lesson_id, step_id)       # the step is current (and the position)
    store.record_attempt(pack_id, version, lesson_id, step_id, passed=False)
    store.lesson_steps(pack_id, lesson_id) -> {step_id: StepProgress}
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"
PASSED = "passed"

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS step_progress (
    pack_id TEXT NOT NULL,
    lesson_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    pack_version TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'in_progress' CHECK (status IN ('not_started', 'in_progress', 'passed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    hints_used INTEGER NOT NULL DEFAULT 0,
    solution_viewed INTEGER NOT NULL DEFAULT 0,
    first_activity REAL NOT NULL,
    last_activity REAL NOT NULL,
    completed_at REAL,
    PRIMARY KEY (pack_id, lesson_id, step_id)
);
CREATE TABLE IF NOT EXISTS position (
    pack_id TEXT PRIMARY KEY,
    lesson_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS step_evidence (
    pack_id TEXT NOT NULL,
    lesson_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    evidence TEXT NOT NULL,
    PRIMARY KEY (pack_id, lesson_id, step_id, recorded_at)
);
"""
EVIDENCE_TABLE = SCHEMA[SCHEMA.index("CREATE TABLE IF NOT EXISTS step_evidence") :]
"""Added in place to a file of this schema version that has no evidence yet: older tutors read the file
as before (they never look at this table), so the version does not change."""
EVIDENCE_KEPT = 3
"""Passes of one step whose evidence is kept; the oldest is dropped first."""
MAX_EVIDENCE_BYTES = 2 * 1024 * 1024
"""One evidence record as stored; past it only what says why it is not kept."""


class ProgressError(Exception):
    """The progress file could not be written (disk full, read-only home, ...): a message to show."""


class ProgressTooNew(ProgressError):
    """The progress file was written by a newer backend-tutor: refuse it (updating the tutor reads it)."""


WRITTEN_BY = "written_by"
"""The settings row naming the backend-tutor that created the file's format (the version a reader needs)."""


@dataclass(frozen=True)
class StepProgress:
    lesson_id: str
    step_id: str
    status: str = NOT_STARTED
    attempts: int = 0
    hints_used: int = 0
    solution_viewed: bool = False
    first_activity: float | None = None
    last_activity: float | None = None
    completed_at: float | None = None
    pack_version: str = ""

    @property
    def passed(self) -> bool:
        return self.status == PASSED


@dataclass(frozen=True)
class Position:
    lesson_id: str
    step_id: str
    updated_at: float


def lesson_status(step_ids: Iterable[str], steps: dict[str, StepProgress]) -> str:
    """not_started / in_progress / passed for a lesson whose current steps are `step_ids`."""
    ids = list(step_ids)
    known = [steps[i] for i in ids if i in steps]
    if ids and len(known) == len(ids) and all(s.passed for s in known):
        return PASSED
    if known or any(s.status != NOT_STARTED for s in steps.values()):
        return IN_PROGRESS
    return NOT_STARTED


def _count(value: object) -> int:
    """A count as stored; text where a number belongs (only a hand edit puts it there) counts as 0."""
    if isinstance(value, int):
        return value
    try:
        return int(float(str(value)))
    except ValueError:
        return 0


def _row(row: sqlite3.Row) -> StepProgress:
    return StepProgress(
        lesson_id=row["lesson_id"],
        step_id=row["step_id"],
        status=row["status"],
        attempts=_count(row["attempts"]),
        hints_used=_count(row["hints_used"]),
        solution_viewed=bool(row["solution_viewed"]),
        first_activity=row["first_activity"],
        last_activity=row["last_activity"],
        completed_at=row["completed_at"],
        pack_version=row["pack_version"],
    )


class ProgressStore:
    """One connection, safe to use from several threads (calls are serialised by a lock)."""

    def __init__(self, path: Path, connection: sqlite3.Connection, notice: str | None = None) -> None:
        self.path = path
        self.notice = notice  # set when a damaged file was moved aside
        self._conn = connection
        self._lock = threading.Lock()

    # -- opening -----------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path, *, timeout: float = 5.0) -> ProgressStore:
        """Open (or create) the store. A damaged file is rebuilt from what can be read of it (the original
        is kept beside it); a file from a newer backend-tutor raises ProgressTooNew and is not touched."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return cls(path, _connect(path, timeout))
        except ProgressTooNew:
            raise
        except sqlite3.DatabaseError as exc:
            if _is_busy(exc):
                raise ProgressError(f"the progress file {path} is locked by another program: {exc}") from None
            newer = _header_version(path)
            if newer > SCHEMA_VERSION:
                raise ProgressTooNew(_too_new(path, newer, None)) from None
            notice = _recover(path, str(exc))
        try:
            return cls(path, _connect(path, timeout), notice=notice)
        except sqlite3.Error as exc:
            raise ProgressError(f"cannot create a progress file at {path}: {exc}") from None

    @classmethod
    def memory(cls) -> ProgressStore:
        """A store that lives only as long as the process (when the home folder cannot be written)."""
        return cls(Path(":memory:"), _connect(Path(":memory:"), 1.0))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> ProgressStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------------------------------
    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise ProgressError(f"cannot read progress: {exc}") from None

    def pack_steps(self, pack_id: str) -> dict[str, dict[str, StepProgress]]:
        """{lesson_id: {step_id: progress}} for every step of the pack with any activity."""
        result: dict[str, dict[str, StepProgress]] = {}
        for row in self._query("SELECT * FROM step_progress WHERE pack_id = ?", (pack_id,)):
            result.setdefault(row["lesson_id"], {})[row["step_id"]] = _row(row)
        return result

    def lesson_steps(self, pack_id: str, lesson_id: str) -> dict[str, StepProgress]:
        rows = self._query("SELECT * FROM step_progress WHERE pack_id = ? AND lesson_id = ?", (pack_id, lesson_id))
        return {row["step_id"]: _row(row) for row in rows}

    def step(self, pack_id: str, lesson_id: str, step_id: str) -> StepProgress:
        rows = self._query(
            "SELECT * FROM step_progress WHERE pack_id = ? AND lesson_id = ? AND step_id = ?",
            (pack_id, lesson_id, step_id),
        )
        return _row(rows[0]) if rows else StepProgress(lesson_id, step_id)

    def position(self, pack_id: str) -> Position | None:
        rows = self._query("SELECT * FROM position WHERE pack_id = ?", (pack_id,))
        if not rows:
            return None
        return Position(rows[0]["lesson_id"], rows[0]["step_id"], rows[0]["updated_at"])

    def packs(self) -> list[str]:
        rows = self._query("SELECT DISTINCT pack_id FROM step_progress ORDER BY pack_id")
        return [row["pack_id"] for row in rows]

    def setting(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM settings WHERE key = ?", (key,))
        return rows[0]["value"] if rows else None

    # -- writing: each call is one committed transaction -------------------------------------------
    def _write(self, statements: list[tuple[str, tuple[object, ...]]]) -> None:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    for sql, params in statements:
                        self._conn.execute(sql, params)
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise ProgressError(f"cannot save progress: {exc}") from None

    @staticmethod
    def _touch(pack_id: str, version: str, lesson_id: str, step_id: str, now: float) -> tuple[str, tuple[object, ...]]:
        return (
            "INSERT INTO step_progress"
            " (pack_id, lesson_id, step_id, pack_version, status, first_activity, last_activity)"
            " VALUES (?, ?, ?, ?, 'in_progress', ?, ?)"
            " ON CONFLICT (pack_id, lesson_id, step_id) DO UPDATE SET last_activity = excluded.last_activity,"
            " pack_version = excluded.pack_version",
            (pack_id, lesson_id, step_id, version, now, now),
        )

    def visit(self, pack_id: str, version: str, lesson_id: str, step_id: str) -> None:
        """`step_id` became the current step: it is started, and it is where the learner is."""
        now = time.time()
        self._write(
            [
                self._touch(pack_id, version, lesson_id, step_id, now),
                (
                    "INSERT INTO position (pack_id, lesson_id, step_id, updated_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (pack_id) DO UPDATE SET lesson_id = excluded.lesson_id,"
                    " step_id = excluded.step_id, updated_at = excluded.updated_at",
                    (pack_id, lesson_id, step_id, now),
                ),
            ]
        )

    def record_attempt(
        self,
        pack_id: str,
        version: str,
        lesson_id: str,
        step_id: str,
        *,
        passed: bool,
        evidence: dict[str, Any] | None = None,
    ) -> StepProgress:
        """Count a check. With `passed`, the step is passed; `evidence` (tutor.evidence) is kept with the
        pass in the same transaction, with the attempts, hints and solution as they stand then."""
        now = time.time()
        if passed and evidence is not None:
            return self._record_pass(pack_id, version, lesson_id, step_id, now, evidence)
        statements = [
            self._touch(pack_id, version, lesson_id, step_id, now),
            (
                "UPDATE step_progress SET attempts = attempts + 1 WHERE pack_id = ? AND lesson_id = ? AND step_id = ?",
                (pack_id, lesson_id, step_id),
            ),
        ]
        if passed:
            statements.append(
                (
                    "UPDATE step_progress SET status = 'passed', completed_at = COALESCE(completed_at, ?)"
                    " WHERE pack_id = ? AND lesson_id = ? AND step_id = ?",
                    (now, pack_id, lesson_id, step_id),
                )
            )
        self._write(statements)
        return self.step(pack_id, lesson_id, step_id)

    def _record_pass(
        self, pack_id: str, version: str, lesson_id: str, step_id: str, now: float, evidence: dict[str, Any]
    ) -> StepProgress:
        key = (pack_id, lesson_id, step_id)
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._conn.execute(*self._touch(pack_id, version, lesson_id, step_id, now))
                    self._conn.execute(
                        "UPDATE step_progress SET attempts = attempts + 1, status = 'passed',"
                        " completed_at = COALESCE(completed_at, ?) WHERE pack_id = ? AND lesson_id = ? AND step_id = ?",
                        (now, *key),
                    )
                    row = self._conn.execute(
                        "SELECT * FROM step_progress WHERE pack_id = ? AND lesson_id = ? AND step_id = ?", key
                    ).fetchone()
                    record = {
                        **evidence,
                        "attempts": row["attempts"],
                        "hints_used": row["hints_used"],
                        "solution_viewed": bool(row["solution_viewed"]),
                    }
                    self._conn.execute(
                        "INSERT OR REPLACE INTO step_evidence (pack_id, lesson_id, step_id, recorded_at, evidence)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (*key, now, _bounded(record)),
                    )
                    self._conn.execute(
                        "DELETE FROM step_evidence WHERE pack_id = ? AND lesson_id = ? AND step_id = ? AND recorded_at"
                        " NOT IN (SELECT recorded_at FROM step_evidence WHERE pack_id = ? AND lesson_id = ?"
                        " AND step_id = ? ORDER BY recorded_at DESC LIMIT ?)",
                        (*key, *key, EVIDENCE_KEPT),
                    )
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise ProgressError(f"cannot save progress: {exc}") from None
        return self.step(pack_id, lesson_id, step_id)

    def _evidence_rows(self, sql: str, params: tuple[object, ...]) -> list[sqlite3.Row]:
        try:
            return self._query(sql, params)
        except ProgressError as exc:
            if "no such table" in str(exc):  # a file this tutor could not add the table to
                return []
            raise

    def evidence(self, pack_id: str, lesson_id: str, step_id: str) -> list[dict[str, Any]]:
        """The evidence kept for a step's passes, newest first (records that no longer parse are skipped)."""
        rows = self._evidence_rows(
            "SELECT evidence FROM step_evidence WHERE pack_id = ? AND lesson_id = ? AND step_id = ?"
            " ORDER BY recorded_at DESC",
            (pack_id, lesson_id, step_id),
        )
        return [record for row in rows if (record := _parsed(row["evidence"])) is not None]

    def pack_evidence(self, pack_id: str) -> dict[str, dict[str, dict[str, Any]]]:
        """{lesson_id: {step_id: the newest evidence}} for every step of the pack with any."""
        rows = self._evidence_rows(
            "SELECT lesson_id, step_id, evidence FROM step_evidence WHERE pack_id = ? ORDER BY recorded_at",
            (pack_id,),
        )
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for row in rows:
            record = _parsed(row["evidence"])
            if record is not None:
                out.setdefault(row["lesson_id"], {})[row["step_id"]] = record
        return out

    def record_hint(self, pack_id: str, version: str, lesson_id: str, step_id: str) -> StepProgress:
        now = time.time()
        self._write(
            [
                self._touch(pack_id, version, lesson_id, step_id, now),
                (
                    "UPDATE step_progress SET hints_used = hints_used + 1"
                    " WHERE pack_id = ? AND lesson_id = ? AND step_id = ?",
                    (pack_id, lesson_id, step_id),
                ),
            ]
        )
        return self.step(pack_id, lesson_id, step_id)

    def record_solution_viewed(self, pack_id: str, version: str, lesson_id: str, step_id: str) -> StepProgress:
        now = time.time()
        self._write(
            [
                self._touch(pack_id, version, lesson_id, step_id, now),
                (
                    "UPDATE step_progress SET solution_viewed = 1 WHERE pack_id = ? AND lesson_id = ? AND step_id = ?",
                    (pack_id, lesson_id, step_id),
                ),
            ]
        )
        return self.step(pack_id, lesson_id, step_id)

    def reset(self, pack_id: str | None = None, lesson_id: str | None = None) -> int:
        """Forget progress: of one lesson, of one pack, or (no arguments) all. Returns steps forgotten."""
        where, params = [], []
        if pack_id is not None:
            where.append("pack_id = ?")
            params.append(pack_id)
        if lesson_id is not None:
            where.append("lesson_id = ?")
            params.append(lesson_id)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        count = self._query(f"SELECT COUNT(*) AS n FROM step_progress{clause}", tuple(params))[0]["n"]
        self._write(
            [
                (f"DELETE FROM step_progress{clause}", tuple(params)),
                (f"DELETE FROM position{clause}", tuple(params)),
                (f"DELETE FROM step_evidence{clause}", tuple(params)),
            ]
        )
        return int(count)

    def apply_renames(
        self, pack_id: str, lessons: dict[str, str], steps: dict[str, dict[str, str]]
    ) -> list[tuple[str, str]]:
        """Move progress from renamed ids to their new ids: `lessons` old -> new, `steps` per (new) lesson
        id old step -> new step. A record already kept under the new id wins and the old one stays, hidden.
        Running it twice changes nothing. Returns the (old, new) 'lesson' or 'lesson/step' pairs moved."""
        moved: list[tuple[str, str]] = []
        statements: list[tuple[str, tuple[object, ...]]] = []
        current = self.pack_steps(pack_id)
        after: dict[str, set[str]] = {lesson: set(steps_) for lesson, steps_ in current.items()}
        for old, new in lessons.items():
            if old not in current or old == new:
                continue
            taken = after.setdefault(new, set())
            for step_id in current[old]:
                if step_id in taken:
                    continue
                statements.append(
                    (
                        "UPDATE step_progress SET lesson_id = ? WHERE pack_id = ? AND lesson_id = ? AND step_id = ?",
                        (new, pack_id, old, step_id),
                    )
                )
                statements.append(
                    (
                        "UPDATE step_evidence SET lesson_id = ? WHERE pack_id = ? AND lesson_id = ? AND step_id = ?",
                        (new, pack_id, old, step_id),
                    )
                )
                taken.add(step_id)
                after[old].discard(step_id)
            statements.append(
                ("UPDATE position SET lesson_id = ? WHERE pack_id = ? AND lesson_id = ?", (new, pack_id, old))
            )
            moved.append((old, new))
        for lesson_id, renames in steps.items():
            for old, new in renames.items():
                if old not in after.get(lesson_id, set()) or new in after[lesson_id] or old == new:
                    continue
                statements.append(
                    (
                        "UPDATE step_progress SET step_id = ? WHERE pack_id = ? AND lesson_id = ? AND step_id = ?",
                        (new, pack_id, lesson_id, old),
                    )
                )
                statements.append(
                    (
                        "UPDATE position SET step_id = ? WHERE pack_id = ? AND lesson_id = ? AND step_id = ?",
                        (new, pack_id, lesson_id, old),
                    )
                )
                statements.append(
                    (
                        "UPDATE step_evidence SET step_id = ? WHERE pack_id = ? AND lesson_id = ? AND step_id = ?",
                        (new, pack_id, lesson_id, old),
                    )
                )
                after[lesson_id].discard(old)
                after[lesson_id].add(new)
                moved.append((f"{lesson_id}/{old}", f"{lesson_id}/{new}"))
        if statements:
            self._write(statements)
        return moved

    def set_setting(self, key: str, value: str) -> None:
        self._write(
            [
                (
                    "INSERT INTO settings (key, value) VALUES (?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                ),
            ]
        )


def _parsed(text: str) -> dict[str, Any] | None:
    import json

    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _bounded(record: dict[str, Any]) -> str:
    """The record as stored: whole, or past MAX_EVIDENCE_BYTES only what says why it is not kept."""
    import json

    kept = {k: v for k, v in record.items() if k not in ("action", "files", "carried")}
    try:
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:  # never the tutor's own records; the pass is kept all the same
        why = f"the work of this step could not be stored ({exc})"
    else:
        if len(text.encode()) <= MAX_EVIDENCE_BYTES:
            return text
        why = f"the work of this step came to {len(text.encode()):,} bytes, more than the {MAX_EVIDENCE_BYTES:,} kept"
    kept["action"] = {}
    kept["incomplete"] = [*record.get("incomplete", []), why]
    return json.dumps(kept, ensure_ascii=False, separators=(",", ":"), default=str)


def _is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _connect(path: Path, timeout: float) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None, check_same_thread=False)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:  # before any change or check: a newer format is refused, never rebuilt
            raise ProgressTooNew(_too_new(path, version, conn))
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal" and str(path) != ":memory:":
            raise sqlite3.DatabaseError(f"cannot switch the progress file to WAL (journal_mode={mode})")
        conn.execute("PRAGMA synchronous = FULL")
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise sqlite3.DatabaseError(f"integrity check failed: {check}")
        if version < SCHEMA_VERSION:  # new file (or an older schema): create what is missing, once
            from tutor import __version__

            conn.execute("BEGIN IMMEDIATE")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (WRITTEN_BY, f"backend-tutor {__version__}"),
            )
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'step_evidence'")
        if found.fetchone() is None:
            # a file this tutor may not write (read-only) is read as it is: evidence comes with a writable one
            with contextlib.suppress(sqlite3.OperationalError):
                conn.execute(EVIDENCE_TABLE.rstrip().rstrip(";"))
        # the tables must have the columns this version reads
        columns = {row[1] for row in conn.execute("PRAGMA table_info(step_progress)")}
        if not {"pack_id", "lesson_id", "step_id", "status", "attempts", "hints_used"} <= columns:
            raise sqlite3.DatabaseError("the file is an SQLite database, but not a progress file")
    except BaseException:
        conn.close()
        raise
    return conn


def _header_version(path: Path) -> int:
    """The format version in an SQLite file's header (0 when the header is not readable)."""
    try:
        with path.open("rb") as handle:
            header = handle.read(100)
    except OSError:
        return 0
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        return 0
    return int.from_bytes(header[60:64], "big", signed=True)


def _too_new(path: Path, version: int, conn: sqlite3.Connection | None) -> str:
    from tutor import __version__

    writer = None
    if conn is not None:
        try:
            row = conn.execute("SELECT value FROM settings WHERE key = ?", (WRITTEN_BY,)).fetchone()
            writer = str(row[0]) if row else None
        except sqlite3.Error:
            writer = None
    needs = f"{writer} or newer" if writer else f"a backend-tutor that reads progress format {version}"
    return (
        f"Your progress file {path} was written by a newer backend-tutor (progress format {version}); this is "
        f"backend-tutor {__version__}, which reads format {SCHEMA_VERSION}. It needs {needs}: update backend-tutor "
        "(pip install -U backend-tutor) to see your progress. The file was left as it is."
    )


def _recover(path: Path, reason: str) -> str:
    """Rebuild a damaged file from what can be read of it; the notice says what was kept."""
    from tutor.files import set_aside

    try:
        from tutor.progress_recover import recover

        statuses = (NOT_STARTED, IN_PROGRESS, PASSED)
        return recover(path, reason, SCHEMA, statuses, SCHEMA_VERSION)
    except (OSError, sqlite3.Error) as exc:  # recovery itself failed: keep the file, start afresh
        try:
            aside = set_aside(path, sidecars=("-wal", "-shm"))
        except OSError:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return f"Your progress file could not be read ({reason}) nor kept ({exc}); a fresh one was started."
        return (
            f"Your progress file could not be read ({reason}); it was set aside as {aside} and a fresh one was started."
        )
