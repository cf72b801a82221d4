"""`sql_cost`: a query costs at least `min_factor` times fewer SQLite VM steps on the learner's live
database than on the lesson's starting database. VM steps are counted with a progress handler: the same
query on the same data always costs the same, however busy the machine is."""

from __future__ import annotations

import sqlite3
import threading

from sandboxes.sql.cost import cost_factor, count_vm_steps
from sandboxes.sql.plan import explain
from tutor.checks import register
from tutor.checks.base import CheckContext, CheckResult, shorten
from tutor.pack.specs_sql import SqlCostCheck

_START_COSTS: dict[tuple[str, str], int] = {}
_LOCK = threading.Lock()


def _database_file(conn: sqlite3.Connection) -> str:
    rows = conn.execute("PRAGMA database_list").fetchall()
    return next((str(r[2]) for r in rows if r[1] == "main"), "")


def start_cost(conn: sqlite3.Connection, query: str) -> int:
    """The query's cost on the starting database; memoised per template file (templates never change)."""
    key = (_database_file(conn), query)
    with _LOCK:
        if key[0] and key in _START_COSTS:
            return _START_COSTS[key]
    steps = count_vm_steps(conn, query)
    with _LOCK:
        if key[0]:
            _START_COSTS[key] = steps
    return steps


@register("sql_cost")
def check_sql_cost(spec: SqlCostCheck, ctx: CheckContext) -> CheckResult:
    evidence = ctx.need_sql()
    try:
        before = start_cost(evidence.connect_start(), spec.query)
    except sqlite3.Error as exc:
        return CheckResult(False, f"the check's query failed on the starting database: {exc}", error=True)
    live = evidence.connect()
    try:
        after = count_vm_steps(live, spec.query)
    except sqlite3.Error as exc:
        return CheckResult(False, f"The query fails on your database: {exc}", got=shorten(spec.query))
    factor = cost_factor(before, after)
    numbers = f"{before:,} VM steps at the start, {after:,} now: {factor:,.0f}x cheaper"
    if factor >= spec.min_factor:
        facts = {"steps_before": before, "steps_after": after, "factor": round(factor, 1)}
        return CheckResult(True, f"Right: {numbers}.", facts=facts)
    try:
        plan_lines = tuple("  " + line for line in explain(live, spec.query).render().splitlines())
    except sqlite3.Error:
        plan_lines = ()
    return CheckResult(
        False,
        f"Not cheap enough yet: {numbers} (needed at least {spec.min_factor:g}x).",
        expected=f"at most {before / spec.min_factor:,.0f} VM steps",
        got=f"{after:,} VM steps",
        details=("the plan now:", *plan_lines, f"query: {shorten(spec.query, 100)}") if plan_lines else (),
    )
