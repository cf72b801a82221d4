"""SQL tracing for the sandbox API: every statement a handler runs lands in its request's trace.

`Database.connect(trace)` opens the lesson database with `TracedConnection` as the connection
factory. Each `execute` then adds one `sql` event to the request's `Trace` with:

- `sql` and `params` (values shortened), `rows` (returned, or changed by a write), `duration_ms`;
- `vm_steps`: SQLite virtual-machine steps, counted with a progress handler, so a check can bound the
  work a request did without reading the clock. Statements up to `EXACT_STEPS` are counted one by one
  (the handler is `functools.partial(next, itertools.repeat(0, budget), 1)`: C all the way down, ~30 ns
  a step); a bigger statement runs out of that budget, is interrupted, and is run again counted every
  `COARSE_EVERY` steps (`vm_exact: false`). Both are deterministic;
- `plan` (the `EXPLAIN QUERY PLAN` rows) and `full_scans` (tables read end to end, by
  `sandboxes.sql.plan`), taken once per distinct statement text per request: plans depend on the text,
  not on the parameter values, and the database may change later (an index the learner adds), so the
  plan is the one the statement really ran with.

The trace travels with the connection, not with the thread: handlers run their SQL in Starlette's
thread pool, and each request opens its own connection, so statements always land on the right trace.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
import re
import sqlite3
import time
from typing import Any

from sandboxes.api.recorder import Trace

EXACT_STEPS = 25_000
"""Statements up to this many VM steps are counted exactly. Every step is a call back into Python, which
takes the GIL: under the load tool (ten requests at once) the calls fought over it, and at 100,000 a
full scan of a 100,000-row table cost 30 ms of counting. 25,000 keeps every threshold the built-in
lessons use (200, 2,000, 20,000) exact; beyond it a pack's `max_vm_steps` is judged to the thousand."""
COARSE_EVERY = 1000
MAX_PARAMS = 20
PLANNED = ("SELECT", "WITH", "UPDATE", "DELETE", "INSERT", "REPLACE", "VALUES")


def short_value(value: Any) -> Any:
    """A parameter as the trace keeps it: numbers and NULL as they are, text and bytes shortened."""
    if value is None or isinstance(value, int | float):
        return value
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def short_params(parameters: Any) -> Any:
    if isinstance(parameters, dict):
        items = list(parameters.items())
        kept = {str(k): short_value(v) for k, v in items[:MAX_PARAMS]}
        if len(items) > MAX_PARAMS:
            kept["..."] = f"{len(items) - MAX_PARAMS} more"
        return kept
    values = list(parameters or ())
    kept_list = [short_value(v) for v in values[:MAX_PARAMS]]
    if len(values) > MAX_PARAMS:
        kept_list.append(f"... {len(values) - MAX_PARAMS} more")
    return kept_list


class _ListCursor:
    """What `TracedConnection.execute` returns: the rows already fetched, with the cursor's counters."""

    def __init__(self, cursor: sqlite3.Cursor, rows: list[Any]) -> None:
        self._rows = rows
        self._next = 0
        self.rowcount = cursor.rowcount
        self.lastrowid = cursor.lastrowid
        self.description = cursor.description

    def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchmany(self, size: int = 1) -> list[Any]:
        out = self._rows[self._next : self._next + size]
        self._next += len(out)
        return out

    def fetchall(self) -> list[Any]:
        out = self._rows[self._next :]
        self._next = len(self._rows)
        return out

    def __iter__(self) -> Any:
        while (row := self.fetchone()) is not None:
            yield row

    def close(self) -> None:
        self._rows = []


GUARD_EVERY = 10_000
"""VM steps between two looks at the clock of a request's time limit (about a millisecond of work)."""


class TracedConnection(sqlite3.Connection):
    """A connection whose `execute` records each statement into `self.trace` (when set), and that stops
    its SQL once `limit_time` has run out (a learner's trigger can make a write arbitrarily slow)."""

    trace: Trace | None = None
    plans: bool = True
    deadline: float = math.inf

    def limit_time(self, seconds: float) -> None:
        """From now on, SQL on this connection stops ("interrupted") once `seconds` have passed."""
        self.deadline = time.monotonic() + seconds
        self.set_progress_handler(self._past_deadline, GUARD_EVERY)

    def _past_deadline(self) -> int:
        return 1 if time.monotonic() > self.deadline else 0

    @property
    def timed_out(self) -> bool:
        return time.monotonic() > self.deadline

    def _guard(self) -> None:
        """Put the time limit's progress handler back (counting replaced it)."""
        if self.deadline < math.inf:
            self.set_progress_handler(self._past_deadline, GUARD_EVERY)
        else:
            self.set_progress_handler(None, 0)

    def attach(self, trace: Trace, *, plans: bool = True) -> None:
        # Load the schema now, untraced: the first statement of a fresh connection would otherwise
        # count the schema's own VM steps as its work.
        super().execute("SELECT 1 FROM sqlite_schema LIMIT 1").fetchall()
        self._plan_cache: dict[str, tuple[list[list[Any]], list[str], list[str]]] = {}
        self.plans = plans
        self.trace = trace

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        trace = self.trace
        if trace is None:
            return super().execute(sql, parameters)
        data: dict[str, Any] = {"sql": sql, "params": short_params(parameters)}
        begin = time.perf_counter()
        try:
            cursor, rows, steps, exact = self._run_counted(sql, parameters)
        except sqlite3.Error as exc:
            data["error"] = f"{type(exc).__name__}: {exc}"
            trace.add("sql", _label(sql), round((time.perf_counter() - begin) * 1000, 3), **data)
            raise
        duration = round((time.perf_counter() - begin) * 1000, 3)
        data["rows"] = len(rows) if cursor.description is not None else max(cursor.rowcount, 0)
        data["vm_steps"] = steps
        data["vm_exact"] = exact
        if self.plans and sql.lstrip().upper().startswith(PLANNED):
            plan_rows, scans, limited = self._plan(sql, parameters)
            data["plan"] = plan_rows
            data["full_scans"] = scans
            if limited:
                data["limited_scans"] = limited
        trace.add("sql", _label(sql), duration, **data)
        return _ListCursor(cursor, rows)

    def _run_counted(self, sql: str, parameters: Any) -> tuple[sqlite3.Cursor, list[Any], int, bool]:
        ticks = itertools.repeat(0, EXACT_STEPS)
        # next(ticks, 1): 0 ("go on") for EXACT_STEPS calls, then 1, which interrupts the statement.
        self.set_progress_handler(functools.partial(next, ticks, 1), 1)
        try:
            cursor = super().execute(sql, parameters)
            rows = cursor.fetchall()
            return cursor, rows, EXACT_STEPS - operator.length_hint(ticks), True
        except sqlite3.OperationalError:
            if operator.length_hint(ticks) > 0:
                raise  # a real error, not our budget running out
        finally:
            self._guard()
        # Too big to count one by one: the interrupted run changed nothing (SQLite rolls a statement
        # back when it is interrupted); run it again, counted every COARSE_EVERY steps, and stopped at
        # the connection's time limit.
        calls = 0
        deadline = self.deadline

        def coarse() -> int:
            nonlocal calls
            calls += 1
            return 1 if deadline < math.inf and time.monotonic() > deadline else 0

        self.set_progress_handler(coarse, COARSE_EVERY)
        try:
            cursor = super().execute(sql, parameters)
            rows = cursor.fetchall()
        finally:
            self._guard()
        return cursor, rows, calls * COARSE_EVERY, False

    def _plan(self, sql: str, parameters: Any) -> tuple[list[list[Any]], list[str], list[str]]:
        cached = self._plan_cache.get(sql)
        if cached is not None:
            return cached
        from sandboxes.sql.plan import parse_rows, resolve_tables

        self.trace, trace = None, self.trace  # the plan's own queries are not the handler's
        try:
            # The statement has just run on this connection, so its schema is current.
            found = super().execute(f"EXPLAIN QUERY PLAN {sql}", parameters).fetchall()
            plan = resolve_tables(parse_rows(sql, [tuple(r) for r in found]), self)
            rows = [[step.id, step.parent, step.detail] for step in plan.steps]
            scans = sorted({s.table or s.name or "?" for s in plan.full_scans() if s.index is None})
            limited: list[str] = []
            if scans and _stops_at_limit(sql, rows):
                scans, limited = [], scans
        except sqlite3.Error as exc:
            rows, scans, limited = [[0, 0, f"(no plan: {exc})"]], [], []
        finally:
            self.trace = trace
        self._plan_cache[sql] = (rows, scans, limited)
        return rows, scans, limited


_LIMIT = re.compile(r"\bLIMIT\b", re.I)
_FILTERS = re.compile(r"\b(WHERE|GROUP\s+BY|HAVING|JOIN|UNION|EXCEPT|INTERSECT|DISTINCT)\b", re.I)


def _stops_at_limit(sql: str, plan_rows: list[list[Any]]) -> bool:
    """A SCAN that a LIMIT stops early: one table, nothing filtered, grouped or sorted in a temporary
    b-tree, so SQLite reads OFFSET + LIMIT rows and no more (a page of a list). Anything else that
    scans may read the whole table before the limit is reached, and stays a full scan."""
    if not _LIMIT.search(sql) or _FILTERS.search(sql):
        return False
    details = [str(r[2]).upper() for r in plan_rows]
    accesses = [d for d in details if d.startswith(("SCAN", "SEARCH"))]
    return len(accesses) == 1 and not any("TEMP B-TREE" in d for d in details)


def _label(sql: str) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= 120 else text[:117] + "..."
