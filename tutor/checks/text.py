from __future__ import annotations

import re

from tutor.checks import register
from tutor.checks.base import CheckContext, CheckResult, shorten
from tutor.pack.specs_concept import TextCheck


def normalise(spec: TextCheck, text: str) -> str:
    if spec.normalize_whitespace:
        text = " ".join(text.split())
    if spec.ignore_trailing_punctuation:
        text = text.rstrip(".;!")
    if not spec.case_sensitive:
        text = text.casefold()
    return text


@register("text")
def check_text(spec: TextCheck, ctx: CheckContext) -> CheckResult:
    raw = str(ctx.need_answer())
    given = normalise(spec, raw)
    if not given:
        return CheckResult(False, "The answer is empty.")
    if any(given == normalise(spec, accepted) for accepted in spec.accept):
        return CheckResult(True, "Right.")
    if spec.pattern is not None:
        flags = 0 if spec.case_sensitive else re.IGNORECASE
        if re.fullmatch(spec.pattern, raw.strip(), flags) or re.fullmatch(spec.pattern, given, flags):
            return CheckResult(True, "Right.")
    expected = None
    if spec.accept:
        expected = "one of the accepted answers" if len(spec.accept) > 1 else "a different answer"
    return CheckResult(
        False,
        f"{shorten(raw.strip(), 60)!s} is not the answer.",
        got=shorten(raw.strip()),
        expected=expected,
    )
