"""What a learner did to pass a step, kept in the pack's own action format so it replays as a solution does.

When a check passes, `record_check` stores with the pass (one transaction, tutor.progress) an evidence
record built from what the session saw since the step opened:

- the typed or chosen answer (`answer`);
- the SQL the learner ran in the workbench, in order (`SqlSandbox.ran()`: only statements that ran; a
  ROLLBACK is itself a statement, so the replay ends each transaction as theirs ended);
- the requests their own clients sent (curl, a browser, the request workbench, the load tool), each as
  a pack-format request: `via: workbench` for the workbench, `repeat`/`concurrency` for a burst, a value
  that came from an earlier response (a token, an ETag, a cursor, a cookie) as `save` on the request
  whose response gave it and `{name}` where it was sent (from an earlier step of the lesson: `carried`);
- the time between all of these, on the lesson clock, as `{wait: SECONDS}` items, with the lesson clock
  at the moment the step opened (`lesson_time`), so the replay happens at the same lesson times (the
  learner's own `POST /_sandbox/clock` requests stay requests: a check may look for them);
- for build-it steps, the learner's files (bounded, each with its sha256).

It also names the pack id and version, the lesson and step, the tutor version, the check's digest (a
hash of the step's check definition: a changed check cannot be verified with old evidence), the time,
the attempts, the hints and whether the solution was viewed by then.

What could not be recorded faithfully (a binary request body, a body the recorder cut short, too many
requests, files too big) is listed in `incomplete`; `progress verify` then says why it cannot verify.

No Textual. The app (its check flow) and the headless `check` command both call `record_check`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutor.checks.base import CheckResult
    from tutor.pack.actions import Answer
    from tutor.pack.models import Step
    from tutor.progress import ProgressStore, StepProgress
    from tutor.session import Session

EVIDENCE_FORMAT = 1
MAX_FILE_BYTES = 256 * 1024
"""A learner file bigger than this is not kept (the evidence says so)."""
MAX_FILES_BYTES = 1024 * 1024
"""All of a step's learner files together."""
MAX_REQUEST_ITEMS = 1000
"""Requests (a burst counting once), SQL and waits of one step's evidence."""
MIN_WAIT = 0.05
"""Pauses shorter than this between two of the learner's actions are not written as waits."""
MIN_GIVEN_LENGTH = 6
"""A response value shorter than this is never taken for one the learner copied (too many look alike)."""

_HOP_HEADERS = frozenset(
    {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "upgrade", "expect"}
)
"""Request headers a replay's own client writes (the sandbox's port differs, the length follows the body)."""
_NOT_GIVEN_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "content-encoding",
        "server",
        "vary",
        "connection",
        "server-timing",
        "x-content-type-options",
        "access-control-allow-origin",
        "access-control-allow-headers",
        "access-control-allow-methods",
        "access-control-expose-headers",
        "www-authenticate",
        "allow",
        "accept-ranges",
        "content-security-policy",
        "referrer-policy",
        "x-frame-options",
        "strict-transport-security",
        "cache-control",
        "x-cache",
        "ratelimit",
        "ratelimit-policy",
        "date",
    }
)
"""Response headers whose value is a fixed word, a policy or the time (a replay starts its lesson clock at
the learner's, so a date sent back is as near as it was), never something a learner carries on."""
_CLOCK_PATH = "/_sandbox/clock"
_NAME = re.compile(r"[^A-Za-z0-9_]+")


def check_digest(step: Step) -> str:
    """A hash of the step's check definition: evidence recorded against one check is not proof for another."""
    return "sha256:" + hashlib.sha256(step.check.model_dump_json().encode()).hexdigest()


def canonical(value: Any) -> str:
    """The one JSON spelling of `value` that digests are taken of."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_of(value: Any) -> str:
    return hashlib.sha256(canonical(value).encode()).hexdigest()


def iso(value: float) -> str:
    return datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds")


# -- building the action ----------------------------------------------------------------------------
@dataclass
class _Event:
    at: float  # wall clock: the order of events
    lesson: float  # lesson clock (the wall clock in a lesson without an API): the pauses between them
    kind: str  # "sql" | "http"
    sql: str = ""
    exchange: Any = None

    @property
    def advance(self) -> float:
        """How far this event itself moved the lesson clock (a learner's `POST /_sandbox/clock`)."""
        e = self.exchange
        if e is None or e.method != "POST" or e.path.rstrip("/") != _CLOCK_PATH or not 200 <= e.status < 300:
            return 0.0
        body = e.request_json()
        value = body.get("advance") if isinstance(body, dict) else None
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


@dataclass
class _Given:
    """A value an earlier response gave, and where a replay can read it again."""

    value: str
    spec: str  # json:PATH, header:NAME, cookie:NAME
    exchange_id: int
    name: str = ""


@dataclass
class _Builder:
    items: list[dict[str, Any]] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    carried: dict[str, dict[str, Any]] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)
    numbers: dict[int, int] = field(default_factory=dict)  # exchange id -> request number in `items`
    saves: dict[int, dict[str, str]] = field(default_factory=dict)  # exchange id -> its request's `save`

    def unique(self, spec: str) -> str:
        base = _NAME.sub("_", spec.partition(":")[2]).strip("_").lower() or "value"
        if base[0].isdigit():
            base = f"v_{base}"
        base = base[:40]
        name, n = base, 1
        while name in self.names:
            n += 1
            name = f"{base}_{n}"
        self.names.add(name)
        return name


def _json_leaves(value: Any, path: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            key = str(key)
            if not key or any(c in key for c in ".[]"):
                continue  # a key json_path cannot name
            yield from _json_leaves(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_leaves(item, f"{path}[{index}]")
    elif path:
        yield path, value


def _given_by(exchange: Any) -> list[tuple[str, str]]:
    """(spec, value) for each value of `exchange`'s response a learner could carry on to a request."""
    from tutor.http import semantics

    out: list[tuple[str, str]] = []
    for name, value in exchange.response_headers:
        if name in _NOT_GIVEN_HEADERS or name == "set-cookie":
            continue
        out.append((f"header:{name}", value))
    cookies: list[str] = []
    for line in exchange.headers_all("set-cookie"):
        cookie = line.split(";", 1)[0].partition("=")[0].strip()
        if cookie and cookie not in cookies:
            cookies.append(cookie)
    for cookie in cookies:
        value = semantics.set_cookie(exchange.headers_all("set-cookie"), cookie)
        if value is not None:
            out.append((f"cookie:{cookie}", str(value)))
    body = exchange.json()
    if body is not None:
        out.extend((f"json:{path}", value) for path, value in _json_leaves(body) if isinstance(value, str))
    return [(spec, value) for spec, value in out if len(value.strip()) >= MIN_GIVEN_LENGTH]


_BOUNDARY = "A-Za-z0-9"


def _occurs(value: str, text: str) -> bool:
    return re.search(f"(?<![{_BOUNDARY}]){re.escape(value)}(?![{_BOUNDARY}])", text) is not None


def _substitute(text: str, givens: Sequence[_Given], builder: _Builder, *, json_text: bool = False) -> str:
    """`text` with each given value in it replaced by `{name}` (the longest values first)."""
    for given in givens:
        if json_text and json.dumps(given.value)[1:-1] != given.value:
            continue  # inside a JSON string it would be escaped: left as sent
        if "{" in given.value or "}" in given.value or not _occurs(given.value, text):
            continue
        if not given.name:
            given.name = _use(given, builder)
        pattern = f"(?<![{_BOUNDARY}]){re.escape(given.value)}(?![{_BOUNDARY}])"
        text = re.sub(pattern, "{" + given.name + "}", text)
    return text


def _substitute_path(path: str, givens: Sequence[_Given], builder: _Builder) -> str:
    """A path with each segment that is a given value (an id a POST returned, a cursor) as `{name}`: whole
    segments only, so a value that merely echoes the path (a problem's `instance`) is never taken for one."""
    segments = path.split("/")
    for position, segment in enumerate(segments):
        given = next((g for g in givens if g.value == segment and "{" not in segment), None)
        if given is not None and segment:
            if not given.name:
                given.name = _use(given, builder)
            segments[position] = "{" + given.name + "}"
    return "/".join(segments)


def _use(given: _Given, builder: _Builder) -> str:
    """The placeholder name for `given`, and the `save` (this step) or `carried` entry (an earlier one)."""
    if given.exchange_id in builder.numbers:
        saves = builder.saves.setdefault(given.exchange_id, {})
        for name, spec in saves.items():
            if spec == given.spec:
                return name
        name = builder.unique(given.spec)
        saves[name] = given.spec
        return name
    return builder.unique(given.spec)  # from an earlier step: listed in `carried` at the end


def _request_item(exchange: Any, givens: Sequence[_Given], builder: _Builder) -> dict[str, Any] | None:
    """A pack-format request for one recorded exchange, or None (with the reason noted) when it cannot be."""
    if exchange.request_body_truncated:
        builder.incomplete.append(f"{exchange.method} {exchange.path}: the request body was too big to keep")
        return None
    try:
        body = exchange.request_body.decode("utf-8") if exchange.request_body else None
    except UnicodeDecodeError:
        builder.incomplete.append(f"{exchange.method} {exchange.path}: the request body is not text")
        return None
    item: dict[str, Any] = {"method": exchange.method}
    query = exchange.query_params
    keys = [k for k, _ in query]
    path = _substitute_path(exchange.path, givens, builder)
    if query and len(set(keys)) == len(keys) and not any("{" in k or "}" in k for k in keys):
        item["path"] = path
        item["query"] = {k: _substitute(v, givens, builder) for k, v in query}
    elif exchange.query:
        item["path"] = f"{path}?{_substitute(exchange.query, givens, builder)}"
    else:
        item["path"] = path
    headers = {
        name: _substitute(value, givens, builder)
        for name, value in exchange.request_headers
        if name not in _HOP_HEADERS
    }
    if headers:
        item["headers"] = headers
    if body:
        content_type = (exchange.request_header("content-type") or "").lower()
        item["body"] = _substitute(body, givens, builder, json_text="json" in content_type)
    if exchange.source == "workbench":
        item["via"] = "workbench"
    return item


def _same_burst(a: Any, b: Any) -> bool:
    """Whether `b` repeats `a` within one burst: the load tool's (its requests carry a `load-` ref) or
    requests in flight together. Requests sent one after another stay apart, each with its own response
    (a refresh token sent twice in a row gives two different new ones)."""
    load = str(a.ref or "").startswith("load-") and str(b.ref or "").startswith("load-")
    overlapping = b.time < a.time + max(a.duration_ms, 0.0) / 1000
    return (
        (load or overlapping)
        and a.method == b.method
        and a.target == b.target
        and a.request_body == b.request_body
        and a.source == b.source
        and [h for h in a.request_headers if h[0] not in _HOP_HEADERS]
        == [h for h in b.request_headers if h[0] not in _HOP_HEADERS]
    )


def _in_flight(exchanges: Sequence[Any]) -> int:
    """The most of `exchanges` that were in flight at one moment, as a burst's `concurrency` (1 to 100)."""
    from tutor.checks.http_traffic import in_flight

    return max(1, min(100, in_flight(exchanges)))


def _events(session: Session) -> list[_Event]:
    events: list[_Event] = []
    api = session.api
    lesson_at = api.app.state.clock.at if api is not None else (lambda wall: wall)
    if session.sql is not None:
        events.extend(_Event(r.at, lesson_at(r.at), "sql", sql=r.sql) for r in session.sql.ran())
    if api is not None:
        sent = [e for e in api.evidence().exchanges() if e.source != "tutor"]
        events.extend(_Event(e.time, e.lesson_time, "http", exchange=e) for e in sent)
    events.sort(key=lambda e: e.at)
    return events


def _carried_givens(session: Session, step_exchanges: set[int], builder: _Builder) -> list[_Given]:
    """Values that responses of earlier steps' recorded requests gave (a login in the step before)."""
    if session.api is None or not session.recorded:
        return []
    out: list[_Given] = []
    for exchange in session.api.evidence().history():
        where = session.recorded.get(exchange.id)
        if where is None or exchange.id in step_exchanges:
            continue
        for spec, value in _given_by(exchange):
            out.append(_Given(value, spec, exchange.id))
    return out


def build_action(session: Session, *, now: float | None = None) -> _Builder:
    """The learner's work since the step opened, as action items (see the module's docstring)."""
    builder = _Builder()
    now = time.time() if now is None else now
    events = _events(session)
    with_clock = session.api is not None
    step_ids = {e.exchange.id for e in events if e.kind == "http"}
    carried = list({g.value: g for g in _carried_givens(session, step_ids, builder)}.values())  # newest per value
    givens_seen: dict[str, _Given] = {}  # from this step's earlier responses: the newest per value, newest last
    opened = session.step_opened_lesson_time
    last = opened if opened is not None else events[0].lesson if events else now
    sql_run: list[str] = []

    def flush_sql() -> None:
        if sql_run:
            builder.items.append({"sql": "\n".join(s if s.rstrip().endswith(";") else s + "\n;" for s in sql_run)})
            sql_run.clear()

    from tutor.pack.actions import MAX_WAIT

    def pause(until: float) -> None:
        """The lesson time that passed since the last event (real time, or the clock moved otherwise)."""
        nonlocal last
        gap = until - last
        last = max(last, until)
        if with_clock and gap >= MIN_WAIT:
            flush_sql()
            builder.items.append({"wait": round(min(gap, MAX_WAIT), 3)})

    index = 0
    while index < len(events):
        event = events[index]
        pause(event.lesson)
        if event.kind == "sql":
            sql_run.append(event.sql)
            index += 1
            continue
        flush_sql()
        burst = [event.exchange]
        while index + len(burst) < len(events):
            following = events[index + len(burst)]
            if following.kind != "http" or not _same_burst(burst[-1], following.exchange):
                break
            burst.append(following.exchange)
        # newest first, longest first: a value is carried from the response that gave it last
        pool = sorted([*reversed(givens_seen.values()), *reversed(carried)], key=lambda g: -len(g.value))
        first = burst[0]
        item = _request_item(first, pool, builder)
        if item is not None:
            if len(burst) > 1:
                item["repeat"] = len(burst)
                concurrency = _in_flight(burst)
                if concurrency > 1:
                    item["concurrency"] = concurrency
            builder.items.append(item)
            for exchange in burst:
                builder.numbers[exchange.id] = len(builder.items)
        last = max([last, *(e.lesson_time for e in burst)]) + _Event(0, 0, "http", exchange=first).advance
        if len(burst) == 1 and item is not None:  # a repeated request saves nothing, as the format says
            # One given per value, the newest: a value is carried from the response that gave it last, and
            # a thousand answers with the same words (a brute force's 401s) stay one candidate, not a
            # thousand, so capturing a step's work grows with its requests, not with their square.
            for spec, value in _given_by(first):
                givens_seen.pop(value, None)
                givens_seen[value] = _Given(value, spec, first.id)
        index += len(burst)
    flush_sql()
    pause(session.api.lesson_time() if session.api is not None else now)
    # the carried values in use, and where a replay reads them again
    for given in carried:
        if given.name:
            step_id, request = session.recorded[given.exchange_id]
            builder.carried[given.name] = {"step": step_id, "request": request, "value": given.spec}
    # `save`s onto the requests whose responses gave a value used later
    for exchange_id, saves in builder.saves.items():
        position = builder.numbers[exchange_id] - 1
        builder.items[position].setdefault("save", {}).update(saves)
    if len(builder.items) > MAX_REQUEST_ITEMS:
        builder.incomplete.append(f"over {MAX_REQUEST_ITEMS} requests, SQL runs and waits in one step")
    return builder


def _files(session: Session, builder: _Builder) -> dict[str, dict[str, Any]] | None:
    if session.workspace is None:
        return None
    from tutor.code.workspace import learner_file

    out: dict[str, dict[str, Any]] = {}
    total = 0
    for name, path in session.workspace.files().items():
        if not learner_file(session.workspace.root, name):
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            builder.incomplete.append(f"{name}: could not be read ({exc.strerror})")
            continue
        total += len(data)
        if len(data) > MAX_FILE_BYTES or total > MAX_FILES_BYTES:
            builder.incomplete.append(
                f"{name}: too big to keep ({len(data):,} bytes; at most {MAX_FILE_BYTES:,} a file, "
                f"{MAX_FILES_BYTES:,} in all)"
            )
            continue
        entry: dict[str, Any] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        try:
            entry["text"] = data.decode("utf-8")
        except UnicodeDecodeError:
            entry["base64"] = base64.b64encode(data).decode("ascii")
        out[name] = entry
    return out


def capture(session: Session, step: Step, answer: Answer | None, *, now: float | None = None) -> dict[str, Any]:
    """The evidence of `step` passed with `answer`: what is stored with the pass (without the counts,
    which the store adds as they stand at that moment)."""
    from tutor import __version__

    now = time.time() if now is None else now
    builder = _Builder()
    try:
        builder = build_action(session, now=now)
        # which exchange became which request of this step: a later step's `carried` values point there
        for exchange_id, number in builder.numbers.items():
            session.recorded[exchange_id] = (step.id, number)
    except Exception as exc:  # evidence must never cost the learner their pass
        builder.incomplete.append(f"the tutor could not record this step's work ({type(exc).__name__}: {exc})")
    action: dict[str, Any] = {}
    if answer is not None and answer != "" and answer != []:
        action["answer"] = answer
    sql_only = builder.items and all(set(i) == {"sql"} for i in builder.items)
    if sql_only and len(builder.items) == 1:
        action["sql"] = builder.items[0]["sql"]
    elif builder.items:
        action["requests"] = builder.items
    record: dict[str, Any] = {
        "evidence_format": EVIDENCE_FORMAT,
        "pack": {"id": session.pack.id, "version": session.pack.version},
        "lesson": session.lesson.id,
        "step": step.id,
        "tutor_version": __version__,
        "check_digest": check_digest(step),
        "recorded_at": iso(now),
        "action": action,
    }
    if session.step_opened_lesson_time is not None:
        record["lesson_time"] = round(session.step_opened_lesson_time, 3)
    if builder.carried:
        record["carried"] = builder.carried
    files = _files(session, builder)
    if files is not None:
        record["files"] = files
    if builder.incomplete:
        record["incomplete"] = builder.incomplete
    return record


# -- storing it with the pass -----------------------------------------------------------------------
def record_check(
    store: ProgressStore, session: Session, step: Step, answer: Answer | None, result: CheckResult
) -> StepProgress:
    """Count a check of `step` in the progress store; when it passed, keep its evidence with the pass
    (in the same transaction). Raises ProgressError as `record_attempt` does."""
    passed = result.passed and not result.error
    pack, lesson = session.pack, session.lesson
    if not passed:
        return store.record_attempt(pack.id, pack.version, lesson.id, step.id, passed=False)
    evidence = capture(session, step, answer)
    return store.record_attempt(pack.id, pack.version, lesson.id, step.id, passed=True, evidence=evidence)
