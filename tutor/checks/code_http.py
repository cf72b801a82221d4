"""`code_http`: start the learner's own app and probe it over HTTP, as production would call it.

The app runs in a child process (`tutor.code.runner`) on 127.0.0.1, with a fresh copy of the lesson's
database behind it. Each probe's response is judged with the same matching and the same report as the
sandbox probes (`http_probe`): the request sent, the response got, the first difference. The harness in
the child also reports the SQL statements each request ran and the tables each one read whole, so "one
query for the whole list" and "the index your endpoint needs" are judged by what the code did.
"""

from __future__ import annotations

import time
from typing import Any

from tutor.checks import register
from tutor.checks.base import CheckContext, CheckResult, shorten
from tutor.checks.http_match import describe_response, found, read_value, response_differences, show_exchange
from tutor.checks.http_probe import prepared
from tutor.pack.specs_code import CodeHttpCheck


def exchange_of(method: str, path: str, kwargs: dict[str, Any], response: Any, started: float) -> Any:
    """The httpx response as the sandbox recorder's Exchange, so the shared report code reads it."""
    from sandboxes.api.recorder import Exchange

    raw_path, _, query = path.partition("?")
    if kwargs.get("params"):
        from urllib.parse import urlencode

        query = "&".join(filter(None, [query, urlencode(kwargs["params"])]))
    body = kwargs.get("content") or b""
    return Exchange(
        id=0,
        time=started,
        source="tutor",
        method=method,
        path=raw_path,
        query=query,
        request_headers=[(k.lower(), v) for k, v in kwargs.get("headers", {}).items()],
        request_body=body if isinstance(body, bytes) else str(body).encode(),
        status=response.status_code,
        response_headers=[(k.lower(), v) for k, v in response.headers.items()],
        response_body=response.content,
        duration_ms=response.elapsed.total_seconds() * 1000,
    )


def shown(exchange: Any) -> list[str]:
    """The shared request/response lines, worded for a probe of the learner's app: the checker sent the
    request, the learner's app answered it."""
    lines = show_exchange(exchange)
    out = []
    for line in lines:
        if line.startswith("you sent:  "):
            line = "sent:      " + line.removeprefix("you sent:  ").removesuffix("  (tutor)")
        elif line.startswith("you got:   "):
            line = "your app:  " + line.removeprefix("you got:   ")
        out.append(line)
    return out


def _with_saved(expect: Any, saved: dict[str, Any]) -> Any:
    """`expect` with `{name}` in its header and body values replaced by values saved from earlier
    responses (the ETag the 200 gave, expected again on the 304)."""
    if not saved:
        return expect
    from tutor.checks.http_probe import substitute, substitute_json

    headers = {k: substitute(v, saved) if isinstance(v, str) else v for k, v in expect.headers.items()}
    body = {
        k: substitute_json(v, saved) if isinstance(v, (str, list, dict)) else v for k, v in expect.json_fields.items()
    }
    return expect.model_copy(update={"headers": headers, "json_fields": body})


def problem_result(problem: Any) -> CheckResult:
    """The code could not be run, or did something a program must not; when it never loaded (it does not
    parse or import), nothing about what it does was judged."""
    return CheckResult(False, problem.summary, details=problem.details, judged=getattr(problem, "loaded", True))


def _sql_lines(statements: list[str], scans: list[list[str]], limit: int = 4) -> list[str]:
    lines = []
    for number, (sql, tables) in enumerate(zip(statements, scans, strict=False), 1):
        if number > limit:
            lines.append(f"  ... and {len(statements) - limit} more")
            break
        mark = f"   (plan: full scan of {', '.join(tables)})" if tables else ""
        lines.append(f"  #{number}: {shorten(' '.join(sql.split()), 100)}{mark}")
    return lines


@register("code_http")
def check_code_http(spec: CodeHttpCheck, ctx: CheckContext) -> CheckResult:
    from tutor.code.runner import CodeProblem

    code = ctx.need_code()
    if ctx.http is not None:
        ctx.http.restart_upstreams()  # the app the check starts meets the upstreams' faults in their order
    saved: dict[str, Any] = {}
    facts: dict[str, Any] = {}  # what a step with `shutdown` measured
    last_webhook: tuple[str, bytes] | None = None  # the (event id, body) a later step may send again
    total = len(spec.steps)
    try:
        app = code.start_app()
        try:
            for number, step in enumerate(spec.steps, 1):
                if step.restart_before:
                    app = app.restarted()
                if step.sql_before is not None:
                    import sqlite3

                    from tutor.checks.code_probes import change_behind

                    try:
                        change_behind(app, step.sql_before)
                    except sqlite3.Error as exc:
                        return CheckResult(False, f"step {number}'s sql_before failed: {exc}", error=True)
                path, kwargs = prepared(step.request, saved)
                method = step.request.method
                if step.shutdown is not None:  # the last step: the app ends with it
                    from tutor.checks.code_shutdown import stop_and_judge

                    failed, facts = stop_and_judge(app, step, method, path, kwargs, saved)
                    if failed is not None:
                        return failed
                    continue
                if step.webhook is not None:
                    from tutor.checks.code_webhooks import as_delivery

                    last_webhook = as_delivery(ctx, step.webhook, kwargs, last_webhook)
                started = time.time()
                response, flow = app.request(method, path, **kwargs)
                answered = time.time()
                exchange = exchange_of(method, path, kwargs, response, started)
                label = f"Request {number} of {total}" if total > 1 else "Your app"
                diffs = response_differences(_with_saved(step.expect, saved), exchange)
                if diffs:
                    details = [f"- {d}" for d in diffs[1:]] + shown(exchange)
                    if step.sql_before is not None:
                        details.insert(
                            0,
                            "Just before this request, another client changed your app's database: "
                            + shorten(" ".join(step.sql_before.split()), 160),
                        )
                    if step.webhook is not None and last_webhook is not None:
                        from tutor.checks.code_webhooks import described

                        details.insert(0, described(step.webhook, last_webhook[0]))
                    error = flow.error
                    target = exchange.target
                    summary = f"{label}: {method} {target} answered {exchange.status}, not what this step needs."
                    if error and error.get("message"):
                        at = f" at {error['file']}:{error['line']}" if error.get("file") else ""
                        summary = f"{label}: {method} {target} failed: your code raised {error['message']}{at}."
                        if error.get("code"):
                            details.insert(0, f"    {error['code'].strip()}")
                    return CheckResult(
                        False,
                        summary,
                        expected=describe_response(step.expect),
                        got=f"{exchange.status} " + shorten(exchange.text(), 100),
                        first_difference=diffs[0],
                        details=tuple(details),
                    )
                if step.max_ms is not None or step.upstream is not None:
                    from tutor.checks.code_upstream import calls_between, judge

                    calls = calls_between(ctx, step.upstream.name, started, answered) if step.upstream else []
                    failed = judge(step, label, method, exchange.target, answered - started, calls)
                    if failed is not None:
                        return failed
                if step.logs_request_id:
                    from tutor.checks.code_logs import request_id_missing

                    missing = request_id_missing(
                        label, method, exchange.target, response, app, code.workspace, step.logs_request_id
                    )
                    if missing is not None:
                        return missing
                count = len(flow.statements)
                if step.max_sql_statements is not None and count > step.max_sql_statements:
                    limit = step.max_sql_statements
                    shapes = {" ".join(s.split()).split(" WHERE ")[0] for s in flow.statements}
                    extra = []
                    if count > 2 and len(shapes) < count:
                        extra.append(
                            "Several statements have the same shape and differ only in their values: one "
                            "query per item of the list (N+1). One query for the whole list would do."
                        )
                    return CheckResult(
                        False,
                        f"{label}: {method} {exchange.target} ran {count} SQL statements; at most {limit} "
                        f"{'is' if limit == 1 else 'are'} allowed.",
                        expected=f"at most {limit} SQL statement{'s' if limit != 1 else ''}",
                        got=f"{count} statements",
                        details=tuple(extra + _sql_lines(flow.statements, flow.full_scans)),
                    )
                if step.no_full_scan:
                    tables = step.no_full_scan if isinstance(step.no_full_scan, list) else None
                    scanned = [t for t in flow.scanned_tables if tables is None or t in tables]
                    if scanned:
                        return CheckResult(
                            False,
                            f"{label}: {method} {exchange.target} read the whole of {', '.join(scanned)} "
                            "(a full scan).",
                            expected="no full scan" + (f" of {', '.join(tables)}" if tables else ""),
                            got=f"a full scan of {', '.join(scanned)}",
                            details=(
                                "A full scan reads every row to find the few it needs; an index on the "
                                "column the statement filters on lets SQLite go straight to them.",
                                *_sql_lines(flow.statements, flow.full_scans),
                            ),
                        )
                for name, source in step.save.items():
                    value = read_value(source, exchange)
                    if not found(value):
                        return CheckResult(
                            False,
                            f"{label}: the response has no {source}, which the next request needs.",
                            details=tuple(shown(exchange)),
                        )
                    saved[name] = value
        finally:
            app.stop()
        if spec.probes is not None:
            from tutor.checks.code_probes import run_probes

            failed = run_probes(spec.probes, code, spec.probes.seed)
            if failed is not None:
                return failed
    except CodeProblem as problem:
        return problem_result(problem)
    if spec.probes is not None:
        return CheckResult(
            True,
            f"Your app answered all {total} of the checker's requests as this step needs, and the generated "
            "ones as a correct app does.",
        )
    if facts:
        return CheckResult(
            True,
            f"Your app answered all {total} of the checker's requests as this step needs, the "
            f"{facts['in_flight']} in flight when it was told to stop too, and stopped {facts['exit_ms']:,.0f} ms "
            "after the signal.",
            facts=facts,
        )
    return CheckResult(True, f"Your app answered all {total} of the checker's requests as this step needs.")
