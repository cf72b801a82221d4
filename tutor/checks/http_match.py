"""Matching recorded HTTP exchanges against what a step asks for, as HTTP means it.

What the HTTP check kinds share: JSON paths and values read from a response; request and response
predicates whose differences are said in the learner's words; and the matchers a value can be
compared with, the strongest of which is *provenance*: `{given: 'header:ETag'}` holds only for a value
the server gave the learner in an earlier response, so a made-up ETag, a token copied from the lesson
text or a cursor typed by hand does not pass where the step is about sending back what the server gave.

Headers are compared with their meaning (tutor.http.semantics): If-None-Match and If-Match as lists of
entity tags with weak or strong comparison, the If-*-Since headers as dates, Authorization by its
credentials, Cache-Control as a set of directives.

Exchanges are `sandboxes.api.recorder.Exchange` objects, read through attributes only (method, path,
query_value, request_header, header, headers_all, json, status, lesson_time, caller, ...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from tutor.checks.base import shorten
from tutor.checks.words import human_path, human_pattern
from tutor.http import semantics
from tutor.pack.specs_http import (
    AnyOf,
    Between,
    Given,
    NotEqual,
    OneOf,
    Pattern,
    RequestMatch,
    ResponseExpect,
    TrafficExpectation,
)

MISSING: Any = object()
_TOKEN = re.compile(r"([^.\[\]]+)|\[(-?\d+|\*)\]")
_MATCHERS = (Given, NotEqual, OneOf, Pattern, Between)


# -- reading values -------------------------------------------------------------------------------
def json_path(value: Any, path: str) -> Any:
    """`items[0].id` into a parsed JSON value; `items[-1].id` from the end; `items[*].id` is the list of
    every item's id. `MISSING` when any step is absent."""
    return _walk(value, _TOKEN.findall(path))


def _walk(current: Any, tokens: list[tuple[str, str]]) -> Any:
    for position, (name, index) in enumerate(tokens):
        if index == "*":
            if not isinstance(current, list):
                return MISSING
            rest = tokens[position + 1 :]
            values = [_walk(item, rest) for item in current]
            return [v for v in values if v is not MISSING]
        if index:
            number = int(index)
            if not isinstance(current, list) or not -len(current) <= number < len(current):
                return MISSING
            current = current[number]
        elif isinstance(current, list) and name.isdigit() and int(name) < len(current):
            current = current[int(name)]
        elif isinstance(current, dict) and name in current:
            current = current[name]
        else:
            return MISSING
    return current


def found(value: Any) -> bool:
    return value is not MISSING


def read_value(spec: str, exchange: Any) -> Any:
    """'json:PATH', 'header:NAME', 'cookie:NAME', 'sf:NAME[MEMBER][;PARAM]' or 'status' from a response;
    `MISSING` when absent."""
    if spec == "status":
        return exchange.status
    kind, _, rest = spec.partition(":")
    if kind == "header":
        value = exchange.header(rest)
        return MISSING if value is None else value
    if kind == "json":
        body = exchange.json()
        return MISSING if body is None else json_path(body, rest)
    if kind == "cookie":
        value = semantics.set_cookie(exchange.headers_all("set-cookie"), rest.strip())
        return MISSING if value is None else value
    if kind == "sf":
        name, member, param = _sf_parts(rest)
        header = exchange.header(name)
        if header is None:
            return MISSING
        try:
            return semantics.structured(header, f"{member};{param}" if param else member)
        except ValueError:
            return MISSING
    raise ValueError(f"'{spec}' is not 'json:PATH', 'header:NAME', 'cookie:NAME', 'sf:NAME' or 'status'")


def _sf_parts(rest: str) -> tuple[str, str, str]:
    """'RateLimit-Policy[bucket];q' -> ('RateLimit-Policy', 'bucket', 'q')."""
    match = re.fullmatch(r"\s*([^\[;\s]+)\s*(?:\[([^\]]*)\])?\s*(?:;\s*(\S+))?\s*", rest)
    if match is None:
        return rest.strip(), "", ""
    return match.group(1), match.group(2) or "", match.group(3) or ""


def values_of(spec: str, exchange: Any) -> list[Any]:
    """Every value `spec` reads from a response: one, none, or several for a `[*]` path."""
    value = read_value(spec, exchange)
    if value is MISSING:
        return []
    if spec.startswith("json:") and "[*]" in spec and isinstance(value, list):
        return value
    return [value]


# -- provenance: which values the server gave the learner ------------------------------------------
class Log:
    """The learner's exchanges a check may look back on: those since the step opened (`step`) and the
    lesson's whole recorded traffic (`lesson`), oldest first, the checker's own requests left out."""

    def __init__(self, step: Sequence[Any], lesson: Sequence[Any] | None = None) -> None:
        self.step = [e for e in step if e.source != "tutor"]
        self.lesson = [e for e in (lesson if lesson is not None else step) if e.source != "tutor"]

    def given(self, spec: Given, before: Any) -> tuple[list[Any], list[Any]]:
        """(values given before `before`, the newest giving response's values) for `spec`."""
        pool = self.step if spec.since == "step" else self.lesson
        every: list[Any] = []
        newest: list[Any] = []
        for exchange in pool:
            if exchange.id >= before.id:
                continue
            if spec.from_ is not None and not request_ok(spec.from_, exchange, self):
                continue
            values = values_of(spec.given, exchange)
            if values:
                every.extend(values)
                newest = values
        return every, newest


def _location_kind(where: str) -> str:
    """How a value at `where` ('header:If-None-Match', 'query:cursor', ...) is compared."""
    name = where.partition(":")[2].lower()
    if where.startswith("response-header:"):
        return "header"
    if where.startswith("header:"):
        if name == "if-none-match":
            return "etag-weak"
        if name == "if-match":
            return "etag-strong"
        if name in ("if-modified-since", "if-unmodified-since", "if-range"):
            return "date"
        if name == "authorization":
            return "credentials"
        return "header"
    return "value"


def _same(sent: Any, given: Any, kind: str) -> bool:
    """Whether `sent` (what the learner sent) carries the value `given` (what the server gave)."""
    if kind in ("etag-weak", "etag-strong"):
        return isinstance(sent, str) and semantics.etag_list_matches(sent, str(given), strong=kind == "etag-strong")
    if kind == "date":
        return isinstance(sent, str) and semantics.same_date(sent, str(given))
    if kind == "credentials":
        if not isinstance(sent, str):
            return False
        _, credentials = semantics.credentials(sent)
        return credentials == str(given) or sent.strip() == str(given).strip()
    if isinstance(sent, bool) or isinstance(given, bool):
        return sent is given
    if isinstance(sent, (int, float)) and isinstance(given, (int, float)):
        return float(sent) == float(given)
    return str(sent).strip() == str(given).strip()


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def value_miss(expected: Any, sent: Any, where: str, exchange: Any, log: Log | None) -> str | None:
    """Why `sent` (read at `where` from `exchange`) does not meet `expected`, in words; None when it does."""
    kind = _location_kind(where)
    if sent is MISSING or (sent is None and where.startswith(("header:", "query:", "cookie:", "group:"))):
        return "missing"
    if isinstance(expected, Given):
        if log is None:
            return "it cannot be traced to a response (no traffic to look in)"
        every, newest = log.given(expected, exchange)
        what = _given_words(expected)
        noun = _given_noun(expected)
        if not every:
            return f"sent {_fmt(sent)}, but no response {_since_words(expected)} gave you {_a(noun)} to send back"
        candidates = newest if expected.which == "latest" else every
        if expected.which == "superseded":
            candidates = [v for v in every if not any(_same(v, n, "value") for n in newest)]
            if not candidates:
                return f"sent {_fmt(sent)}, but no {noun} you were given has been replaced by a newer one yet"
        if expected.add is not None:
            number = _as_number(sent)
            ok = number is not None and any(
                (base := _as_number(v)) is not None and number == base + expected.add for v in candidates
            )
        else:
            ok = any(_same(sent, v, kind) for v in candidates)
        if ok:
            return None
        if expected.which == "latest" and any(_same(sent, v, kind) for v in every):
            return f"sent {_fmt(sent)}, an older {noun}: a newer one was given to you since"
        if expected.which == "superseded" and any(_same(sent, v, kind) for v in newest):
            return f"sent {_fmt(sent)}, the newest {noun}; this request is about an older one, replaced since"
        return f"sent {_fmt(sent)}, which is not {what} {_since_words(expected)}"
    if isinstance(expected, NotEqual):
        return None if not _plain_same(expected.not_, sent, kind) else f"should not be {_fmt(sent)}"
    if isinstance(expected, OneOf):
        if any(_plain_same(v, sent, kind) for v in expected.one_of):
            return None
        return f"expected one of {', '.join(_fmt(v) for v in expected.one_of)}, sent {_fmt(sent)}"
    if isinstance(expected, Pattern):
        if isinstance(sent, (str, int, float)) and re.fullmatch(expected.pattern, str(sent), re.S):
            return None
        return f"sent {_fmt(sent)}, not of the expected form"
    if isinstance(expected, Between):
        number = _as_number(sent)
        low, high = expected.at_least, expected.at_most
        if number is not None and (low is None or number >= low) and (high is None or number <= high):
            return None
        bounds = " and ".join(
            part
            for part in (
                f"at least {low:g}" if low is not None else "",
                f"at most {high:g}" if high is not None else "",
            )
            if part
        )
        return f"expected {bounds}, sent {_fmt(sent)}"
    if expected == "*":
        return None
    return None if _plain_same(expected, sent, kind) else f"expected {_fmt(expected)}, sent {_fmt(sent)}"


def _plain_same(expected: Any, sent: Any, kind: str) -> bool:
    """A literal compared with what was sent, with the meaning of the header it is in."""
    if kind in ("etag-weak", "etag-strong") and isinstance(expected, str) and isinstance(sent, str):
        if expected.strip() == "*" or sent.strip() == "*":
            return expected.strip() == sent.strip()
        return semantics.etag_list_matches(sent, expected, strong=kind == "etag-strong")
    if kind == "date" and isinstance(expected, str) and isinstance(sent, str):
        return semantics.same_date(sent, expected)
    if kind == "credentials" and isinstance(expected, str) and isinstance(sent, str):
        e_scheme, e_credentials = semantics.credentials(expected)
        s_scheme, s_credentials = semantics.credentials(sent)
        return e_scheme == s_scheme and e_credentials == s_credentials
    if kind == "header" and isinstance(expected, str) and isinstance(sent, str):
        sent = sent.strip()
        return sent == expected.strip() or sent.split(";")[0].strip().lower() == expected.strip().lower()
    if isinstance(expected, bool) or isinstance(sent, bool):
        return expected is sent
    if kind == "value" and isinstance(sent, str) and not isinstance(expected, str):
        return str(expected) == sent
    return bool(expected == sent)


def _given_noun(spec: Given) -> str:
    """What the given value is, in the learner's words: 'ETag', 'refresh_token', 'session cookie'."""
    kind, _, rest = spec.given.partition(":")
    if kind == "header":
        noun = {"last-modified": "Last-Modified date"}.get(rest.lower(), rest)
    elif kind == "json":
        noun = human_path(rest).split(" > ")[-1].split(" #")[0]
    elif kind == "cookie":
        noun = f"{rest} cookie"
    elif kind == "sf":
        noun = f"{_sf_parts(rest)[0]} value"
    else:
        noun = "value"
    if spec.from_ is not None and (spec.from_.path or spec.from_.path_pattern):
        where = spec.from_.path or human_pattern(spec.from_.path_pattern or "")
        noun += f" from {spec.from_.method + ' ' if spec.from_.method else ''}{where}"
    return noun


def _a(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _given_words(spec: Given) -> str:
    noun = _given_noun(spec)
    if spec.which == "latest":
        return "the newest " + noun
    if spec.which == "superseded":
        return f"an older {noun} (one replaced since)"
    return _a(noun)


def _since_words(spec: Given) -> str:
    return "since this step opened" if spec.since == "step" else "in this lesson"


def _fmt(value: Any) -> str:
    """A JSON value as JSON spells it (true, null, ["a"]), never as Python would (True, None)."""
    if value is MISSING:
        return "(missing)"
    if isinstance(value, str):
        return f"'{shorten(value, 60)}'"
    try:
        return shorten(json.dumps(value, ensure_ascii=False), 60)
    except (TypeError, ValueError):
        return shorten(value, 60)


# -- requests ---------------------------------------------------------------------------------------
def _method_ok(match: RequestMatch, exchange: Any) -> bool:
    if not match.method or exchange.method == match.method:
        return True
    return match.head_for_get and exchange.method == "HEAD"


def request_ok(match: RequestMatch, exchange: Any, log: Log | None) -> bool:
    return next(request_misses(match, exchange, log), None) is None


def request_misses(match: RequestMatch, exchange: Any, log: Log | None = None) -> Iterator[str]:
    """Each way `exchange` differs from `match`, in the order the learner reads them.

    Lazy: a caller that only asks whether anything differs, or that drops an exchange once it has
    more differences than the closest so far, stops early (a traffic log holds thousands of exchanges).
    """
    if not _method_ok(match, exchange):
        yield f"method: expected {match.method}, sent {exchange.method}"
    if match.path and exchange.path.rstrip("/") != match.path.rstrip("/"):
        yield f"path: expected {match.path}, sent {exchange.path}"
    if match.path_pattern:
        found_path = re.fullmatch(match.path_pattern, exchange.path)
        if not found_path:
            yield f"path: expected one like {human_pattern(match.path_pattern)}, sent {exchange.path}"
        else:
            for name, value in match.path_groups.items():
                miss = value_miss(value, found_path.group(name), f"group:{name}", exchange, log)
                if miss:
                    yield f"path {exchange.path}: the <{name}> part {miss}"
    if match.query:
        params = exchange.query_params
        for name, value in match.query.items():
            actual = next((v for k, v in params if k == name), None)
            if actual is None:
                yield f"query: '{name}' is missing"
                continue
            miss = value_miss(value, actual, f"query:{name}", exchange, log)
            if miss:
                yield f"query {name}: {miss}"
    for name, value in match.headers.items():
        actual = exchange.request_header(name)
        if actual is None:
            yield f"request header {name}: missing"
            continue
        miss = value_miss(value, actual, f"header:{name}", exchange, log)
        if miss:
            yield f"request header {name}: {miss}"
    if match.cookies:
        sent_cookies = semantics.cookies(exchange.request_header("cookie"))
        for name, value in match.cookies.items():
            if name not in sent_cookies:
                yield f"cookie {name}: not sent"
                continue
            miss = value_miss(value, sent_cookies[name], f"cookie:{name}", exchange, log)
            if miss:
                yield f"cookie {name}: {miss}"
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
                if actual is MISSING:
                    yield f"request body {human_path(path)}: missing"
                    continue
                miss = value_miss(value, actual, f"json:{path}", exchange, log)
                if miss:
                    yield f"request body {human_path(path)}: {miss}"


def request_differences(match: RequestMatch, exchange: Any, log: Log | None = None) -> list[str]:
    return list(request_misses(match, exchange, log))


# -- responses --------------------------------------------------------------------------------------
def status_ok(expected: int | list[int] | None, status: int) -> bool:
    if expected is None:
        return True
    return status in expected if isinstance(expected, list) else status == expected


def response_misses(expect: ResponseExpect, exchange: Any, log: Log | None = None) -> Iterator[str]:
    """As `request_misses`, for the response."""
    if not status_ok(expect.status, exchange.status):
        wanted = " or ".join(map(str, expect.status)) if isinstance(expect.status, list) else expect.status
        yield f"status: expected {wanted}, got {exchange.status}"
    for name, value in expect.headers.items():
        actual = exchange.header(name)
        if actual is None:
            yield f"response header {name}: missing"
            continue
        miss = value_miss(value, actual, f"response-header:{name}", exchange, log)
        if miss:
            yield f"response header {name}: {miss.replace('sent ', 'got ')}"
    for name, elements in expect.header_lists.items():
        yield from list_differences(name, elements, exchange.header(name))
    for name in expect.absent_headers:
        got = exchange.header(name)
        if got is not None:
            yield f"response header {name}: should be absent, got '{shorten(got, 60)}'"
    if expect.etag:
        tag = exchange.header("etag")
        if tag is None:
            yield "response header ETag: missing"
        elif not semantics.is_entity_tag(tag):
            yield f"response header ETag: '{shorten(tag, 60)}' is not an entity tag (it needs its double quotes)"
    if expect.json_fields:
        body = exchange.json()
        for path, value in expect.json_fields.items():
            actual = json_path(body, path) if body is not None else MISSING
            if actual is MISSING:
                yield f"response body {human_path(path)}: missing"
                continue
            miss = value_miss(value, actual, f"json:{path}", exchange, log)
            if miss:
                yield f"response body {human_path(path)}: {miss.replace('sent ', 'got ')}"


def response_differences(expect: ResponseExpect, exchange: Any, log: Log | None = None) -> list[str]:
    return list(response_misses(expect, exchange, log))


def _element_ok(directives: dict[str, str | None], item: str) -> bool:
    return semantics.has_directive(directives, item)


def list_differences(name: str, wanted: Sequence[AnyOf | str], actual: str | None) -> list[str]:
    """`Cache-Control: [no-store, '!public', {any_of: [[no-cache], [max-age=0, must-revalidate]]}]` against
    the header's comma-separated elements (names case-insensitive, in any order)."""
    elements = semantics.cache_directives(actual)
    got = f"got '{shorten(actual, 60)}'" if actual is not None else "the header is missing"
    diffs = []
    for item in wanted:
        if isinstance(item, AnyOf):
            if not any(all(_element_ok(elements, e) for e in option) for option in item.any_of):
                options = " or ".join(", ".join(option) for option in item.any_of)
                diffs.append(f"response header {name}: should include {options}, {got}")
        elif item.startswith("!"):
            if _element_ok(elements, item[1:]):
                diffs.append(f"response header {name}: should not include {item[1:]}, {got}")
        elif not _element_ok(elements, item):
            diffs.append(f"response header {name}: should include {item}, {got}")
    return diffs


# -- both -------------------------------------------------------------------------------------------
def matches(expectation: TrafficExpectation, exchange: Any, log: Log | None = None) -> bool:
    request = expectation.request
    # The cheap fields first: most exchanges in a long log differ in method or path.
    if not _method_ok(request, exchange):
        return False
    if request.path and exchange.path.rstrip("/") != request.path.rstrip("/"):
        return False
    return (
        next(request_misses(request, exchange, log), None) is None
        and next(response_misses(expectation.response, exchange, log), None) is None
    )


def closest(
    expectation: TrafficExpectation, exchanges: Sequence[Any], log: Log | None = None
) -> tuple[Any, list[str]] | None:
    """The exchange with the fewest differences, and those differences in words.

    Request differences weigh more: the right request with the wrong answer is closer. Ties go to
    the latest. An exchange is dropped as soon as its count passes the best so far, and only the
    winner's differences are put in words.
    """
    request = expectation.request
    path = request.path.rstrip("/") if request.path else None
    best: Any = None
    best_score = 0
    for exchange in exchanges:
        if best is not None:
            # A lower bound from the two cheapest fields, counted as `request_misses` counts them.
            bound = 3 * ((not _method_ok(request, exchange)) + (path is not None and exchange.path.rstrip("/") != path))
            if bound > best_score:
                continue
        score = 0
        beaten = False
        for weight, misses in (
            (3, request_misses(request, exchange, log)),
            (1, response_misses(expectation.response, exchange, log)),
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
    return best, request_differences(request, best, log) + response_differences(expectation.response, best, log)


# -- words ------------------------------------------------------------------------------------------
def _value_words(value: Any) -> str:
    if isinstance(value, Given):
        return _given_words(value)
    if isinstance(value, NotEqual):
        return f"anything but {_fmt(value.not_)}"
    if isinstance(value, OneOf):
        return "one of " + ", ".join(_fmt(v) for v in value.one_of)
    if isinstance(value, Pattern):
        return "a value of the right form"
    if isinstance(value, Between):
        return "a number in range"
    return shorten(value, 30)


def _field(path: str, value: Any) -> str:
    """A body field the check wants, in words: `items #5 > id = 5`, or `items #20 > author > name` present."""
    return human_path(path) if value == "*" else f"{human_path(path)} = {_value_words(value)}"


def _header(name: str, value: Any) -> str:
    if value == "*":
        return f"a {name} header"
    if isinstance(value, str):
        return f"{name}: {value}"
    return f"{name}: {_value_words(value)}"


def describe_request(match: RequestMatch) -> str:
    method: str = match.method or "any method"
    if match.head_for_get:
        method = "GET (or HEAD)"
    parts = [method, match.path or (human_pattern(match.path_pattern) if match.path_pattern else "any path")]
    text = " ".join(parts)
    if match.query:
        text += "?" + "&".join(
            f"{k}=…" if v == "*" else f"{k}={v}" if isinstance(v, str) else f"{k}=<{_value_words(v)}>"
            for k, v in match.query.items()
        )
    extra = [_header(k, v) for k, v in match.headers.items()] + [f"no {h} header" for h in match.absent_headers]
    extra += [f"a {k} cookie" if v == "*" else f"cookie {k} = {_value_words(v)}" for k, v in match.cookies.items()]
    extra += [f"a body with {_field(k, v)}" for k, v in match.json_fields.items()]
    return text + (f" with {', '.join(extra)}" if extra else "")


def describe_response(expect: ResponseExpect) -> str:
    parts = []
    if expect.status is not None:
        parts.append(" or ".join(map(str, expect.status)) if isinstance(expect.status, list) else str(expect.status))
    parts += [_header(k, v) for k, v in expect.headers.items()]
    for name, items in expect.header_lists.items():
        words = [" or ".join(", ".join(o) for o in i.any_of) if isinstance(i, AnyOf) else i for i in items]
        parts.append(f"{name} including {', '.join(words)}")
    parts += [f"no {h} header" for h in expect.absent_headers]
    if expect.etag:
        parts.append("an ETag (a quoted entity tag)")
    parts += [f"a body with {_field(k, v)}" for k, v in expect.json_fields.items()]
    return ", ".join(parts) or "any response"


def show_exchange(exchange: Any, limit: int = 300) -> list[str]:
    """The request the learner sent and the response they got, a few lines each."""
    lines = [f"you sent:  {exchange.method} {exchange.target}  ({exchange.source})"]
    for name in ("content-type", "authorization", "cookie", "if-none-match", "if-match", "if-modified-since"):
        value = exchange.request_header(name)
        if value is not None:
            lines.append(f"           {name}: {shorten(value, 80)}")
    if exchange.request_header("idempotency-key") is not None:
        lines.append(f"           idempotency-key: {shorten(exchange.request_header('idempotency-key'), 80)}")
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
