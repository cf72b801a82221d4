"""`sql_state`: after the learner's statements, a checker query returns the expected rows."""

from __future__ import annotations

import sqlite3

from tutor.checks import register
from tutor.checks.base import CheckContext, CheckResult, shorten
from tutor.checks.sql_common import compare_rows, plural, run_query
from tutor.pack.specs_sql import SqlStateCheck


@register("sql_state")
def check_sql_state(spec: SqlStateCheck, ctx: CheckContext) -> CheckResult:
    evidence = ctx.need_sql()
    try:
        _, got = run_query(evidence.connect(), spec.query)
    except sqlite3.Error as exc:
        return CheckResult(False, f"the checker query failed: {exc}", error=True, got=shorten(spec.query))
    expected = [tuple(row) for row in spec.expect]
    comparison = compare_rows(expected, got, ordered=spec.ordered, tolerance=spec.float_tolerance)
    if comparison.same:
        return CheckResult(True, "Right: the database is in the expected state.")
    # The checker's own query is not shown: it would hand over the answer (its WHERE clause), and it is
    # the tutor's SQL, not the learner's.
    details = list(comparison.details)
    in_transaction = getattr(evidence, "in_transaction", None)
    if callable(in_transaction) and in_transaction():
        details.insert(
            0,
            "You have an open transaction: its changes are invisible to everyone else (the check too) "
            "until you COMMIT (or ROLLBACK to undo them).",
        )
    summary = comparison.summary.replace("Different rows", "The database is not in the expected state")
    if spec.message:
        summary = spec.message.strip()
    if not evidence.statements():
        summary += " (no statement has run in this step yet)"
    return CheckResult(
        False,
        summary,
        expected=comparison.expected or plural(len(expected), "row"),
        got=comparison.got or plural(len(got), "row"),
        first_difference=comparison.first_difference,
        details=tuple(details),
    )
