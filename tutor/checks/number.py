from __future__ import annotations

import math

from tutor.checks import register
from tutor.checks.base import CheckContext, CheckResult
from tutor.pack.specs_concept import NumberCheck


def parse_number(raw: object) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        return float(raw)
    text = str(raw).strip().replace("_", "").replace(",", "")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _fmt(value: float) -> str:
    return f"{value:g}"


@register("number")
def check_number(spec: NumberCheck, ctx: CheckContext) -> CheckResult:
    raw = ctx.need_answer()
    value = parse_number(raw)
    unit = f" {spec.unit}" if spec.unit else ""
    if value is None:
        return CheckResult(False, f"'{raw}' is not a number.", got=str(raw))
    allowed = max(spec.tolerance, abs(spec.value) * spec.relative_tolerance)
    # a hair of slack so that 2.0 - 1.9 (0.10000000000000009) counts as within 0.1
    if abs(value - spec.value) <= allowed + 1e-9 * max(1.0, abs(spec.value)):
        return CheckResult(True, "Right.")
    direction = "too high" if value > spec.value else "too low"
    expected = f"within {_fmt(allowed)}{unit} of the answer" if allowed else None
    return CheckResult(
        False,
        f"{_fmt(value)}{unit} is {direction}.",
        got=f"{_fmt(value)}{unit}",
        expected=expected,
    )
