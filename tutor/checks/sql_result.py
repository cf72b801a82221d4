"""`sql_result`: the learner's last query returns the same rows as the reference query."""

from __future__ import annotations

import sqlite3
from typing import Any

from tutor.checks import register
from tutor.checks.base import CheckContext, CheckResult, shorten
from tutor.checks.sql_common import Row, compare_rows, learner_query, plural, with_tie_breakers
from tutor.pack.specs_sql import SqlResultCheck


def _order_is_fixed(evidence: Any, query: str, width: int, want: list[Row], tolerance: float) -> bool:
    """Whether `query` gives `want`'s order because it asks for it, not by luck. Without a top-level ORDER BY:
    the same order when SQLite returns unordered rows the other way round. With one: the same order when
    the rows it leaves tied are ordered by every column, both ways (reversing unordered SELECTs does not
    move rows a sort put in order, so it would prove nothing there)."""
    variants = [with_tie_breakers(query, width, direction) for direction in ("DESC", "ASC")]
    if variants[0] is None:
        rows = [evidence.query(query, reverse_unordered=True)[1]]
    else:
        rows = []
        for broken in variants:
            try:
                rows.append(evidence.query(broken)[1])
            except sqlite3.Error:
                continue  # a form the rewrite cannot handle: the other variant still judges it
    return all(compare_rows(want, found, ordered=True, tolerance=tolerance).same for found in rows)


@register("sql_result")
def check_sql_result(spec: SqlResultCheck, ctx: CheckContext) -> CheckResult:
    evidence = ctx.need_sql()
    query = learner_query(evidence)
    try:
        want_columns, want = evidence.query(spec.reference, on=spec.reference_on)
    except sqlite3.Error as exc:
        return CheckResult(False, f"the reference query failed: {exc}", error=True, got=shorten(spec.reference))
    try:
        got_columns, got = evidence.query(query)
    except sqlite3.Error as exc:
        return CheckResult(False, f"Your query failed when the tutor ran it: {exc}", got=shorten(query), judged=False)
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
    # The same query with SQLite free to return unordered rows the other way round, and with tied rows
    # ordered differently: an order that was only luck (no ORDER BY, no tie-breaker) comes out different.
    if comparison.same and spec.ordered:  # noqa: SIM102 - the second test runs the query again; keep it apart
        if not _order_is_fixed(evidence, query, len(got_columns), want, spec.float_tolerance):
            return CheckResult(
                False,
                "The rows come out in the right order here, but only by luck: nothing in your query fixes it.",
                expected="the same order every time (an ORDER BY on columns that tell every row apart)",
                got="another order when SQLite is free to return the rows differently",
                details=(
                    "Without ORDER BY, or with an ORDER BY whose columns are equal for some rows, SQLite may "
                    "return rows in any order: today's order can change with an index, a VACUUM or a new "
                    "version. Order by the columns the task names, and end with one that is unique (the id).",
                    checked,
                ),
            )
    if comparison.same:
        return CheckResult(
            True, f"Right: the same {plural(len(got), 'row')} as the reference.", facts={"rows": len(got)}
        )
    return CheckResult(
        False,
        comparison.summary,
        expected=comparison.expected,
        got=comparison.got,
        first_difference=comparison.first_difference,
        details=(*comparison.details, checked),
    )
