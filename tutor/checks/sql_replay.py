"""`sql_replay`: a statement meant to be safe when others write too is replayed by the checker.

Optimistic locking (`UPDATE ... SET ..., version = version + 1 WHERE id = 2 AND version = 1`) or an
atomic decrement (`SET copies = copies - 1`) cannot be judged from one run: against the data the learner
happened to have, a statement without the version bump changes nothing either way. So the checker
replays the learner's own statement, inside a savepoint it rolls back, against data it sets up: a row
someone else has moved on (the statement must change nothing), a row as the learner read it (it must
change it, and bump the version). A query is replayed the same way: the next page of a list after someone
else inserted a row before it must still be the rows after the learner's last one. Nothing of the replay
stays."""

from __future__ import annotations

from tutor.checks import register
from tutor.checks.base import CheckContext, CheckResult, shorten
from tutor.checks.sql_common import compare_rows, statement_fits
from tutor.pack.specs_sql import SqlReplayCheck


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:]


@register("sql_replay")
def check_sql_replay(spec: SqlReplayCheck, ctx: CheckContext) -> CheckResult:
    evidence = ctx.need_sql()
    chosen = next((r for r in reversed(list(evidence.ran())) if statement_fits(spec.statement, r.sql)), None)
    if chosen is None:
        summary = spec.missing.strip() if spec.missing else "Not yet: run the statement this step asks for first."
        return CheckResult(False, summary, got="no such statement has run in this step yet")
    yours = f"your statement: {shorten(' '.join(chosen.sql.split()), 140)}"
    for case in spec.cases:
        statements = [*case.setup, chosen.sql, *([case.query] if case.query else [])]
        outcomes = list(evidence.trial(statements))
        for sql, outcome in zip(case.setup, outcomes, strict=False):
            if outcome.error is not None:
                return CheckResult(False, f"the check's setup failed: {outcome.error}", error=True, got=shorten(sql))
        mine = outcomes[len(case.setup)]
        if mine.error is not None:
            return CheckResult(
                False,
                f"{_sentence(case.because)}: your statement failed when it ran there ({mine.error}).",
                details=(yours,),
            )
        if case.changes is not None and mine.changes != case.changes:
            return CheckResult(
                False,
                f"{_sentence(case.because)}: your statement changed {mine.changes} row"
                f"{'' if mine.changes == 1 else 's'} there, and it should change {case.changes}.",
                expected=f"{case.changes} row{'' if case.changes == 1 else 's'} changed",
                got=f"{mine.changes} changed",
                details=(yours,),
            )
        if case.rows is not None:
            comparison = compare_rows([tuple(r) for r in case.rows], list(mine.rows), ordered=True, tolerance=1e-9)
            if not comparison.same:
                return CheckResult(
                    False,
                    f"{_sentence(case.because)}: your query returns other rows there.",
                    expected=comparison.expected,
                    got=comparison.got,
                    first_difference=comparison.first_difference,
                    details=(*comparison.details, yours),
                )
        if case.query is not None and case.expect is not None:
            after = outcomes[-1]
            if after.error is not None:
                return CheckResult(False, f"the check's query failed: {after.error}", error=True)
            comparison = compare_rows([tuple(r) for r in case.expect], list(after.rows), ordered=False, tolerance=1e-9)
            if not comparison.same:
                return CheckResult(
                    False,
                    f"{_sentence(case.because)}: afterwards the row is not as it should be.",
                    expected=comparison.expected,
                    got=comparison.got,
                    first_difference=comparison.first_difference,
                    details=(*comparison.details, yours),
                )
    count = len(spec.cases)
    return CheckResult(
        True,
        f"Right: replayed in {count} situation{'s' if count != 1 else ''}, your statement did the safe thing "
        "each time.",
    )
