"""`http_traffic`: the traffic log holds requests the learner sent, with the responses they got.

Expectations can be met in any order or `in_order`; with `wait_after_previous` a request must come far
enough after the previous one by the lesson clock (a retry that honours Retry-After), and with
`same_caller` all of them from one caller. Values can be required to have provenance (`{given: ...}`:
one the server gave the learner). The matching itself lives in `tutor.checks.http_match`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from tutor.checks import register
from tutor.checks.base import CheckContext, CheckResult
from tutor.checks.facts import percentile, traffic
from tutor.checks.http_match import (
    Log,
    closest,
    describe_request,
    describe_response,
    matches,
    read_value,
    request_ok,
    show_exchange,
    value_miss,
)
from tutor.checks.sql_common import statement_fits
from tutor.pack.specs_http import Given, HttpTrafficCheck, TrafficExpectation

SEARCH_BUDGET = 20_000
"""Choices the search for an assignment of exchanges to expectations may try (a long log of retries)."""


def learner_log(http: Any) -> tuple[list[Any], Log]:
    """The learner's exchanges since the step opened, and the log provenance is looked up in."""
    everything = [e for e in http.exchanges() if e.source != "tutor"]
    history = getattr(http, "history", None)
    return everything, Log(everything, history() if callable(history) else None)


def _statement_words(rule: Any) -> str:
    return f"the {rule.keyword.upper()}" if rule.keyword else "the statement this step asks for"


def _after_sql(ctx: CheckContext, expectation: TrafficExpectation, pool: Sequence[Any], found: list[int]) -> list[int]:
    """`found` without the exchanges that came before the statement `after_sql` asks for."""
    rule = expectation.after_sql
    if rule is None or not found:
        return found
    if ctx.sql is None:
        return []
    times = [r.at for r in ctx.sql.ran() if statement_fits(rule, str(r.sql))]
    if not times:
        return []
    return [i for i in found if pool[i].time > min(times)]


def _scanned(exchange: Any, tables: Sequence[str]) -> list[str]:
    """The tables of `tables` that `exchange`'s own SQL statements read end to end, by their plans."""
    from sandboxes.api.flow import Flow

    wanted = {t.lower() for t in tables}
    scanning = Flow.of(exchange).statements_scanning(tables)
    return sorted({t for s in scanning for t in s.full_scans if t.lower() in wanted})


_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")


def _ordinal(number: int) -> str:
    return _ORDINALS[number - 1] if 1 <= number <= len(_ORDINALS) else f"{number}th"


def in_flight(exchanges: Sequence[Any]) -> int:
    """The most of `exchanges` that were in flight at one moment (arrival to last byte, by the wall clock)."""
    points = sorted(
        [(e.time, 1) for e in exchanges] + [(e.time + max(e.duration_ms, 0.0) / 1000, -1) for e in exchanges]
    )
    most = now = 0
    for _, change in points:
        now += change
        most = max(most, now)
    return most


def _wait_needed(expectation: TrafficExpectation, previous: Any) -> float | None:
    """Lesson-clock seconds `expectation`'s request must come after `previous` (None: unknown)."""
    wanted = expectation.wait_after_previous
    if wanted is None:
        return 0.0
    if isinstance(wanted, (int, float)):
        return float(wanted)
    value = read_value(wanted, previous)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _timely(expectation: TrafficExpectation, exchange: Any, previous: Any | None, log: Log | None = None) -> bool:
    """Whether `exchange` may follow `previous` for `expectation`: late enough by the lesson clock, and
    carrying only values given before `previous` when the expectation says so."""
    if previous is None:
        return True
    if expectation.given_before_previous and not _given_before(expectation, exchange, previous, log):
        return False
    if expectation.none_between and _between(expectation, exchange, previous, log):
        return False
    if expectation.wait_after_previous is None:
        return True
    needed = _wait_needed(expectation, previous)
    return needed is not None and exchange.lesson_time - previous.lesson_time >= needed - 1e-6


def _between(expectation: TrafficExpectation, exchange: Any, previous: Any, log: Log | None) -> Any | None:
    """The learner's request like one of `none_between` that came between `previous` and `exchange`."""
    if log is None:
        return None
    for other in log.step:
        if previous.id < other.id < exchange.id and any(
            request_ok(match, other, log) for match in expectation.none_between
        ):
            return other
    return None


def _given_before(expectation: TrafficExpectation, exchange: Any, previous: Any, log: Log | None) -> bool:
    """Every `{given: ...}` value `exchange` sends (headers, query, cookies) was given before `previous`."""
    match = expectation.request
    places: list[tuple[str, Any, Any]] = [
        (f"header:{name}", value, exchange.request_header(name)) for name, value in match.headers.items()
    ]
    params = exchange.query_params
    places += [
        (f"query:{name}", value, next((v for k, v in params if k == name), None)) for name, value in match.query.items()
    ]
    if match.cookies:
        from tutor.http import semantics

        sent_cookies = semantics.cookies(exchange.request_header("cookie"))
        places += [(f"cookie:{name}", value, sent_cookies.get(name)) for name, value in match.cookies.items()]
    for where, value, sent in places:
        if isinstance(value, Given) and (sent is None or value_miss(value, sent, where, previous, log) is not None):
            return False
    return True


def _assign(spec: HttpTrafficCheck, pool: Sequence[Any], hits: list[list[int]], log: Log) -> list[int] | None:
    """For each expectation, the exchange that completes it (its `at_least`-th match), so that order,
    waits and the caller all hold; None when no assignment does."""
    budget = [SEARCH_BUDGET]

    def search(k: int, position: int, previous: Any | None, caller: str | None) -> list[int] | None:
        if k == len(spec.expect):
            return []
        expectation = spec.expect[k]
        need = expectation.at_least
        feasible = [
            i
            for i in hits[k]
            if (not spec.in_order or i >= position)
            and _timely(expectation, pool[i], previous if spec.in_order else None, log)
        ]
        callers: list[str | None] = [caller]
        if spec.same_caller and caller is None:
            callers = list(dict.fromkeys(pool[i].caller for i in feasible))
        for who in callers:
            mine = [i for i in feasible if who is None or not spec.same_caller or pool[i].caller == who]
            if len(mine) < need:
                continue
            for completing in mine[need - 1 :] if spec.in_order else mine[need - 1 : need]:
                budget[0] -= 1
                if budget[0] < 0:
                    return None
                rest = search(k + 1, completing + 1, pool[completing], who if spec.same_caller else None)
                if rest is not None:
                    return [completing, *rest]
        return None

    return search(0, 0, None, None)


@register("http_traffic")
def check_http_traffic(spec: HttpTrafficCheck, ctx: CheckContext) -> CheckResult:
    result = _check(spec, ctx)
    everything = [e for e in ctx.need_http().exchanges() if e.source != "tutor"]
    pool = everything if spec.source == "any" else [e for e in everything if e.source == spec.source]
    return replace(result, facts={**traffic(pool), **result.facts})


def _check(spec: HttpTrafficCheck, ctx: CheckContext) -> CheckResult:
    everything, log = learner_log(ctx.need_http())
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
                f"{len(everything)} request{'s' if len(everything) != 1 else ''} came in, but from the "
                f"{everything[-1].source}; "
                f"this step counts only requests{where}.",
            )
        return CheckResult(
            False,
            f"No requests{where} reached the sandbox since this step opened.",
            expected=describe_request(spec.expect[0].request) + " -> " + describe_response(spec.expect[0].response),
            details=details,
        )
    static = [[i for i, e in enumerate(pool) if matches(expectation, e, log)] for expectation in spec.expect]
    hits = [_after_sql(ctx, expectation, pool, found) for expectation, found in zip(spec.expect, static, strict=True)]
    for number, (expectation, found) in enumerate(zip(spec.expect, hits, strict=True)):
        if not expectation.no_full_scan:
            continue
        scanning = [i for i in found if _scanned(pool[i], expectation.no_full_scan)]
        hits[number] = kept = [i for i in found if i not in scanning]
        if scanning and len(kept) < expectation.at_least:
            tables = sorted({t for i in scanning for t in _scanned(pool[i], expectation.no_full_scan)})
            return CheckResult(
                False,
                f"{len(scanning)} of your requests read the whole of {', '.join(tables)} (a full scan): they "
                f"measured the page without its index, and do not count; {len(kept)} ran with it, and this step "
                f"needs {expectation.at_least}.",
                expected=f"{describe_request(expectation.request)}, {expectation.at_least} served without a full "
                f"scan of {', '.join(expectation.no_full_scan)}",
                got=f"{len(found)} requests, {len(scanning)} of them scanning {', '.join(tables)}",
                details=("Is the index in place? Run the load test again after it.",),
            )
    for expectation, found in zip(spec.expect, hits, strict=True):
        if expectation.at_once is not None and len(found) >= expectation.at_least:
            together = in_flight([pool[i] for i in found])
            if together < expectation.at_once:
                return CheckResult(
                    False,
                    f"Your requests came {'one at a time' if together <= 1 else f'at most {together} at once'}; "
                    f"this step needs {expectation.at_once} in flight together, as many clients send them.",
                    expected=f"{describe_request(expectation.request)}, {expectation.at_once} at once",
                    got=f"{len(found)} requests, at most {together} in flight together",
                    details=("The load tool sends them at once: set its concurrency.",),
                )
    for expectation, found in zip(spec.expect, hits, strict=True):
        if expectation.max_p99_ms is not None and len(found) >= expectation.at_least:
            p99 = percentile([pool[i].duration_ms for i in found], 0.99)
            if p99 > expectation.max_p99_ms:
                return CheckResult(
                    False,
                    f"Your {len(found)} requests took up to {p99:.1f} ms at the 99th percentile, on the server; "
                    f"this step needs a p99 of {expectation.max_p99_ms:g} ms or less.",
                    expected=f"{describe_request(expectation.request)}, p99 <= {expectation.max_p99_ms:g} ms",
                    got=f"{len(found)} requests, p99 {p99:.1f} ms",
                    details=("Is the change that should make them fast in place? Run the load test again after it.",),
                )
    if _assign(spec, pool, hits, log) is not None:
        matched = len(spec.expect)
        return CheckResult(
            True, f"Found the request{'s' if matched > 1 else ''} in the traffic log, with the right response."
        )
    position = 0
    previous: Any | None = None
    caller: str | None = None
    for number, expectation in enumerate(spec.expect, 1):
        candidates = pool[position:] if spec.in_order else pool
        offset = position if spec.in_order else 0
        mine = [i - offset for i in hits[number - 1] if i >= offset]
        many = len(spec.expect) > 1
        # In the learner's words: "your second request", never "request 2 of 3"
        label = f"{_ordinal(number)} request" if many else "request"
        expected = f"{describe_request(expectation.request)} -> {describe_response(expectation.response)}"
        early = [i for i in static[number - 1] if i >= offset and i not in hits[number - 1]]
        if len(mine) < expectation.at_least and early and expectation.after_sql is not None:
            what = _statement_words(expectation.after_sql)
            return CheckResult(
                False,
                f"Your {label} came before {what} in the SQL workbench; this step needs it after.",
                expected=expected + f", sent after {what}",
                got=pool[early[-1]].summary(),
                details=tuple(show_exchange(pool[early[-1]])),
            )
        if len(mine) >= expectation.at_least:
            timely = [i for i in mine if _timely(expectation, candidates[i], previous if spec.in_order else None, log)]
            if len(timely) < expectation.at_least and previous is not None and expectation.none_between:
                cut = [(i, b) for i in mine if (b := _between(expectation, candidates[i], previous, log)) is not None]
                if cut:
                    late, between = candidates[cut[-1][0]], cut[-1][1]
                    return CheckResult(
                        False,
                        f"Between your {_ordinal(number - 1)} request and your {label}, you sent "
                        f"{between.method} {between.target}: this step is about what your {_ordinal(number - 1)} "
                        "request does on its own.",
                        expected=expected,
                        got=late.summary(),
                        details=tuple(show_exchange(between)),
                    )
            if (
                len(timely) < expectation.at_least
                and previous is not None
                and expectation.given_before_previous
                and spec.in_order
            ):
                stale = [i for i in mine if not _given_before(expectation, candidates[i], previous, log)]
                if stale:
                    late = candidates[stale[-1]]
                    return CheckResult(
                        False,
                        f"Your {label} sent a value you were given after the request before it; this step is "
                        "about the one you had before that request.",
                        expected=expected + ", with the value given before the previous request",
                        got=late.summary(),
                        details=tuple(show_exchange(late)),
                    )
            if spec.same_caller and caller is not None:
                same = [i for i in timely if candidates[i].caller == caller]
                if len(same) < expectation.at_least and len(timely) >= expectation.at_least:
                    return CheckResult(
                        False,
                        f"Your {label} and the ones before it came from different callers.",
                        expected="every request from the same caller (the same credentials, or none from the "
                        "same address)",
                        got=f"{candidates[timely[-1]].summary()} from another caller",
                        details=tuple(show_exchange(candidates[timely[-1]])),
                    )
                timely = same
            if len(timely) < expectation.at_least and previous is not None:
                late = candidates[mine[-1]]
                needed = _wait_needed(expectation, previous)
                waited = late.lesson_time - previous.lesson_time
                asked = (
                    "a wait it did not state"
                    if needed is None
                    else f"{needed:g} s"
                    + (
                        f" (its {str(expectation.wait_after_previous).partition(':')[2]})"
                        if isinstance(expectation.wait_after_previous, str)
                        else ""
                    )
                )
                return CheckResult(
                    False,
                    f"Your {label} came too soon: {waited:.0f} s after the previous one by the lesson clock, "
                    f"where {asked} was asked for.",
                    expected=expected + f", at least {asked} after the previous request",
                    got=f"{late.summary()}, {waited:.0f} s later",
                    details=(
                        "The lesson clock moves with real time and with every wait you make (the workbench's "
                        "clock key, or POST /_sandbox/clock).",
                        *show_exchange(late),
                    ),
                )
            if len(timely) >= expectation.at_least:
                chosen = timely[expectation.at_least - 1]
                previous = candidates[chosen]
                caller = previous.caller if caller is None else caller
                if spec.in_order:
                    position += chosen + 1
                continue
            # matched and timely, but only with a choice the order below cannot use: fall through
        if mine and len(mine) < expectation.at_least:
            return CheckResult(
                False,
                f"You sent {len(mine)} request{'s' if len(mine) != 1 else ''} like "
                f"{f'your {label}' if many else 'the one this step asks for'}; it needs {expectation.at_least}.",
                expected=expected,
                got=f"{len(mine)} x {candidates[mine[-1]].summary()}",
            )
        near = closest(expectation, candidates or pool, log)
        assert near is not None
        exchange, diffs = near
        extra: list[str] = []
        if spec.source != "any":
            elsewhere = [e for e in everything if e.source != spec.source and matches(expectation, e, log)]
            if elsewhere:
                extra.append(f"A matching request came from the {elsewhere[-1].source}; send it{where}.")
        if spec.in_order and not candidates:
            extra.append("The requests must come in the order the task gives.")
        asked = f"the {label} this step asks for" if many else "the one this step asks for"
        if spec.in_order and number > 1:
            summary = f"Nothing you sent after your {_ordinal(number - 1)} request is {asked}"
        else:
            summary = f"None of your requests is {asked}"
        return CheckResult(
            False,
            summary + ".",
            expected=expected,
            got=f"{exchange.summary()} (your request closest to it)",
            first_difference=diffs[0] if diffs else None,
            details=tuple(extra + [f"- {d}" for d in diffs[1:]] + show_exchange(exchange)),
        )
    return CheckResult(
        False,
        "Your requests are all there, but not in an order and timing that fits together.",
        expected=" then ".join(describe_request(e.request) for e in spec.expect),
        details=("The requests must come in the order the task gives, from one caller.",),
    )
