"""Generated probes for learner code, compared with the lesson's reference app (`code_http` with `probes`).

A fixed script of requests can be passed by code shaped to it: a cache that holds one book passes a
check that only ever asks for book 1, a cursor pasted into SQL passes a check that only sends cursors the
app made. So beyond the author's script, the checker sends the learner's app and the reference app the
same generated requests, each app on its own fresh copy of the lesson database, and compares what the
lesson names: ids across the table and ids that do not exist, parameters at and past their bounds and
full of quotes and SQL, a write followed by a read of another id, tokens a careful server refuses
(none, malformed, `alg: none`, another key, another algorithm, expired), and an unknown user against
a wrong password (same status, body and headers, and about the same time).

Everything is chosen with the step's seed, so a verdict is the same every run and `pack test` replays
it. A failure names the probe and the first difference, in the learner's words.
"""

from __future__ import annotations

import base64
import json
import random
import sqlite3
import statistics
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tutor.checks.base import CheckResult, shorten
from tutor.checks.http_probe import prepared
from tutor.pack.actions import HttpRequest, SqlStep
from tutor.pack.specs_code import CodeProbes


@dataclass
class Probe:
    """One request (or a short sequence) both apps get; `words` says what it tries, for a learner. A
    request whose method is SQL is a statement the checker runs on each app's own database instead."""

    words: str
    requests: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)


SQL = "SQL"


def change_behind(app: Any, sql: str) -> None:
    """Run `sql` on `app`'s own database copy, as another client of that database would."""
    database = getattr(app, "spawned", {}).get("database")
    if database is None:
        return
    connection = sqlite3.connect(database, timeout=5, isolation_level=None)
    try:
        connection.executescript(sql)
    finally:
        connection.close()


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]
    statements: int
    full_scans: tuple[str, ...]
    error: str | None = None
    vm_steps: int = 0

    def body_text(self) -> str:
        return shorten(self.body.decode("utf-8", "replace"), 120) if self.body else "no body"


def _ask(app: Any, method: str, path: str, kwargs: dict[str, Any]) -> Answer:
    response, flow = app.request(method, path, **kwargs)
    headers = {k.lower(): v for k, v in response.headers.items()}
    error = flow.error.get("message") if getattr(flow, "error", None) else None
    return Answer(
        response.status_code,
        response.content,
        headers,
        len(flow.statements),
        tuple(getattr(flow, "scanned_tables", ()) or ()),
        error,
        int(getattr(flow, "vm_steps", 0) or 0),
    )


# -- generating probes ------------------------------------------------------------------------------
def _id_probes(spec: CodeProbes, database: Any, rng: random.Random) -> Iterator[Probe]:
    ids_spec = spec.ids
    if ids_spec is None:
        return
    ids: list[Any] = []
    if database is not None:
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            ids = [row[0] for row in conn.execute(ids_spec.query).fetchall()]
        finally:
            conn.close()
    chosen = rng.sample(ids, min(ids_spec.count, len(ids))) if ids else []
    numbers = [i for i in ids if isinstance(i, int)]
    missing = [max(numbers) + 1000 + n for n in range(ids_spec.missing)] if numbers else []
    for value in [*chosen, *missing]:
        path = ids_spec.path.replace("{id}", quote(str(value), safe=""))
        known = "that does not exist" if value in missing else "that exists"
        yield Probe(f"GET {path} (an id {known})", [("GET", path, {})])


def _param_probes(spec: CodeProbes) -> Iterator[Probe]:
    for param in spec.params:
        for value in param.all_values():
            query = {**param.query, param.name: value}
            shown = "&".join(f"{k}={v}" for k, v in query.items())
            yield Probe(f"GET {param.path}?{shown}", [("GET", param.path, {"params": query, "headers": {}})])


def _sequence_probes(spec: CodeProbes) -> Iterator[Probe]:
    for sequence in spec.sequences:
        requests: list[tuple[str, str, dict[str, Any]]] = []
        words = []
        for request in sequence:
            if isinstance(request, SqlStep):
                requests.append((SQL, request.sql, {}))
                words.append(f"another client's `{shorten(request.sql, 60)}`")
                continue
            path, kwargs = prepared(request, {})
            requests.append((request.method, path, kwargs))
            words.append(f"{request.method} {path}")
        yield Probe(" then ".join(words), requests)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _token_variants(
    token: str, key: str | None, rng: random.Random, expired_seconds: int = 3600
) -> list[tuple[str, str]]:
    """(words, Authorization value) for tokens a careful server refuses."""
    import jwt

    out = [
        ("no Authorization header", ""),
        ("a Bearer header with no token", "Bearer"),
        ("a token that is not a JWT", "Bearer not-a-token"),
        ("a JWT with only two parts", "Bearer " + ".".join(token.split(".")[:2])),
    ]
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return out
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims).encode())
    out.append(("an unsigned token (alg: none)", f"Bearer {header}.{payload}."))
    other = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(40))
    out.append(("a token signed with another key", "Bearer " + jwt.encode(claims, other, algorithm="HS256")))
    if key:
        now = int(time.time())
        expired = {**claims, "iat": now - expired_seconds - 3600, "exp": now - expired_seconds}
        if "nbf" in claims:
            expired["nbf"] = expired["iat"]
        ago = _ago(expired_seconds)
        out.append((f"a token that expired {ago} ago", "Bearer " + jwt.encode(expired, key, algorithm="HS256")))
        with warnings.catch_warnings():  # the lesson's key is sized for HS256; this token is meant to be refused
            warnings.simplefilter("ignore")
            other_alg = jwt.encode(claims, key, algorithm="HS512")
        out.append(("a token signed with HS512 instead of HS256", "Bearer " + other_alg))
    return out


def _ago(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "an hour" if hours == 1 else f"{hours} hours"
    if seconds % 60 == 0:
        minutes = seconds // 60
        return "a minute" if minutes == 1 else f"{minutes} minutes"
    return f"{seconds} seconds"


# -- comparing ---------------------------------------------------------------------------------------
def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


VM_FACTOR = 3.0
"""`vm_steps` without a factor: at most three times the reference's work (plans differ; rows read should not)."""
VM_SLACK = 100
"""...and never less than the reference's plus this many steps, so a tiny request is not judged on noise."""


def _difference(compare: list[str], mine: Answer, theirs: Answer) -> str | None:
    """The first way the learner's answer differs from the reference's, in words; None when they agree."""
    for item in compare:
        name, _, argument = item.partition(":")
        if name == "status" and mine.status != theirs.status:
            return f"your app answered {mine.status} ({mine.body_text()}); a correct app answers {theirs.status}"
        if name == "body" and 200 <= theirs.status < 300:  # an error's wording is the author's to choose
            a, b = _json(mine.body), _json(theirs.body)
            same = (a == b) if (a is not None or b is not None) else mine.body == theirs.body
            if not same:
                return f"your app's body is {mine.body_text()}; a correct app's is {theirs.body_text()}"
        if name == "header":
            header = argument.strip().lower()
            if (header in mine.headers) != (header in theirs.headers):
                has = "sends" if header in mine.headers else "does not send"
                should = "sends" if header in theirs.headers else "does not send"
                return f"your app {has} a {argument.strip()} header; a correct app {should} one"
        if name == "sql_statements":
            factor = float(argument) if argument else 1.0
            allowed = max(1, int(theirs.statements * factor)) if theirs.statements else 0
            if mine.statements > allowed:
                return (
                    f"your app ran {mine.statements} SQL statement{'s' if mine.statements != 1 else ''}; "
                    f"a correct app needs {theirs.statements}"
                )
        if name == "json" and 200 <= theirs.status < 300:
            from tutor.checks.http_match import MISSING, json_path

            a, b = _json(mine.body), _json(theirs.body)
            got = json_path(a, argument) if a is not None else MISSING
            want = json_path(b, argument) if b is not None else MISSING
            if got != want:
                shown = "nothing" if got is MISSING else shorten(json.dumps(got), 100)
                right = "nothing" if want is MISSING else shorten(json.dumps(want), 100)
                return f"your app's {argument} is {shown}; a correct app's is {right}"
        if name == "vm_steps":
            # Work, not wording: a query that reads every row and lets Python keep a page costs as many
            # steps as rows; LIMIT stops early. The slack absorbs the harness's grain and small plans.
            factor = float(argument) if argument else VM_FACTOR
            limit = max(theirs.vm_steps * factor, theirs.vm_steps + VM_SLACK)
            if mine.vm_steps > limit:
                return (
                    f"your app made SQLite do about {mine.vm_steps:,} steps of work for this request; a correct "
                    f"app needs about {theirs.vm_steps:,} (it reads only the rows it answers with)"
                )
        if name == "full_scans":
            extra = sorted(set(mine.full_scans) - set(theirs.full_scans))
            if extra:
                return f"your app read the whole of {', '.join(extra)} (a full scan); a correct app does not"
    return None


def _fail(probe: Probe, what: str, mine: Answer | None = None) -> CheckResult:
    details = [
        "The checker tries more than the requests in the task: ids and values you did not pick, as "
        "real clients send them."
    ]
    if mine is not None and mine.error:
        details.insert(0, f"your code raised {mine.error}")
    return CheckResult(False, f"For {probe.words}: {what}.", got=what.split(";")[0], details=tuple(details))


def _reference_answers(spec: CodeProbes, code: Any, seed: int, probes: list[Probe]) -> list[list[Answer]]:
    """The reference app's answers to every probe, in order (none for the SQL items). The same requests
    sent in the same order to the reference on a fresh database copy get the same answers, so when the
    apps reach nothing but their own database (`code.keep_reference_answers`) the answers of the first
    check of a step are kept for the next ones: a learner's save, or `pack test`'s next case, then
    starts only the learner's app."""
    key = None
    kept = getattr(code, "reference_answers", None)
    if getattr(code, "keep_reference_answers", False) and kept is not None:
        key = (
            spec.reference,
            code.reference_stamp(spec.reference),
            seed,
            json.dumps([p.requests for p in probes], sort_keys=True, default=str),
        )
        if key in kept:
            return list(kept[key])
    answers: list[list[Answer]] = []
    with code.start_reference(spec.reference) as theirs:
        for probe in probes:
            these = []
            for method, path, kwargs in probe.requests:
                if method == SQL:
                    change_behind(theirs, path)
                    continue
                these.append(_ask(theirs, method, path, dict(kwargs)))
            answers.append(these)
    if key is not None and kept is not None:
        kept[key] = answers
    return answers


def run_probes(spec: CodeProbes, code: Any, seed: int) -> CheckResult | None:
    """Send every probe to both apps; the first difference as a failed result, or None when all agree."""
    rng = random.Random(seed)  # noqa: S311 - choosing probes reproducibly, nothing secret
    database = code.fresh_database("probes")
    probes: list[Probe] = [*_id_probes(spec, database, rng), *_param_probes(spec), *_sequence_probes(spec)]
    references = _reference_answers(spec, code, seed, probes)
    with code.start_app() as mine:
        for probe, answers in zip(probes, references, strict=True):
            theirs = iter(answers)
            for method, path, kwargs in probe.requests:
                if method == SQL:
                    change_behind(mine, path)
                    continue
                learner = _ask(mine, method, path, dict(kwargs))
                difference = _difference(spec.compare, learner, next(theirs))
                if difference is not None:
                    return _fail(probe, difference, learner)
        if spec.tokens is not None:
            with code.start_reference(spec.reference) as reference:
                failed = _token_probes(spec, code, mine, reference, rng)
            if failed is not None:
                return failed
        if spec.login is not None:
            failed = _login_probes(spec, mine)
            if failed is not None:
                return failed
    return None


def _token_of(app: Any, login: HttpRequest, source: str) -> str | None:
    """A valid token from `app`'s login, read where `source` says ('json:PATH' or 'header:NAME')."""
    from tutor.checks.http_match import json_path
    from tutor.code.runner import CodeProblem

    path, kwargs = prepared(login, {})
    try:
        response, _ = app.request(login.method, path, **kwargs)
    except CodeProblem:
        return None
    value: Any = None
    if source.startswith("json:"):
        body = _json(response.content)
        value = json_path(body, source.removeprefix("json:")) if body is not None else None
    elif source.startswith("header:"):
        value = response.headers.get(source.removeprefix("header:"))
    return value if isinstance(value, str) else None


def _token_probes(spec: CodeProbes, code: Any, mine: Any, theirs: Any, rng: random.Random) -> CheckResult | None:
    tokens = spec.tokens
    assert tokens is not None
    reference_token = _token_of(theirs, tokens.login, tokens.token)
    learner_token = _token_of(mine, tokens.login, tokens.token)
    if reference_token is None or learner_token is None:
        return None  # the scripted steps judge the login itself
    key = code.environment().get(tokens.key_env) if tokens.key_env else None
    for words, authorization in _token_variants(reference_token, key, rng, tokens.expired_seconds):
        headers = {"Authorization": authorization} if authorization else {}
        probe = Probe(f"{tokens.method} {tokens.path} with {words}")
        learner = _ask(mine, tokens.method, tokens.path, {"headers": dict(headers)})
        reference = _ask(theirs, tokens.method, tokens.path, {"headers": dict(headers)})
        difference = _difference(["status", "header:WWW-Authenticate", *spec.compare], learner, reference)
        if difference is not None:
            return _fail(probe, difference, learner)
    return None


def _login_probes(spec: CodeProbes, mine: Any) -> CheckResult | None:
    login = spec.login
    assert login is not None

    def attempt(username: str) -> tuple[Answer, float]:
        body = {login.username_field: username, login.password_field: "not-the-password-7f3a"}
        started = time.perf_counter()
        answer = _ask(
            mine,
            "POST",
            login.path,
            {"content": json.dumps(body).encode(), "headers": {"Content-Type": "application/json"}},
        )
        return answer, time.perf_counter() - started

    unknown_times: list[float] = []
    known_times: list[float] = []
    for _ in range(login.repeat):
        unknown, took = attempt(login.unknown_user)
        unknown_times.append(took)
        known, took = attempt(login.known_user)
        known_times.append(took)
        probe = Probe(f"POST {login.path} as an unknown user and as {login.known_user} with a wrong password")
        if unknown.status != known.status:
            return _fail(
                probe, f"your app answered {unknown.status} and {known.status}: the status tells which users exist"
            )
        if _json(unknown.body) != _json(known.body) or (_json(unknown.body) is None and unknown.body != known.body):
            return _fail(
                probe,
                f"your app's bodies differ ({unknown.body_text()} against {known.body_text()}): the words tell "
                "which users exist",
            )
        ignored = {"date", "content-length", "server"}
        if {k: v for k, v in unknown.headers.items() if k not in ignored} != {
            k: v for k, v in known.headers.items() if k not in ignored
        }:
            return _fail(probe, "your app's headers differ between the two: they tell which users exist")
    slow, fast = sorted([statistics.median(unknown_times), statistics.median(known_times)], reverse=True)
    if fast > 0 and slow / fast > login.timing_ratio:
        which = (
            "an unknown user" if statistics.median(unknown_times) < statistics.median(known_times) else "a known user"
        )
        return _fail(
            Probe(f"POST {login.path} timed {login.repeat} times each way"),
            f"your app answers {which} about {slow / fast:.0f} times faster ({fast * 1000:.0f} ms against "
            f"{slow * 1000:.0f} ms): the time tells which users exist. Do the same slow work for both "
            "(verify against a dummy hash when the user does not exist)",
        )
    return None
