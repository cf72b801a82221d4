from __future__ import annotations

from tutor.checks import evaluate, register
from tutor.checks.base import CheckContext, CheckResult
from tutor.pack.checks import AllCheck


@register("all")
def check_all(spec: AllCheck, ctx: CheckContext) -> CheckResult:
    passed: list[CheckResult] = []
    for index, inner in enumerate(spec.checks, start=1):
        result = evaluate(inner, ctx)
        if not result.passed:
            prefix = f"Part {index} of {len(spec.checks)}: " if len(spec.checks) > 1 else ""
            from dataclasses import replace

            return replace(result, summary=prefix + result.summary)
        passed.append(result)
    feedback = "\n".join(r.feedback for r in passed if r.feedback) or None
    facts: dict[str, object] = {}
    for result in passed:
        facts.update(result.facts)
    return CheckResult(True, "All parts pass.", feedback=feedback, facts=facts)
