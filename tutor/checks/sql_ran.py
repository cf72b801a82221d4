"""`sql_ran`: the learner ran statements of a given shape since the step opened, in order: an
`EXPLAIN QUERY PLAN` of the right query, UPDATEs inside a transaction that was committed, a ROLLBACK.

It reads what the learner did, not what the database holds, so pair it (in an `all`) with a check of
the result: `sql_state`, `sql_plan`, `sql_result`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tutor.checks import register
from tutor.checks.base import CheckContext, CheckResult, shorten
from tutor.checks.sql_common import statement_fits
from tutor.pack.specs_sql import SqlRanCheck, StatementExpect

_TRANSACTION_WORDS = {
    "none": "outside a transaction (it committed on its own)",
    "open": "inside a transaction that is still open",
    "committed": "inside a transaction you committed",
    "rolled_back": "inside a transaction you rolled back",
}


def _words(text: str) -> str:
    return " ".join(text.split()).upper()


def _matches(want: StatementExpect, statement: Any) -> bool:
    if not statement_fits(want, str(statement.sql)):
        return False
    if want.changes is not None and getattr(statement, "changes", -1) != want.changes:
        return False
    return want.transaction == "any" or statement.transaction == want.transaction


def _describe(want: StatementExpect) -> str:
    what = f"a statement starting with {_words(want.keyword)}" if want.keyword else "a statement of the asked shape"
    if want.changes is not None:
        what += f" that changes exactly {want.changes} row{'' if want.changes == 1 else 's'}"
    if want.transaction != "any":
        what += " " + _TRANSACTION_WORDS[want.transaction]
    return what


def _atomic_problem(spec: SqlRanCheck, ran: Sequence[Any]) -> str | None:
    """Why the statements `spec.atomic` is about did not commit as one unit; None when they did."""
    assert spec.atomic is not None
    mine = [r for r in ran if statement_fits(spec.atomic, str(r.sql))]
    if not mine:
        return None  # the statements themselves are `statements`' business
    units = {("transaction", r.number) if r.transaction != "none" else ("alone", i) for i, r in enumerate(mine)}
    if len(units) > 1:
        alone = sum(1 for r in mine if r.transaction == "none")
        if alone:
            return (
                "Your writes did not commit as one: "
                + (f"{alone} of them committed on its own" if alone == 1 else f"{alone} of them committed on their own")
                + ". If the next one had failed, the first would have stayed: put them in one transaction, or make "
                "them one statement."
            )
        return (
            "Your writes ran in different transactions: if the second had failed, the first would have stayed. "
            "Put them in one transaction."
        )
    state = mine[0].transaction
    if state == "open":
        return "Your writes are in a transaction that is still open: nobody else sees them until you COMMIT."
    if state == "rolled_back":
        return "Your writes were rolled back: nothing of them stayed. Run them again and COMMIT."
    return None


def _match_all(spec: SqlRanCheck, ran: Sequence[Any]) -> tuple[StatementExpect | None, list[int]]:
    """The first expectation no statement satisfies (None when all are), and the statements used.

    Expectations are matched in order, each by a later statement than the one before; with
    `same_transaction`, those expected inside a transaction are tried per transaction."""
    position = 0
    used: list[int] = []
    for want in spec.statements:
        found = next((i for i in range(position, len(ran)) if _matches(want, ran[i])), None)
        if found is None:
            return want, used
        used.append(found)
        position = found + 1
    return None, used


@register("sql_ran")
def check_sql_ran(spec: SqlRanCheck, ctx: CheckContext) -> CheckResult:
    evidence = ctx.need_sql()
    ran = list(evidence.ran())
    if spec.same_transaction:
        missing, used = _match_in_one_transaction(spec, ran)
    else:
        missing, used = _match_all(spec, ran)
    if missing is None and spec.atomic is not None:
        problem = _atomic_problem(spec, ran)
        if problem is not None:
            shown = [r for r in ran if statement_fits(spec.atomic, str(r.sql))][-5:]
            details = ["your writes:"] + [
                f"  {shorten(r.sql.rstrip().rstrip(';'), 70)}: {_TRANSACTION_WORDS.get(r.transaction, r.transaction)}"
                for r in shown
            ]
            return CheckResult(False, problem, details=tuple(details))
    if missing is None:
        return CheckResult(True, "Right: you ran " + "; ".join(shorten(ran[i].sql, 60) for i in used) + ".")
    summary = (
        missing.missing.strip() if missing.missing else f"Not yet: this step asks you to run {_describe(missing)}."
    )
    if not ran:
        return CheckResult(False, summary, got="no statement has run in this step yet")
    shown = ran[-5:]
    details = ["what you ran in this step" + (" (the last 5)" if len(ran) > 5 else "") + ":"]
    about_transactions = spec.same_transaction or any(w.transaction != "any" for w in spec.statements)
    for r in shown:
        sql = shorten(r.sql.rstrip().rstrip(";"), 70)
        where = _TRANSACTION_WORDS.get(r.transaction, r.transaction)
        details.append(f"  {sql}: {where}" if about_transactions else f"  {sql}")
    return CheckResult(False, summary, details=tuple(details))


def _match_in_one_transaction(spec: SqlRanCheck, ran: list[Any]) -> tuple[StatementExpect | None, list[int]]:
    """Like `_match_all`, but every expectation with a transaction must be met inside the same one."""
    numbers = sorted({n for r in ran if (n := getattr(r, "number", None)) is not None})
    if not numbers:
        return _match_all(spec, ran)
    best: tuple[StatementExpect | None, list[int]] = _match_all(spec, [])
    for number in numbers:
        allowed = [r if (getattr(r, "number", None) == number) else _Outside(r) for r in ran]
        missing, used = _match_all(spec, allowed)
        if missing is None:
            return None, used
        if len(used) >= len(best[1]):
            best = (missing, used)
    return best


class _Outside:
    """A statement of another transaction, seen as if it had none (so transaction expectations skip it)."""

    def __init__(self, statement: Any) -> None:
        self.sql = statement.sql
        self.transaction = "other" if statement.transaction != "none" else "none"
