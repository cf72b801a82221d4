"""`http_flow`: assertions over what happened inside the learner's last matching request.

The flow comes from the request's trace (`sandboxes.api.flow.Flow`): the SQL statements it ran
(grouped by shape, N+1 flagged), their plans and VM steps, the cache lookup and the auth decision.
Costs are judged in statements and VM steps, never in milliseconds, so the check cannot flake.

`cache_hit_on_repeat`: the checker sends the repeat itself, as the tutor, with the learner's own
request headers, right after the learner's request is found. Reading two recorded calls instead would
make the learner send every request twice and judge whichever came last; sending the repeat proves
what the endpoint does *now*, within the cache's TTL, and the repeat never counts as the learner's.
Only GET and HEAD are repeated: repeating a write would change the learner's data.
"""

from __future__ import annotations

from typing import Any

from tutor.checks import register
from tutor.checks.base import CheckContext, CheckResult, shorten
from tutor.checks.http_match import (
    closest,
    describe_request,
    describe_response,
    request_differences,
    response_differences,
    show_exchange,
)
from tutor.pack.specs_http import HttpFlowCheck, TrafficExpectation

NOT_REPEATED = {"host", "content-length", "connection", "transfer-encoding", "accept-encoding", "user-agent"}


def _statement_lines(statements: list[Any], limit: int = 4) -> list[str]:
    lines = []
    for statement in statements[:limit]:
        lines.append(f"  #{statement.number}: {shorten(' '.join(statement.sql.split()), 110)}")
        if statement.params:
            lines.append(f"       params: {statement.params_text()}")
        for plan_line in statement.plan_text().splitlines():
            lines.append(f"       plan: {plan_line}")
    if len(statements) > limit:
        lines.append(f"  ... and {len(statements) - limit} more")
    return lines


def _repeat(ctx: CheckContext, exchange: Any) -> Any:
    headers = {k: v for k, v in exchange.request_headers if k not in NOT_REPEATED}
    return ctx.need_http().request(exchange.method, exchange.target, headers=headers)


@register("http_flow")
def check_http_flow(spec: HttpFlowCheck, ctx: CheckContext) -> CheckResult:
    from sandboxes.api.flow import Flow
    from tutor.checks.http_traffic import learner_log

    everything, log = learner_log(ctx.need_http())
    wanted = describe_request(spec.request)
    matching = [e for e in everything if not request_differences(spec.request, e, log)]
    if not matching:
        if not everything:
            return CheckResult(False, "No requests reached the sandbox since this step opened.", expected=wanted)
        near = closest(TrafficExpectation(request=spec.request), everything, log)
        assert near is not None
        exchange, diffs = near
        return CheckResult(
            False,
            "None of your requests is the one this step asks for.",
            expected=wanted,
            got=f"{exchange.summary()} (your request closest to it)",
            first_difference=diffs[0] if diffs else None,
            details=tuple([f"- {d}" for d in diffs[1:]] + show_exchange(exchange)),
        )
    exchange = matching[-1]
    flow = Flow.of(exchange)
    context = tuple(flow.explain_lines())

    def fail(summary: str, expected: str, got: str, *extra: str) -> CheckResult:
        return CheckResult(False, summary, expected=expected, got=got, details=(*extra, *context))

    if spec.status is not None and exchange.status != spec.status:
        return fail(
            f"The request got {exchange.status}, not {spec.status}.",
            f"status {spec.status}",
            f"status {exchange.status}",
            *show_exchange(exchange),
        )
    if spec.response is not None:
        diffs = response_differences(spec.response, exchange, log)
        if diffs:
            return fail(
                f"The response was not the one this step needs: {diffs[0]}.",
                describe_response(spec.response),
                exchange.summary(),
                *[f"- {d}" for d in diffs[1:]],
            )
    if spec.auth_before_db and not flow.auth_before_db():
        first = flow.statements[0] if flow.statements else None
        decision = flow.auth_decision()
        got = (
            "the database was read before any auth decision"
            if decision is None
            else f"auth was decided ({decision.label}) only after SQL statement #1"
        )
        return fail(
            "The API touched the database before deciding whether the caller may see the answer.",
            "auth decided (allowed or refused) before the first SQL statement",
            got,
            *(_statement_lines([first], 1) if first else []),
        )
    if spec.max_sql_statements is not None and flow.statement_count > spec.max_sql_statements:
        extra: list[str] = []
        for group in flow.n_plus_one:
            extra.append(
                f"{group.count} statements have the same shape and differ only in their parameters: "
                "one query per item of the list (N+1). One query for the whole list would do."
            )
            extra.extend(_statement_lines(list(group.statements), 3))
        return fail(
            f"That request ran {flow.statement_count} SQL statements; at most {spec.max_sql_statements} "
            f"{'is' if spec.max_sql_statements == 1 else 'are'} allowed.",
            f"at most {spec.max_sql_statements} SQL statement{'s' if spec.max_sql_statements != 1 else ''}",
            flow.sql_phrase(),
            *extra,
        )
    if spec.no_full_scan:
        tables = spec.no_full_scan if isinstance(spec.no_full_scan, list) else None
        scanning = flow.statements_scanning(tables)
        if scanning:
            scanned = sorted({t for s in scanning for t in s.full_scans})
            return fail(
                f"A statement read the whole of {', '.join(scanned)} (a full scan).",
                "no full scan" + (f" of {', '.join(tables)}" if tables else ""),
                f"{len(scanning)} statement(s) scanning {', '.join(scanned)}",
                "A full scan reads every row to find the few it needs; an index on the column the "
                "statement filters on lets SQLite seek to them instead.",
                *_statement_lines(scanning, 2),
            )
    if spec.max_vm_steps is not None and flow.total_vm_steps > spec.max_vm_steps:
        heaviest = sorted(flow.groups, key=lambda g: -g.vm_steps)[:3]
        approx = "" if flow.vm_steps_exact else " (counted in thousands for the biggest statements)"
        return fail(
            f"That request cost {flow.total_vm_steps:,} SQLite VM steps{approx}; the limit is {spec.max_vm_steps:,}.",
            f"at most {spec.max_vm_steps:,} VM steps",
            f"{flow.total_vm_steps:,} VM steps",
            "Where the work went:",
            *["  " + g.describe() for g in heaviest],
        )
    if spec.cache_hit_on_repeat:
        if exchange.method not in ("GET", "HEAD"):
            return fail(
                f"Only reads can be repeated to test the cache, and this request is a {exchange.method}.",
                "a GET answered from the cache when repeated",
                exchange.summary(),
            )
        repeat = _repeat(ctx, exchange)
        again = Flow.of(repeat)
        if again.cache != "HIT":
            reason = (
                "the API has no application cache for this endpoint, so nothing was looked up"
                if again.cache is None
                else f"the cache answered {again.cache}"
            )
            return fail(
                "Asked the same thing again, the API did the work again instead of answering from its cache.",
                "the repeat answered from the cache (HIT, no SQL)",
                f"{reason}: {again.summary()}",
                f"the checker's repeat: {again.summary()}",
            )
    passed = [f"flow: {flow.summary()}"]
    facts = {
        "statements": flow.statement_count,
        "vm_steps": flow.total_vm_steps,
        "full_scans": len(flow.full_scans),
        "duration_ms": round(exchange.duration_ms, 1),
    }
    return CheckResult(True, "The request's flow does what this step asks.", details=tuple(passed), facts=facts)
