"""`http_probe`: the checker sends its own requests, in order, carrying saved values between them,
and asserts on each response. The requests are marked as the tutor's, so they never count as the
learner's traffic."""

from __future__ import annotations

import json
import re
from typing import Any

from tutor.checks import register
from tutor.checks.base import CheckContext, CheckResult, shorten
from tutor.checks.http_match import describe_response, found, read_value, response_differences, show_exchange
from tutor.pack.actions import HttpRequest
from tutor.pack.specs_http import HttpProbeCheck

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(\|weak)?\}")
"""`{name}`: a value saved earlier; `{name|weak}`: a saved entity tag in its weak form, `W/"..."`, which
If-None-Match must treat as the same tag (weak comparison, RFC 9110 §8.8.3.2)."""


def _filled(match: re.Match[str], saved: dict[str, Any]) -> str:
    if match.group(1) not in saved:
        return match.group(0)
    value = str(saved[match.group(1)])
    if match.group(2) and not value.startswith("W/"):
        return f"W/{value}"
    return value


def substitute(text: str, saved: dict[str, Any]) -> str:
    return PLACEHOLDER.sub(lambda m: _filled(m, saved), text)


def substitute_json(value: Any, saved: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole and whole.group(1) in saved and not whole.group(2):
            return saved[whole.group(1)]  # keeps the saved value's JSON type
        return substitute(value, saved)
    if isinstance(value, list):
        return [substitute_json(v, saved) for v in value]
    if isinstance(value, dict):
        return {k: substitute_json(v, saved) for k, v in value.items()}
    return value


def prepared(request: HttpRequest, saved: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(path, httpx keyword arguments) with `{name}` replaced by saved values."""
    path = substitute(request.path, saved)
    kwargs: dict[str, Any] = {"headers": {k: substitute(v, saved) for k, v in request.headers.items()}}
    if request.query:
        kwargs["params"] = {
            k: substitute(str(v).lower() if isinstance(v, bool) else str(v), saved) for k, v in request.query.items()
        }
    if request.json_body is not None:
        kwargs["content"] = json.dumps(substitute_json(request.json_body, saved)).encode()
        if not any(k.lower() == "content-type" for k in kwargs["headers"]):
            kwargs["headers"]["Content-Type"] = "application/json"
    elif request.body is not None:
        kwargs["content"] = substitute(request.body, saved).encode()
    return path, kwargs


def shown(exchange: Any) -> list[str]:
    """The shared request/response lines, worded for a probe: the tutor sent the request to look at the
    sandbox as the learner left it, so it is not "you sent"."""
    out = []
    for line in show_exchange(exchange):
        if line.startswith("you sent:  "):
            line = (
                "sent:      " + line.removeprefix("you sent:  ").removesuffix("  (tutor)") + "  (by the tutor, to look)"
            )
        elif line.startswith("you got:   "):
            line = "answered:  " + line.removeprefix("you got:   ")
        out.append(line)
    return out


@register("http_probe")
def check_http_probe(spec: HttpProbeCheck, ctx: CheckContext) -> CheckResult:
    http = ctx.need_http()
    saved: dict[str, Any] = {}
    total = len(spec.steps)
    for number, step in enumerate(spec.steps, 1):
        path, kwargs = prepared(step.request, saved)
        exchange = http.request(step.request.method, path, **kwargs)
        diffs = response_differences(step.expect, exchange)
        if diffs:
            return CheckResult(
                False,
                f"Step {number} of {total}: {step.request.method} {path} answered {exchange.status}, "
                f"not what this step needs.",
                expected=describe_response(step.expect),
                got=f"{exchange.status} " + shorten(exchange.text(), 100),
                first_difference=diffs[0],
                details=tuple([f"- {d}" for d in diffs[1:]] + shown(exchange)),
            )
        for name, source in step.save.items():
            value = read_value(source, exchange)
            if not found(value):
                return CheckResult(
                    False,
                    f"Step {number} of {total}: the response has no {source} to carry on as '{name}'.",
                    details=tuple(shown(exchange)),
                )
            saved[name] = value
    return CheckResult(True, f"The sandbox answered all {total} of the checker's requests as expected.")
