"""`http_value`: the learner types a value that must equal one the sandbox gives (a header, a field)."""

from __future__ import annotations

from typing import Any

from tutor.checks import register
from tutor.checks.base import CheckContext, CheckResult
from tutor.checks.http_match import found, read_value
from tutor.checks.http_probe import prepared
from tutor.pack.specs_http import HttpValueCheck


def _normal(value: Any, case_sensitive: bool) -> str:
    text = " ".join(str(value).split())
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1]  # an ETag typed with or without its quotes
    return text if case_sensitive else text.casefold()


def _numbers_equal(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return False


@register("http_value")
def check_http_value(spec: HttpValueCheck, ctx: CheckContext) -> CheckResult:
    answer = ctx.need_answer()
    http = ctx.need_http()
    path, kwargs = prepared(spec.request, {})
    exchange = http.request(spec.request.method, path, **kwargs)
    actual = read_value(spec.value_from, exchange)
    if not found(actual):
        return CheckResult(
            False,
            f"The sandbox's response has no {spec.value_from} to compare with ({exchange.summary()}).",
            error=True,
        )
    typed = _normal(answer, spec.case_sensitive)
    wanted = _normal(actual, spec.case_sensitive)
    if typed == wanted or _numbers_equal(typed, wanted):
        return CheckResult(True, f"Right: the sandbox says {actual}.")
    if spec.what:  # the lesson's own words: the request the checker sends is not the learner's task
        return CheckResult(False, f"That is not {spec.what}.", got=str(answer))
    what = spec.value_from.replace("json:", "the field ").replace("header:", "the header ")
    return CheckResult(
        False,
        f"That is not {what} of {spec.request.method} {path}.",
        got=str(answer),
        details=(f"Send {spec.request.method} {path} yourself and read {what} of the response.",),
    )
