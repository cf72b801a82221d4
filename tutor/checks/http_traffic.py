"""`http_traffic`: the traffic log holds requests the learner sent, with the responses they got.

Also home of the matching helpers the other HTTP kinds share (request/response predicates, JSON
paths, values read from a response). Exchanges are `sandboxes.api.recorder.Exchange` objects, read
through attributes only (method, path, query_value, request_header, header, json, status, ...).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from tutor.checks import register
from tutor.checks.base import CheckContext, CheckResult, shorten
from tutor.checks.words import human_path, human_pattern
from tutor.pack.specs_http import HttpTrafficCheck, RequestMatch, ResponseExpect, TrafficExpectation

_MISSING = object()
_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def json_path(value: Any, path: str) -> Any:
    """`items[0].id` into a parsed JSON value; `_MISSING` when any step is absent."""
    current = value
    for name, index in _TOKEN.findall(path):
        if index:
            if not isinstance(current, list) or int(index) >= len(current):
                return _MISSING
            current = current[int(index)]
        else:
            if isinstance(current, list) and name.isdigit() and int(name) < len(current):
                current = current[int(name)]
            elif isinstance(current, dict) and name in current:
                current = current[name]
            else:
                return _MISSING
    return current


def found(value: Any) -> bool:
    return value is not _MISSING


def same_value(expected: Any, actual: Any) -> bool:
    if expected == "*":
        return actual is not _MISSING
    if actual is _MISSING:
        return False
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    return bool(expected == actual)


def header_matches(expected: str, actual: str | None) -> bool:
    if actual is None:
        return False
    if expected == "*":
        return True
    actual = actual.strip()
    return actual == expected.strip() or actual.split(";")[0].strip().lower() == expected.strip().lower()


def _fmt(value: Any) -> str:
    return "(missing)" if value is _MISSING else shorten(value, 60)


def _want(value: Any) -> str:
    return "expected a value" if value == "*" else f"expected {_fmt(value)}"


def _field(path: str, value: Any) -> str:
    """A body field the check wants, in words: `items #5 > id = 5`, or `items #20 > author > name` present."""
    return human_path(path) if value == "*" else f"{human_path(path)} = {shorten(value, 30)}"


def _header(name: str, value: str) -> str:
    return f"a {name} header" if value == "*" else f"{name}: {value}"


def request_differences(match: RequestMatch, exchange: Any) -> list[str]:
    return list(_request_misses(match, exchange))


def _request_misses(match: RequestMatch, exchange: Any) -> Iterator[str]:
    """Each way `exchange` differs from `match`, in the order the learner reads them.

    Lazy: a caller that only asks whether anything differs, or that drops an exchange once it has
    more differences than the closest so far, stops early (a traffic log holds thousands of exchanges).
    """
    if match.method and exchange.method != match.method:
        yield f"method: expected {match.method}, sent {exchange.method}"
    if match.path and exchange.path.rstrip("/") != match.path.rstrip("/"):
        yield f"path: expected {match.path}, sent {exchange.path}"
    if match.path_pattern and not re.fullmatch(match.path_pattern, exchange.path):
        yield f"path: expected one like {human_pattern(match.path_pattern)}, sent {exchange.path}"
    if match.query:
        params = exchange.query_params
        for name, value in match.query.items():
            actual = next((v for k, v in params if k == name), None)
            if actual is None:
                yield f"query: '{name}' is missing"
            elif value != "*" and actual != str(value):
                yield f"query: expected {name}={value}, sent {name}={shorten(actual, 40)}"
    for name, value in match.headers.items():
        actual = exchange.request_header(name)
        if not header_matches(value, actual):
            yield (
                f"request header {name}: "
                + ("missing" if actual is None else f"expected '{value}', sent '{shorten(actual, 60)}'")
            )
    for name in match.absent_headers:
        sent = exchange.request_header(name)
        if sent is not None:
            yield f"request header {name}: should not be sent, sent '{shorten(sent, 60)}'"
    if match.json_fields:
        body = exchange.request_json()
        if body is None:
            yield (
                "request body: expected JSON, sent "
                + ("nothing" if not exchange.request_body else "something that is not JSON")
            )
        else:
            for path, value in match.json_fields.items():
                actual = json_path(body, path)
                if not same_value(value, actual):
                    yield f"request body {human_path(path)}: {_want(value)}, sent {_fmt(actual)}"


def status_ok(expected: int | list[int] | None, status: int) -> bool:
    if expected is None:
        return True
    return status in expected if isinstance(expected, list) else status == expected


def response_differences(expect: ResponseExpect, exchange: Any) -> list[str]:
    return list(_response_misses(expect, exchange))


def _response_misses(expect: ResponseExpect, exchange: Any) -> Iterator[str]:
    """As `_request_misses`, for the response."""
    if not status_ok(expect.status, exchange.status):
        wanted = " or ".join(map(str, expect.status)) if isinstance(expect.status, list) else expect.status
        yield f"status: expected {wanted}, got {exchange.status}"
    for name, value in expect.headers.items():
        actual = exchange.header(name)
        if not header_matches(value, actual):
            yield (
                f"response header {name}: "
                + ("missing" if actual is None else f"expected '{value}', got '{shorten(actual, 60)}'")
            )
    for name, elements in expect.header_lists.items():
        yield from _list_differences(name, elements, exchange.header(name))
    for name in expect.absent_headers:
        got = exchange.header(name)
        if got is not None:
            yield f"response header {name}: should be absent, got '{shorten(got, 60)}'"
    if expect.json_fields:
        body = exchange.json()
        for path, value in expect.json_fields.items():
            actual = json_path(body, path) if body is not None else _MISSING
            if not same_value(value, actual):
                yield f"response body {human_path(path)}: {_want(value)}, got {_fmt(actual)}"


def _list_elements(value: str | None) -> list[str]:
    return [part.strip().lower().replace(" ", "") for part in (value or "").split(",") if part.strip()]


def _has_element(elements: list[str], wanted: str) -> bool:
    wanted = wanted.strip().lower().replace(" ", "")
    if "=" in wanted:
        name, _, value = wanted.partition("=")
        return any(e.partition("=")[0] == name and e.partition("=")[2].strip('"') == value.strip('"') for e in elements)
    return any(e.partition("=")[0] == wanted for e in elements)


def _list_differences(name: str, wanted: list[str], actual: str | None) -> list[str]:
    """`Cache-Control: [no-store, '!public']` against the header's comma-separated elements."""
    elements = _list_elements(actual)
    got = f"got '{shorten(actual, 60)}'" if actual is not None else "the header is missing"
    diffs = []
    for item in wanted:
        if item.startswith("!"):
            if _has_element(elements, item[1:]):
                diffs.append(f"response header {name}: should not include {item[1:]}, {got}")
        elif not _has_element(elements, item):
            diffs.append(f"response header {name}: should include {item}, {got}")
    return diffs


def read_value(spec: str, exchange: Any) -> Any:
    """'json:PATH', 'header:NAME' or 'status' from a response; `_MISSING` when absent."""
    if spec == "status":
        return exchange.status
    kind, _, rest = spec.partition(":")
    if kind == "header":
        value = exchange.header(rest)
        return _MISSING if value is None else value
    if kind == "json":
        body = exchange.json()
        return _MISSING if body is None else json_path(body, rest)
    raise ValueError(f"'{spec}' is not 'json:PATH', 'header:NAME' or 'status'")


def describe_request(match: RequestMatch) -> str:
    parts = [
        match.method or "any method",
        match.path or (human_pattern(match.path_pattern) if match.path_pattern else "any path"),
    ]
    text = " ".join(parts)
    if match.query:
        text += "?" + "&".join(f"{k}=…" if v == "*" else f"{k}={v}" for k, v in match.query.items())
    extra = [_header(k, v) for k, v in match.headers.items()] + [f"no {h} header" for h in match.absent_headers]
    extra += [f"a body with {_field(k, v)}" for k, v in match.json_fields.items()]
    return text + (f" with {', '.join(extra)}" if extra else "")


def describe_response(expect: ResponseExpect) -> str:
    parts = []
    if expect.status is not None:
        parts.append(" or ".join(map(str, expect.status)) if isinstance(expect.status, list) else str(expect.status))
    parts += [_header(k, v) for k, v in expect.headers.items()]
    parts += [f"{k} including {', '.join(v)}" for k, v in expect.header_lists.items()]
    parts += [f"no {h} header" for h in expect.absent_headers]
    parts += [f"a body with {_field(k, v)}" for k, v in expect.json_fields.items()]
    return ", ".join(parts) or "any response"


def show_exchange(exchange: Any, limit: int = 300) -> list[str]:
    """The request the learner sent and the response they got, a few lines each."""
    lines = [f"you sent:  {exchange.method} {exchange.target}  ({exchange.source})"]
    for name in ("content-type", "authorization", "if-none-match", "if-modified-since", "idempotency-key"):
        value = exchange.request_header(name)
        if value is not None:
            lines.append(f"           {name}: {shorten(value, 80)}")
    if exchange.request_body:
        lines.append(f"           body: {shorten(exchange.request_body.decode('utf-8', 'replace'), limit)}")
    lines.append(f"you got:   {exchange.status} in {exchange.duration_ms:.1f} ms")
    for name in ("content-type", "etag", "cache-control", "x-cache", "location", "retry-after", "www-authenticate"):
        value = exchange.header(name)
        if value is not None:
            lines.append(f"           {name}: {shorten(value, 80)}")
    if exchange.response_body:
        lines.append(f"           body: {shorten(exchange.text(), limit)}")
    return lines


def closest(expectation: TrafficExpectation, exchanges: list[Any]) -> tuple[Any, list[str]] | None:
    """The exchange with the fewest differences, and those differences in words.

    Request differences weigh more: the right request with the wrong answer is closer. Ties go to
    the latest. An exchange is dropped as soon as its count passes the best so far, and only the
    winner's differences are put in words.
    """
    request = expectation.request
    method, path = request.method, request.path.rstrip("/") if request.path else None
    best: Any = None
    best_score = 0
    for exchange in exchanges:
        if best is not None:
            # A lower bound from the two cheapest fields, counted as `_request_misses` counts them.
            bound = 3 * (
                (bool(method) and exchange.method != method) + (path is not None and exchange.path.rstrip("/") != path)
            )
            if bound > best_score:
                continue
        score = 0
        beaten = False
        for weight, misses in (
            (3, _request_misses(request, exchange)),
            (1, _response_misses(expectation.response, exchange)),
        ):
            for _ in misses:
                score += weight
                if best is not None and score > best_score:
                    beaten = True
                    break
            if beaten:
                break
        if not beaten:
            best, best_score = exchange, score
    if best is None:
        return None
    return best, request_differences(expectation.request, best) + response_differences(expectation.response, best)


def matches(expectation: TrafficExpectation, exchange: Any) -> bool:
    request = expectation.request
    # The cheap fields first: most exchanges in a long log differ in method or path.
    if request.method and exchange.method != request.method:
        return False
    if request.path and exchange.path.rstrip("/") != request.path.rstrip("/"):
        return False
    return (
        next(_request_misses(request, exchange), None) is None
        and next(_response_misses(expectation.response, exchange), None) is None
    )


@register("http_traffic")
def check_http_traffic(spec: HttpTrafficCheck, ctx: CheckContext) -> CheckResult:
    everything = [e for e in ctx.need_http().exchanges() if e.source != "tutor"]
    pool = everything if spec.source == "any" else [e for e in everything if e.source == spec.source]
    where = {
        "any": "",
        "outside": " from outside the tutor (curl, httpie, a browser)",
        "workbench": " from the request workbench",
    }[spec.source]
    if not pool:
        details: tuple[str, ...] = ()
        if everything:
            details = (
                f"{len(everything)} request(s) came in, but from the {everything[-1].source}; "
                f"this step counts only requests{where}.",
            )
        return CheckResult(
            False,
            f"No requests{where} reached the sandbox since this step opened.",
            expected=describe_request(spec.expect[0].request) + " -> " + describe_response(spec.expect[0].response),
            details=details,
        )
    position = 0
    for number, expectation in enumerate(spec.expect, 1):
        candidates = pool[position:] if spec.in_order else pool
        # Method and path inline first (no call per exchange): a long log mostly differs there.
        method, path = expectation.request.method, expectation.request.path
        path = path.rstrip("/") if path else None
        hits = [
            i
            for i, e in enumerate(candidates)
            if (not method or e.method == method)
            and (path is None or e.path.rstrip("/") == path)
            and matches(expectation, e)
        ]
        if len(hits) >= expectation.at_least:
            if spec.in_order:
                position += hits[expectation.at_least - 1] + 1
            continue
        expected = f"{describe_request(expectation.request)} -> {describe_response(expectation.response)}"
        label = f"request {number} of {len(spec.expect)}" if len(spec.expect) > 1 else "the one this step asks for"
        if hits:
            return CheckResult(
                False,
                f"Found {len(hits)} matching request(s) for {label}, but {expectation.at_least} are needed.",
                expected=expected,
                got=f"{len(hits)} x {candidates[hits[-1]].summary()}",
            )
        near = closest(expectation, candidates or pool)
        assert near is not None
        exchange, diffs = near
        extra: list[str] = []
        if spec.source != "any":
            elsewhere = [e for e in everything if e.source != spec.source and matches(expectation, e)]
            if elsewhere:
                extra.append(f"A matching request came from the {elsewhere[-1].source}; send it{where}.")
        if spec.in_order and not candidates:
            extra.append("The requests must come in the order the task gives.")
        summary = f"None of your requests is {label}" + (
            " after the earlier ones" if spec.in_order and number > 1 else ""
        )
        return CheckResult(
            False,
            summary + ".",
            expected=expected,
            got=f"{exchange.summary()} (the closest)",
            first_difference=diffs[0] if diffs else None,
            details=tuple(extra + [f"- {d}" for d in diffs[1:]] + show_exchange(exchange)),
        )
    matched = len(spec.expect)
    return CheckResult(
        True, f"Found the request{'s' if matched > 1 else ''} in the traffic log, with the right response."
    )
