"""`sql_result`: the learner's last query returns the same rows as the reference query."""

from __future__ import annotations

import sqlite3

from tutor.checks import register
from tutor.checks.base import CheckContext, CheckResult, shorten
from tutor.checks.sql_common import compare_rows, learner_query, plural, run_query
from tutor.pack.specs_sql import SqlResultCheck


@register("sql_result")
def check_sql_result(spec: SqlResultCheck, ctx: CheckContext) -> CheckResult:
    evidence = ctx.need_sql()
    query = learner_query(evidence)
    conn = evidence.connect()
    try:
        want_columns, want = run_query(conn, spec.reference)
    except sqlite3.Error as exc:
        return CheckResult(False, f"the reference query failed: {exc}", error=True, got=shorten(spec.reference))
    try:
        got_columns, got = run_query(conn, query)
    except sqlite3.Error as exc:
        return CheckResult(False, f"Your query failed when the tutor ran it: {exc}", got=shorten(query))
    checked = f"checked: {shorten(query, 100)}"
    if len(want_columns) != len(got_columns):
        return CheckResult(
            False,
            f"Expected {plural(len(want_columns), 'column')}, your query returns {len(got_columns)}.",
            expected=", ".join(want_columns),
            got=", ".join(got_columns),
            details=(checked,),
        )
    if spec.match_column_names:
        for position, (a, b) in enumerate(zip(want_columns, got_columns, strict=True), start=1):
            if a.lower() != b.lower():
                return CheckResult(
                    False,
                    f"Column {position} should be named '{a}', yours is '{b}' (use AS {a}).",
                    expected=", ".join(want_columns),
                    got=", ".join(got_columns),
                    details=(checked,),
                )
    comparison = compare_rows(want, got, ordered=spec.ordered, tolerance=spec.float_tolerance)
    if comparison.same:
        return CheckResult(True, f"Right: the same {plural(len(got), 'row')} as the reference.")
    return CheckResult(
        False,
        comparison.summary,
        expected=comparison.expected,
        got=comparison.got,
        first_difference=comparison.first_difference,
        details=(*comparison.details, checked),
    )
