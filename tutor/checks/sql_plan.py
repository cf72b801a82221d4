"""`sql_plan`: the query's plan (EXPLAIN QUERY PLAN) seeks with an index on the given table/columns, does
no full scan of some tables, or still scans others. The plan is shown on failure."""

from __future__ import annotations

import sqlite3

from sandboxes.sql.plan import Plan, PlanStep, explain, step_columns
from tutor.checks import register
from tutor.checks.base import CheckContext, CheckResult, shorten
from tutor.checks.sql_common import learner_query
from tutor.pack.specs_sql import IndexUse, SqlPlanCheck


def _columns_text(columns: list[str]) -> str:
    return "(" + ", ".join(columns) + ")"


def _uses_index(conn: sqlite3.Connection, plan: Plan, want: IndexUse) -> str | None:
    """None when the plan seeks `want.table` as asked, else what is wrong."""
    accesses = plan.accesses(want.table)
    if not accesses:
        return f"the plan does not read {want.table} at all"
    wanted = [c.lower() for c in want.columns or []]
    reasons: list[str] = []
    for step in accesses:
        if step.op != "SEARCH" or (step.index is None and not step.primary_key):
            if step.index is not None:
                reasons.append(f"it reads every entry of the index {step.index} (SCAN), it does not seek in it")
            else:
                reasons.append(f"it reads every row of {want.table} (SCAN): no index is used")
            continue
        columns = step_columns(conn, step)
        used = step.index or "the INTEGER PRIMARY KEY"
        if step.automatic:
            reasons.append(
                f"SQLite builds a throwaway AUTOMATIC index for this one query: no index of yours on "
                f"{want.table}{_columns_text(want.columns or [])} exists"
            )
            continue
        if wanted and [c.lower() for c in columns[: len(wanted)]] != wanted:
            reasons.append(
                f"it seeks with {used} on {want.table}{_columns_text(columns)}, whose first "
                f"column{'s are' if len(wanted) > 1 else ' is'} not {_columns_text(want.columns or [])}"
            )
            continue
        sought = {c.lower() for c in step.constraint_columns}
        if step.primary_key and "rowid" in sought:  # `(rowid=?)` is the INTEGER PRIMARY KEY column
            sought |= {c.lower() for c in columns}
        missing = [c for c in want.seek or [] if c.lower() not in sought]
        if missing:
            on = ", ".join(c for c in dict.fromkeys(step.constraint_columns)) or "nothing"
            reasons.append(
                f"it seeks on {on} only, not on {', '.join(missing)}: the index holds "
                f"{'that column' if len(missing) == 1 else 'those columns'}, but the query cannot use "
                f"{'it' if len(missing) == 1 else 'them'} to narrow the search (another collation or order of columns)"
            )
            continue
        if want.index is not None and (step.index or "").lower() != want.index.lower():
            reasons.append(f"it uses {used}, not the index {want.index}")
            continue
        if want.covering is True and not step.covering:
            reasons.append(f"{used} is used, but not as a COVERING index: SQLite still reads each table row")
            continue
        if want.covering is False and step.covering:
            reasons.append(f"{used} is used as a COVERING index, and the task asks for one that is not")
            continue
        return None
    return "; ".join(dict.fromkeys(reasons))


def _scan_ways(plan: Plan, table: str) -> str:
    ways = [s.detail for s in plan.accesses(table)]
    return ", ".join(ways) if ways else "not at all"


def _plan_details(plan: Plan, query: str) -> tuple[str, ...]:
    return ("the plan:", *("  " + line for line in plan.render().splitlines()), f"query: {shorten(query, 100)}")


def _problems(spec: SqlPlanCheck, conn: sqlite3.Connection, plan: Plan) -> list[str]:
    problems: list[str] = []
    if spec.uses_index is not None:
        wrong = _uses_index(conn, plan, spec.uses_index)
        if wrong is not None:
            want = spec.uses_index
            target = want.table + (_columns_text(want.columns) if want.columns else "")
            problems.append(f"It should seek in {target} with an index, but {wrong}.")
    for table in spec.no_full_scan:
        scans: list[PlanStep] = plan.full_scans(table)
        if scans:
            problems.append(f"The plan still reads all of {table}: {scans[0].detail} (a FULL SCAN).")
    for table in spec.full_scan:
        if not plan.full_scans(table):
            problems.append(f"Expected a full scan of {table}, but the plan reads it {_scan_ways(plan, table)}.")
    sorting = [
        s.detail for s in plan.walk() if "TEMP B-TREE FOR" in s.detail.upper() and "ORDER BY" in s.detail.upper()
    ]
    if spec.sorts is False and sorting:
        problems.append(
            f"The plan still sorts the rows it found ({sorting[0]}): no index gives them in the ORDER BY order."
        )
    if spec.sorts is True and not sorting:
        problems.append("Expected the plan to sort in a temporary B-tree, but the rows already come in order.")
    return problems


@register("sql_plan")
def check_sql_plan(spec: SqlPlanCheck, ctx: CheckContext) -> CheckResult:
    evidence = ctx.need_sql()
    queries = spec.queries or [spec.query if spec.query is not None else learner_query(evidence)]
    conn = evidence.connect()
    shapes: list[str] = []
    for number, query in enumerate(queries, start=1):
        try:
            plan = explain(conn, query)
        except sqlite3.Error as exc:
            if spec.query is not None or spec.queries:
                return CheckResult(False, f"the check's query does not prepare: {exc}", error=True)
            return CheckResult(False, f"Your query does not prepare: {exc}", got=shorten(query), judged=False)
        problems = _problems(spec, conn, plan)
        if problems:
            first = problems[0]
            if len(queries) > 1:
                first = f"For query {number} of {len(queries)} ({shorten(' '.join(query.split()), 80)}): {first}"
            return CheckResult(
                False,
                first,
                got=shorten(" | ".join(s.detail for s in plan.steps), 200),
                details=(*problems[1:], *_plan_details(plan, query)),
            )
        shapes.extend(s.detail for s in plan.steps if s.is_access)
    shape = "; ".join(dict.fromkeys(shapes)) if shapes else "the plan has the right shape"
    if len(queries) > 1:
        return CheckResult(True, f"Right: all {len(queries)} queries are planned as they should be ({shape}).")
    return CheckResult(True, f"Right: {shape}.")
