"""The guarded learner connection: an authorizer, a per-statement deadline, Cancel, and statement splitting.

What the authorizer denies, and why:
- ATTACH / DETACH (and `VACUUM INTO 'file'`, which SQLite reports as an ATTACH): they reach files
  outside the lesson database. A plain `VACUUM` (an anonymous temporary attach) is allowed.
- `load_extension()`: native code. `enable_load_extension` also stays off.
- Functions that read or write the process's memory or files (DENIED_FUNCTIONS): `fts3_tokenizer()`
  hands out and takes raw pointers (on SQLite builds with ENABLE_FTS3_TOKENIZER, such as Debian's, three
  lines of SQL crash the process with it); `rtreenode()` and `rtreedepth()` are R*Tree's debugging
  functions, which decode any blob as a node; `readfile()`, `writefile()`, `edit()` and `fsdir` belong to
  the sqlite3 shell and reach files (absent from Python's sqlite3, denied in case a build has them); the
  `sqlite_dbpage` table writes raw pages.
- PRAGMAs that write or escape (`writable_schema`, `journal_mode`, `mmap_size`, ...). Read-only
  introspection PRAGMAs (`table_info`, `index_list`, `index_info`, `foreign_key_list`, ...) are allowed,
  and so is `foreign_keys` (a per-connection switch lessons about constraints use).
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_MAX_ROWS = 1000
"""Rows kept in memory per statement; the rest are only counted."""

INTROSPECTION_PRAGMAS = frozenset(
    {
        "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
        "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check", "collation_list",
        "compile_options", "database_list", "function_list", "module_list", "pragma_list",
    }
)  # fmt: skip
"""May take an argument (a table or index name): they only read."""

QUERY_ONLY_PRAGMAS = frozenset(
    {
        "page_count", "page_size", "freelist_count", "user_version", "schema_version", "application_id",
        "encoding", "journal_mode", "auto_vacuum", "cache_size", "data_version", "max_page_count",
        "synchronous", "locking_mode", "temp_store", "busy_timeout", "case_sensitive_like",
        "recursive_triggers", "defer_foreign_keys", "query_only", "stats",
    }
)  # fmt: skip
"""Allowed only as a query (no `= value`)."""

SETTABLE_PRAGMAS = frozenset({"foreign_keys"})

SETUP_SETTABLE_PRAGMAS = SETTABLE_PRAGMAS | frozenset(
    {"user_version", "application_id", "defer_foreign_keys", "recursive_triggers", "auto_vacuum", "page_size"}
)
"""What a pack's own setup SQL may set as well: the database's own labels and layout. Never the
journal, the files SQLite writes beside it, or the schema as raw text."""

DENIED_FUNCTIONS = {
    "load_extension": "load_extension() is not allowed here: it loads native code",
    "fts3_tokenizer": "fts3_tokenizer() is not allowed here: it reads and writes the tutor's memory",
    "rtreenode": "rtreenode() is not allowed here: it is R*Tree's debugging function and reads raw memory",
    "rtreedepth": "rtreedepth() is not allowed here: it is R*Tree's debugging function and reads raw memory",
    "readfile": "readfile() is not allowed here: it reads files outside the lesson database",
    "writefile": "writefile() is not allowed here: it writes files outside the lesson database",
    "edit": "edit() is not allowed here: it starts an editor",
    "fsdir": "fsdir is not allowed here: it lists files outside the lesson database",
}
"""Functions that reach past the lesson database: the process's memory, native code, files."""

DENIED_TABLES = {
    "sqlite_dbpage": "sqlite_dbpage is not allowed here: it writes the database's raw pages",
    "fsdir": DENIED_FUNCTIONS["fsdir"],
}
"""Table-valued functions and virtual tables with the same reach."""

ROW_KEYWORDS = ("SELECT", "WITH", "VALUES")

MAX_VALUE_BYTES = 10_000_000
"""The biggest string or blob one value may be (SQLITE_LIMIT_LENGTH). SQLite checks it as it builds the
value, so `randomblob(1000000000)` fails at once instead of allocating a gigabyte between two progress
ticks. Lesson data is far below it."""
MAX_SQL_BYTES = 1_000_000
"""The longest statement the learner may send (SQLITE_LIMIT_SQL_LENGTH)."""
MAX_GROWTH_BYTES = 256 * 1024 * 1024
"""How far past its starting size a lesson database (and the temporary one, and each scratch database
`ATTACH ''` makes) may grow: a statement that would fill the disk fails with "database or disk is full"
instead (PRAGMA max_page_count)."""
MAX_SCRATCH_DATABASES = 2
"""`ATTACH ''` databases at once (SQLITE_LIMIT_ATTACHED; a plain VACUUM takes one while it runs)."""
MAX_KEPT_BYTES = 8 * 1024 * 1024
"""Row data kept per statement (strings and blobs by their length): rows past it are counted, not kept,
like rows past `max_rows`. The first row is always kept (one value is at most MAX_VALUE_BYTES)."""
DEFAULT_MEMORY_BYTES = 256 * 1024 * 1024
"""What one learner statement may allocate when it runs in its own process (sandboxes.sql.worker)."""

LEARNER_LIMITS = {
    sqlite3.SQLITE_LIMIT_LENGTH: MAX_VALUE_BYTES,
    sqlite3.SQLITE_LIMIT_SQL_LENGTH: MAX_SQL_BYTES,
    sqlite3.SQLITE_LIMIT_COLUMN: 1000,
    sqlite3.SQLITE_LIMIT_EXPR_DEPTH: 500,
    sqlite3.SQLITE_LIMIT_COMPOUND_SELECT: 200,
    sqlite3.SQLITE_LIMIT_FUNCTION_ARG: 100,
    sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH: 10_000,
    sqlite3.SQLITE_LIMIT_TRIGGER_DEPTH: 100,
    sqlite3.SQLITE_LIMIT_WORKER_THREADS: 0,
    sqlite3.SQLITE_LIMIT_ATTACHED: MAX_SCRATCH_DATABASES,
}
"""SQLite's own run-time limits on the learner's connection (https://www.sqlite.org/c3ref/c_limit_attached.html).
ATTACHED stays above zero: a plain VACUUM attaches a temporary database."""

Rules = str
"""Whose SQL an authorizer judges: "learner" (the guarded connection), "setup" (a pack's own SQL while
its database is built: a few more PRAGMAs may be set, DETACH of a scratch database is fine) or
"tutor" (the tutor's own read connections: any PRAGMA the code sets, never a file or a pointer)."""


def deny_reason(action: int, arg1: str | None, arg2: str | None, rules: Rules = "learner") -> str | None:
    """Why the authorizer refuses this action under `rules` (None: allowed)."""
    if action == sqlite3.SQLITE_ATTACH:
        if arg1 == "":
            return None  # plain VACUUM (or ATTACH '' : a private temporary database)
        return "ATTACH and VACUUM INTO are not allowed here: they reach files outside the lesson database"
    if action == sqlite3.SQLITE_DETACH:
        return "DETACH is not allowed here" if rules == "learner" else None
    if action == sqlite3.SQLITE_FUNCTION:
        return DENIED_FUNCTIONS.get((arg2 or "").lower())
    if action in (sqlite3.SQLITE_READ, sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE):
        return DENIED_TABLES.get((arg1 or "").lower())
    if action == sqlite3.SQLITE_CREATE_VTABLE:
        return DENIED_TABLES.get((arg2 or "").lower())
    if action == sqlite3.SQLITE_PRAGMA:
        if rules == "tutor":
            return None
        name = (arg1 or "").lower()
        settable = SETUP_SETTABLE_PRAGMAS if rules == "setup" else SETTABLE_PRAGMAS
        if name in INTROSPECTION_PRAGMAS or name in settable:
            return None
        if name in QUERY_ONLY_PRAGMAS and arg2 is None:
            return None
        if name in QUERY_ONLY_PRAGMAS:
            return f"PRAGMA {name} may be read here but not set"
        return f"PRAGMA {name} is not allowed here (only read-only introspection PRAGMAs are)"
    return None


def authorizer(rules: Rules) -> Callable[[int, str | None, str | None, str | None, str | None], int]:
    """An authorizer callback for `sqlite3.Connection.set_authorizer` that applies `rules`."""

    def authorize(action: int, arg1: str | None, arg2: str | None, db: str | None, src: str | None) -> int:
        return sqlite3.SQLITE_DENY if deny_reason(action, arg1, arg2, rules) else sqlite3.SQLITE_OK

    return authorize


@dataclass(frozen=True)
class Statement:
    """One statement of a script: its text and where it starts (0-based offset, 1-based line/column)."""

    number: int
    sql: str
    offset: int
    line: int
    column: int

    @property
    def keyword(self) -> str:
        return leading_keyword(self.sql)

    @property
    def returns_rows_kind(self) -> bool:
        return self.keyword in ROW_KEYWORDS


_COMMENT_OR_SPACE = re.compile(r"(\s+|--[^\n]*(\n|$)|/\*.*?(\*/|$))", re.S)


def strip_leading(sql: str) -> str:
    """`sql` without leading whitespace and comments."""
    position = 0
    while True:
        match = _COMMENT_OR_SPACE.match(sql, position)
        if not match or match.end() == position:
            return sql[position:]
        position = match.end()


def leading_keyword(sql: str) -> str:
    match = re.match(r"[A-Za-z]+", strip_leading(sql))
    return match.group(0).upper() if match else ""


def unwrap_explain(sql: str) -> str:
    """`EXPLAIN [QUERY PLAN] stmt` -> `stmt`; anything else unchanged."""
    body = strip_leading(sql)
    match = re.match(r"EXPLAIN\s+(QUERY\s+PLAN\s+)?", body, re.I)
    return body[match.end() :] if match else sql


def split_statements(script: str) -> list[Statement]:
    """Split a script into statements at the `;` that end them (quotes, comments and trigger bodies
    respected), dropping empty ones. Each keeps where it starts in `script`."""
    out: list[Statement] = []
    start = 0
    i = 0
    n = len(script)

    def emit(end: int) -> None:
        chunk = script[start:end]
        body = strip_leading(chunk)
        if not body.strip() or body.strip() == ";":
            return
        offset = start + (len(chunk) - len(body))
        line = script.count("\n", 0, offset) + 1
        column = offset - (script.rfind("\n", 0, offset) + 1) + 1
        out.append(Statement(len(out) + 1, body.rstrip(), offset, line, column))

    while i < n:
        ch = script[i]
        if ch in "'\"`[":
            close = "]" if ch == "[" else ch
            j = script.find(close, i + 1)
            while j != -1 and close != "]" and j + 1 < n and script[j + 1] == close:
                j = script.find(close, j + 2)
            i = n if j == -1 else j + 1
            continue
        if script.startswith("--", i):
            j = script.find("\n", i)
            i = n if j == -1 else j + 1
            continue
        if script.startswith("/*", i):
            j = script.find("*/", i + 2)
            i = n if j == -1 else j + 2
            continue
        if ch == ";" and sqlite3.complete_statement(script[start : i + 1]):
            emit(i + 1)
            start = i + 1
        i += 1
    emit(n)
    return out


@dataclass
class StatementResult:
    statement: Statement
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[object, ...]] = field(default_factory=list)
    total_rows: int = 0
    changes: int = 0  # rows changed by INSERT/UPDATE/DELETE (-1 when not applicable)
    elapsed: float = 0.0
    error: str | None = None
    where: str | None = None  # "statement 2 (line 3, column 1)" or near a token
    stopped: bool = False  # stopped by the time limit or Cancel
    restarted: bool = False  # its process was ended and the connection started again (see process.py)
    in_transaction_before: bool = False  # a transaction was open when the statement started
    in_transaction_after: bool = False  # ... and when it ended

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def returns_rows(self) -> bool:
        return bool(self.columns)

    @property
    def truncated(self) -> bool:
        return self.total_rows > len(self.rows)


@dataclass
class RunResult:
    """The outcome of one run of the learner's SQL: one entry per statement that ran (the last one failed
    when `error` is set; statements after a failure are not run)."""

    statements: list[StatementResult] = field(default_factory=list)
    not_run: int = 0
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.statements)

    @property
    def error(self) -> StatementResult | None:
        return next((s for s in self.statements if not s.ok), None)

    @property
    def last(self) -> StatementResult | None:
        return self.statements[-1] if self.statements else None

    @property
    def last_rows(self) -> StatementResult | None:
        """The last statement that returned rows (what a results grid shows)."""
        return next((s for s in reversed(self.statements) if s.returns_rows and s.ok), None)

    def describe_error(self) -> str | None:
        failed = self.error
        if failed is None:
            return None
        text = f"Error in {failed.where}: {failed.error}"
        if self.not_run:
            text += f" ({self.not_run} later statement{'s' if self.not_run != 1 else ''} not run)"
        return text


def _syntax_error_at(fragment: str) -> bool:
    """Whether SQLite's parser stops inside `fragment` with a syntax error (not just "incomplete input").
    Parsed with EXPLAIN on an empty in-memory database: nothing runs, no table needs to exist."""
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("EXPLAIN " + fragment)
    except sqlite3.Error as exc:
        return "syntax error" in str(exc)
    finally:
        probe.close()
    return False


def _token_index(sql: str, token: str) -> int:
    """Where in `sql` the token SQLite complains about is: the first occurrence up to which the text
    parses, and at which it stops parsing (`... (year)CREATE INDEX` points at the second CREATE)."""
    starts = [m.start() for m in re.finditer(re.escape(token), sql)]
    if len(starts) > 1:
        for index in starts:
            if not _syntax_error_at(sql[:index]) and _syntax_error_at(sql[: index + len(token)]):
                return index
    return starts[0] if starts else -1


def _locate(statement: Statement, message: str) -> str:
    """Where the error is: the statement, and the token SQLite names in `near "X"` when there is one."""
    where = f"statement {statement.number} (line {statement.line}, column {statement.column})"
    match = re.search(r'near "(.+?)"', message)
    if match:
        index = _token_index(statement.sql, match.group(1))
        if index >= 0:
            before = statement.sql[:index]
            line = statement.line + before.count("\n")
            column = (index - before.rfind("\n")) if "\n" in before else statement.column + index
            where = f"statement {statement.number}, line {line}, column {column}"
    return where


def _row_bytes(row: tuple[object, ...]) -> int:
    """Roughly what a row holds: strings and blobs by their length, anything else 8 bytes."""
    return 16 + sum(len(v) if isinstance(v, str | bytes) else 8 for v in row)


def in_megabytes(size: int) -> str:
    return f"{size / 1_048_576:,.0f} MB"


class GuardedConnection:
    """The learner's connection: autocommit (so BEGIN/COMMIT are theirs to type), authorizer on, a deadline
    per statement, Cancel from any thread. Usable again after a denied, failed or stopped statement.

    In the tutor it runs inside a worker process (`sandboxes.sql.worker`, driven by
    `sandboxes.sql.process.LearnerProcess`), which adds what only a process boundary can give: a memory
    cap, and a deadline that holds even for one long SQLite function call."""

    def __init__(
        self,
        path: str,
        *,
        time_limit: float = 3.0,
        max_rows: int = DEFAULT_MAX_ROWS,
        max_db_bytes: int | None = None,
        memory_limit: int | None = None,
    ) -> None:
        self.time_limit = time_limit
        self.max_rows = max_rows
        self.memory_limit = memory_limit
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=1.0)
        if hasattr(self.conn, "enable_load_extension"):
            self.conn.enable_load_extension(False)
        for category, limit in LEARNER_LIMITS.items():
            self.conn.setlimit(category, limit)
        # Set before the authorizer goes on: the learner may read max_page_count but not change it.
        page_size = self.conn.execute("PRAGMA page_size").fetchone()[0] or 4096
        pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
        if max_db_bytes is None:
            max_db_bytes = pages * page_size + MAX_GROWTH_BYTES
        self.max_db_bytes = max(max_db_bytes, pages * page_size)
        self.conn.execute(f"PRAGMA main.max_page_count = {int(self.max_db_bytes // page_size) + 1}")
        self.conn.execute(f"PRAGMA temp.max_page_count = {MAX_GROWTH_BYTES // page_size}")
        self._denied: str | None = None
        self._deadline = float("inf")
        self._cancelled = threading.Event()
        self._stop_reason: str | None = None
        self._internal = False  # the guard's own statements (capping a scratch database) pass
        self.conn.set_authorizer(self._authorize)
        # Every ~20k VM steps (well under a millisecond): often enough for the deadline, rare enough that
        # the worker thread does not starve the UI thread of the GIL.
        self.conn.set_progress_handler(self._tick, 20_000)

    # -- guards ----------------------------------------------------------------------------------
    def _authorize(self, action: int, arg1: str | None, arg2: str | None, db: str | None, src: str | None) -> int:
        if self._internal:
            return sqlite3.SQLITE_OK
        reason = deny_reason(action, arg1, arg2)
        if reason is None:
            return sqlite3.SQLITE_OK
        self._denied = reason
        return sqlite3.SQLITE_DENY

    def _tick(self) -> int:
        if self._cancelled.is_set():
            self._stop_reason = "cancelled"
            return 1
        if time.monotonic() > self._deadline:
            self._stop_reason = f"stopped after the time limit of {self.time_limit:g} s"
            return 1
        return 0

    def _cap_scratch_databases(self) -> None:
        """A database `ATTACH ''` made may grow as far as the temporary one, no further."""
        self._internal = True
        try:
            for _, name, _ in self.conn.execute("PRAGMA database_list").fetchall():
                if name in ("main", "temp"):
                    continue
                quoted = '"' + name.replace('"', '""') + '"'
                page_size = self.conn.execute(f"PRAGMA {quoted}.page_size").fetchone()[0] or 4096
                self.conn.execute(f"PRAGMA {quoted}.max_page_count = {MAX_GROWTH_BYTES // page_size}")
        finally:
            self._internal = False

    def _plain(self, message: str) -> str:
        """SQLite's words for a limit it enforced, said plainly (the original stays at the end)."""
        if "string or blob too big" in message:
            return (
                f"refused: one value may be at most {MAX_VALUE_BYTES // 1_000_000} MB here, and this statement "
                f"would build a bigger one ({message})"
            )
        if "database or disk is full" in message:
            return (
                f"refused: the lesson database may not grow past {self.max_db_bytes / 1_048_576:,.0f} MB (and a "
                f"temporary or scratch one past {in_megabytes(MAX_GROWTH_BYTES)}), and this statement would make "
                f"it bigger ({message}). Nothing of it was kept."
            )
        if "query string is too large" in message or "statement too long" in message:
            return f"refused: a statement may be at most {MAX_SQL_BYTES // 1000:,} KB long here ({message})"
        if "too many attached databases" in message:
            return f"refused: at most {MAX_SCRATCH_DATABASES} scratch databases may be attached at once ({message})"
        if "too many" in message or "too deep" in message:
            return f"refused: {message} (the lesson database keeps statements small)"
        return message

    def out_of_memory(self) -> str:
        limit = f"more than {in_megabytes(self.memory_limit)}" if self.memory_limit else "more memory than there is"
        return f"refused: this statement needed {limit} of memory; nothing of it was kept"

    def cancel(self) -> None:
        """Stop the running statement (thread-safe). The next run starts clean."""
        self._cancelled.set()
        with contextlib.suppress(sqlite3.ProgrammingError):  # closed meanwhile
            self.conn.interrupt()

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def close(self) -> None:
        self.conn.close()

    # -- running ---------------------------------------------------------------------------------
    def run(self, script: str) -> RunResult:
        statements = split_statements(script)
        result = RunResult()
        self._cancelled.clear()
        started = time.perf_counter()
        for index, statement in enumerate(statements):
            one = self.run_statement(statement)
            result.statements.append(one)
            if not one.ok:
                result.not_run = len(statements) - index - 1
                break
        result.elapsed = time.perf_counter() - started
        return result

    def _fetch(self, cursor: sqlite3.Cursor, out: StatementResult) -> None:
        """Keep up to `max_rows` rows and MAX_KEPT_BYTES of their data; count the rest. Rows are read one
        at a time while they are kept, then in chunks of about MAX_KEPT_BYTES at their average size, so a
        statement returning big values never holds many of them at once."""
        rows: list[tuple[object, ...]] = []
        kept = 0
        while len(rows) < self.max_rows:
            row = cursor.fetchone()
            if row is None:
                out.rows, out.total_rows = rows, len(rows)
                return
            size = _row_bytes(row)
            if rows and kept + size > MAX_KEPT_BYTES:
                out.rows, out.total_rows = rows, len(rows) + 1
                break
            rows.append(row)
            kept += size
        else:
            out.rows, out.total_rows = rows, len(rows)
        chunk = max(1, min(10_000, MAX_KEPT_BYTES // max(1, kept // max(1, len(rows)))))
        while batch := cursor.fetchmany(chunk):
            out.total_rows += len(batch)

    def run_statement(self, statement: Statement) -> StatementResult:
        out = StatementResult(statement)
        self._denied = None
        self._stop_reason = None
        self._deadline = time.monotonic() + self.time_limit
        out.in_transaction_before = self.conn.in_transaction
        started = time.perf_counter()
        try:
            cursor = self.conn.execute(statement.sql)
            if cursor.description:
                out.columns = [d[0] for d in cursor.description]
                self._fetch(cursor, out)
            out.changes = cursor.rowcount
            if statement.keyword == "ATTACH":
                self._cap_scratch_databases()
        except sqlite3.Warning as warning:  # "You can only execute one statement at a time."
            out.error = str(warning)
        except MemoryError:  # SQLite's SQLITE_NOMEM, or a row the process could not hold
            out.rows = []
            out.error = self.out_of_memory()
        except sqlite3.Error as exc:
            message = str(exc)
            if self._denied and ("not authorized" in message or "authorization denied" in message):
                message = f"not authorized: {self._denied}"
            elif self._stop_reason and "interrupt" in message:
                message = f"interrupted: {self._stop_reason}"
                out.stopped = True
            elif self._cancelled.is_set() and "interrupt" in message:
                message = "interrupted: cancelled"
                out.stopped = True
            else:
                message = self._plain(message)
            out.error = message
        finally:
            self._deadline = float("inf")
            out.elapsed = time.perf_counter() - started
            out.in_transaction_after = self.conn.in_transaction
        if out.error is not None:
            out.where = _locate(statement, out.error)
            out.rows = out.rows if out.columns else []
        return out
