"""Deterministic query cost: SQLite virtual-machine steps, counted with a progress handler.

Wall-clock time flakes on a busy machine; the number of VM instructions a statement executes does not.
A progress handler called every N instructions is called floor(steps / N) times, always the same for the
same statement on the same database. A first pass with a coarse N measures big costs cheaply; when that
says the statement is small, a second pass with N=1 counts it exactly.

    count_vm_steps(conn, "SELECT * FROM books WHERE author_id = 7")   # ~1,000,000s before, ~100s after
"""

from __future__ import annotations

import sqlite3

COARSE = 1000
EXACT_BELOW = 200_000
"""Statements under this many steps are counted one by one (a few tenths of a second at most)."""


def _count(conn: sqlite3.Connection, sql: str, every: int) -> int:
    calls = 0

    def tick() -> int:
        nonlocal calls
        calls += 1
        return 0

    conn.set_progress_handler(tick, every)
    try:
        cursor = conn.execute(sql)
        while cursor.fetchmany(1000):
            pass
    finally:
        conn.set_progress_handler(None, 0)
    return calls * every


def count_vm_steps(conn: sqlite3.Connection, sql: str) -> int:
    """The VM steps `sql` takes to run to completion on `conn` (all rows stepped through).

    Replaces any progress handler `conn` had (it is removed afterwards). Deterministic: the same statement
    on the same database always gives the same number. Exact below EXACT_BELOW steps, a multiple of
    COARSE above."""
    coarse = _count(conn, sql, COARSE)
    if coarse < EXACT_BELOW:
        return _count(conn, sql, 1)
    return coarse


def cost_factor(before: int, after: int) -> float:
    """How many times cheaper `after` is than `before` (a zero cost counts as one step)."""
    return max(before, 1) / max(after, 1)
