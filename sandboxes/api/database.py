"""The lesson database as the sandbox API sees it: one short connection per request.

Nothing is kept open between requests. Statements run on the request's connection are added to its
trace, with timings, rows, VM steps and plans (`sandboxes.api.tracing`).

A request's SQL has a time limit (REQUEST_SQL_SECONDS): the API writes its own SQL, but the learner's
triggers run inside it, and one `CREATE TRIGGER` can make every POST run for minutes. Past the limit
the request gets a 503 that says so; the database is as it was before the request.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sandboxes.api.recorder import Trace

REQUEST_SQL_SECONDS = 10.0
"""The most time one request's SQL may take (as long as the longest time limit a built-in lesson gives a
learner's statement)."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # declared type, upper case: INTEGER, REAL, TEXT, ...
    notnull: bool
    has_default: bool
    pk: bool
    default: str | None = None
    """The default's SQL expression as the schema declares it (PRAGMA table_info's dflt_value)."""

    @property
    def affinity(self) -> str:
        t = self.type
        if "INT" in t:
            return "INTEGER"
        if any(x in t for x in ("CHAR", "CLOB", "TEXT")):
            return "TEXT"
        if any(x in t for x in ("REAL", "FLOA", "DOUB")):
            return "REAL"
        if t == "" or "BLOB" in t:
            return "BLOB"
        return "NUMERIC"


class Database:
    def __init__(self, path: Path | None) -> None:
        self.path = path

    @property
    def available(self) -> bool:
        return self.path is not None and self.path.exists()

    def modified(self) -> float:
        """The last time the file (or its WAL) changed, in epoch seconds; 0 when there is none."""
        if self.path is None:
            return 0.0
        times = []
        for candidate in (self.path, self.path.with_name(self.path.name + "-wal")):
            try:
                times.append(os.stat(candidate).st_mtime)
            except OSError:
                continue
        return max(times, default=0.0)

    @contextmanager
    def connect(self, trace: Trace | None = None) -> Iterator[sqlite3.Connection]:
        if self.path is None or not self.path.exists():
            from sandboxes.api.problems import ApiError

            raise ApiError(503, "this lesson's database is not available (is the SQL sandbox running?)")
        from sandboxes.api.tracing import TracedConnection

        conn = sqlite3.connect(
            self.path, timeout=5.0, check_same_thread=False, isolation_level=None, factory=TracedConnection
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.limit_time(REQUEST_SQL_SECONDS)
        if trace is not None:  # every statement from here on goes into the request's trace
            conn.attach(trace)
        try:
            yield conn
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc) and conn.timed_out:
                from sandboxes.api.problems import ApiError

                raise ApiError(
                    503,
                    f"the database work for this request ran past {REQUEST_SQL_SECONDS:g} s and was stopped; "
                    "nothing of it was kept (is a trigger on this table doing a lot of work? `DROP TRIGGER`, or "
                    "F4, puts the step back)",
                ) from exc
            raise
        finally:
            conn.close()

    @staticmethod
    def columns(conn: sqlite3.Connection, table: str) -> list[Column]:
        rows = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
        return [
            Column(
                r["name"],
                (r["type"] or "").upper(),
                bool(r["notnull"]),
                r["dflt_value"] is not None,
                bool(r["pk"]),
                r["dflt_value"],
            )
            for r in rows
        ]
