"""`sql_probe`: behaviour instead of text. The checker tries statements on the learner's own connection,
inside a savepoint it rolls back, and each must be refused or accepted as the step declares: a CHECK that
is really there refuses the row outside its range, a UNIQUE rule refuses the second review, foreign keys
switched on for the learner's connection refuse the orphan. Whatever the rule is called, however it is
written, in whichever column order, the rows decide."""

from __future__ import annotations

from tutor.checks import register
from tutor.checks.base import CheckContext, CheckResult, shorten
from tutor.pack.specs_sql import SqlProbeCheck


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:]


@register("sql_probe")
def check_sql_probe(spec: SqlProbeCheck, ctx: CheckContext) -> CheckResult:
    evidence = ctx.need_sql()
    outcomes = list(evidence.trial([*spec.setup, *(p.sql for p in spec.probes)]))
    for sql, outcome in zip(spec.setup, outcomes, strict=False):
        if outcome.error is not None:
            return CheckResult(False, f"the check's setup failed: {outcome.error}", error=True, got=shorten(sql))
    tried = outcomes[len(spec.setup) :]
    for probe, outcome in zip(spec.probes, tried, strict=True):
        shown = f"the checker tried: {shorten(' '.join(probe.sql.split()), 140)} (and rolled it back)"
        if probe.expect == "refused":
            if outcome.error is None:
                return CheckResult(
                    False,
                    f"{_sentence(probe.because)} was accepted, but it should be refused.",
                    expected="refused by the database",
                    got="accepted",
                    details=(shown,),
                )
            if probe.error is not None and probe.error.lower() not in outcome.error.lower():
                return CheckResult(
                    False,
                    f"{_sentence(probe.because)} was refused, but not by the rule this step asks for: {outcome.error}.",
                    expected=f"refused by a {probe.error} rule",
                    got=f"refused: {outcome.error}",
                    details=(shown,),
                )
        elif outcome.error is not None:
            return CheckResult(
                False,
                f"{_sentence(probe.because)} was refused ({outcome.error}), but it should be accepted.",
                expected="accepted",
                got=f"refused: {outcome.error}",
                details=(shown,),
            )
    refused = sum(1 for p in spec.probes if p.expect == "refused")
    accepted = len(spec.probes) - refused
    parts = []
    if refused:
        parts.append(f"refuses the {refused} row{'s' if refused != 1 else ''} it must refuse")
    if accepted:
        parts.append(f"accepts the {accepted} it must accept")
    return CheckResult(True, "Right: the database " + " and ".join(parts) + ".")
