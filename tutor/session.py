"""One lesson in progress: the sandboxes it started and the evidence they gather. No Textual.

The app and `pack test` drive lessons through this same class, so a reference solution is applied
through exactly the path a learner's own action takes.

    session = Session(pack, lesson, home)
    session.start()                  # blocking: builds/copies the database, starts the API (use a worker)
    session.begin_step(step)         # evidence is counted from here; the step-open state is kept
    session.apply(step.solution)     # or the learner acts in the workbenches
    result = session.check(step, answer)
    session.reset_step()             # F4: database and API memory back to the step-open state
    session.close()
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sandboxes.api.recorder import moves_sandbox
from tutor.checks import evaluate
from tutor.checks.base import CheckContext, CheckResult
from tutor.pack.actions import Action, Answer, HttpRequest, SqlStep, Wait, WrongAnswer
from tutor.pack.models import Lesson, Step

if TYPE_CHECKING:
    from pathlib import Path

    from sandboxes.api.sandbox import ApiSandbox
    from sandboxes.sql.sandbox import SqlSandbox, SqlSnapshot
    from tutor.code.workspace import CodeEvidenceImpl, Workspace
    from tutor.locks import LessonLock
    from tutor.pack.loader import Pack
    from tutor.paths import Home

PORT_ATTEMPTS = 5
"""Tries at the remembered API port before taking any free one."""

Progress = Callable[[str, float], None]
"""progress(what, fraction 0..1) while a sandbox is being prepared."""


def _same_answer(a: Answer | None, b: Answer | None) -> bool:
    if a is None or b is None:
        return False
    if isinstance(a, list) or isinstance(b, list):
        left = sorted(str(x) for x in (a if isinstance(a, list) else [a]))
        right = sorted(str(x) for x in (b if isinstance(b, list) else [b]))
        return left == right
    return " ".join(str(a).split()).casefold() == " ".join(str(b).split()).casefold()


def _normal_sql(sql: str) -> str:
    return " ".join(sql.replace(";", " ").split()).casefold()


_ANY_VALUE_HEADERS = frozenset({"idempotency-key"})
"""Headers whose value each learner makes up (a fresh UUID): a declared wrong answer matches any value."""

_MEANING_HEADERS = frozenset(
    {
        "authorization",
        "cookie",
        "if-match",
        "if-none-match",
        "if-modified-since",
        "if-unmodified-since",
        "if-range",
        "idempotency-key",
    }
)
"""Headers that change what a request means (who asks, on what condition, once only): a learner's request
that sends one is not a declared wrong answer that sends none, whatever else they share. Headers a
client adds on its own (User-Agent, Accept) do not count."""

_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*(?:\|weak)?\}")
SANDBOX_VALUE = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")
"""`{{api_url}}`, `{{log_path}}`, `{{upstream_url_NAME}}`: a running sandbox's value, in `build.env`."""


def _same_text(template: str, actual: str, *, path: bool = True) -> bool:
    """`actual` equals `template`, where each `{name}` placeholder (a value saved from an earlier
    response, such as a token or an id) stands for any text: within one path segment in a path,
    any text at all in a header (a saved `Set-Cookie` line holds `Path=/`)."""
    parts = _PLACEHOLDER.split(template)
    if len(parts) == 1:
        return template == actual
    pattern = ("[^/]+?" if path else ".+?").join(re.escape(part) for part in parts)
    return re.fullmatch(pattern, actual, re.S) is not None


def _same_json(template: Any, actual: Any) -> bool:
    if isinstance(template, str):
        return isinstance(actual, str) and _same_text(template, actual, path=False)
    if isinstance(template, dict):
        return (
            isinstance(actual, dict)
            and template.keys() == actual.keys()
            and all(_same_json(v, actual[k]) for k, v in template.items())
        )
    if isinstance(template, list):
        return (
            isinstance(actual, list)
            and len(template) == len(actual)
            and all(_same_json(t, a) for t, a in zip(template, actual, strict=True))
        )
    if isinstance(template, bool) or isinstance(actual, bool):
        return template is actual
    return bool(template == actual)


def _same_request(request: HttpRequest, exchange: Any) -> bool:
    """Whether a recorded exchange is the request a declared wrong answer describes: same method,
    path, query parameters, the headers it names (and none of `_MEANING_HEADERS` it does not name), and
    the same body."""
    from tutor.checks.http_match import value_miss

    if exchange.method != request.method or not _same_text(request.path.rstrip("/"), exchange.path.rstrip("/")):
        return False
    if request.via is not None and exchange.source != request.via:
        return False
    wanted_query = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in request.query.items()}
    sent_query = dict(exchange.query_params)
    if wanted_query.keys() != sent_query.keys():
        return False
    if not all(_same_text(v, sent_query[k]) for k, v in wanted_query.items()):
        return False
    named = {name.lower() for name in request.headers}
    if any(exchange.request_header(name) is not None for name in _MEANING_HEADERS - named):
        return False
    for name, value in request.headers.items():
        actual = exchange.request_header(name)
        if actual is None:
            return False
        if name.lower() in _ANY_VALUE_HEADERS:
            continue
        # A declared `*` is the learner's literal `*` (If-Match: *), not "any value" as in a check.
        if not (
            _same_text(value, actual, path=False)
            or (value.strip() != "*" and value_miss(value, actual, f"header:{name}", exchange, None) is None)
        ):
            return False
    if request.json_body is not None:
        return _same_json(request.json_body, exchange.request_json())
    if request.body is not None:
        return bool(exchange.request_body.decode("utf-8", "replace").strip() == request.body.strip())
    return True


class ActionFailed(Exception):
    """A replayed action could not be carried out (its SQL failed, a request could not be sent)."""


class MissingValue(ActionFailed):
    """A request's `save` found nothing in its response, or a request uses a `{name}` nothing saved:
    the action itself is broken, whatever the check would say."""


@dataclass(frozen=True)
class SessionState:
    sql: SqlSnapshot | None
    api: Any


class Session:
    def __init__(self, pack: Pack, lesson: Lesson, home: Home, workspace: Path | None = None) -> None:
        self.pack = pack
        self.lesson = lesson
        self.home = home
        self.workspace_choice = workspace  # `--workspace DIR`: build-it files go under it instead of the home
        self.workspace: Workspace | None = None
        self.code: CodeEvidenceImpl | None = None
        self.sql: SqlSandbox | None = None
        self.api: ApiSandbox | None = None
        self.step: Step | None = None
        self.step_open: SessionState | None = None
        """What the sandboxes held when `step` opened: what `reset_step()` (F4) and `pack test` go back to."""
        self.step_opened_at = 0.0
        """When evidence began to count for `step` (wall clock): the step opened, or F4 put it back."""
        self.step_opened_lesson_time: float | None = None
        """The API's lesson clock at that moment (None without an API): where a replay of the step starts."""
        self.recorded: dict[int, tuple[str, int]] = {}
        """Exchange id -> (step id, request number) of the learner's requests kept as evidence of a passed
        step, so a later step's evidence can name a value that came from one of them (tutor.evidence)."""
        self.keep_database = False
        """Open the database the learner left last time (the app sets it when they have passed a step of
        this lesson), not a fresh copy: work done in earlier steps is still there. `pack test` and
        `progress verify` leave it off and always start fresh."""
        self.started = False
        self._api_port = 0  # once the API has run, a restart asks for the same port (the learner's curl still works)
        self._lock: LessonLock | None = None  # the lesson's session folder is this session's while it runs

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, progress: Progress | None = None) -> None:
        """Start what the lesson declares. Blocking and possibly slow: call it off the UI thread."""
        settings = self.lesson.sandboxes
        if self._lock is None and (settings.sql or settings.api or self.lesson.build):
            from tutor.locks import LessonLock

            self._lock = LessonLock.acquire(self.home.sessions / self.lesson.id)  # or LessonInUse
        if settings.sql is not None and self.sql is None:
            from sandboxes.sql.sandbox import SqlSandbox

            self.sql = SqlSandbox.open(
                settings.sql,
                pack_root=self.pack.root,
                home=self.home,
                lesson_id=self.lesson.id,
                progress=progress,
                keep=self.keep_database,
            )
        if settings.api is not None and self.api is None:
            from sandboxes.api.sandbox import ApiSandbox

            database = self.sql.path if self.sql else None
            if not self._api_port:
                self._api_port = self._remembered_port()
            self.api = None
            for attempt in range(PORT_ATTEMPTS if self._api_port else 1):
                try:
                    self.api = ApiSandbox.start(
                        settings.api, database=database, port=self._api_port, log_path=self._log_path
                    )
                    break
                except Exception:
                    if not self._api_port:
                        raise
                    if attempt + 1 < PORT_ATTEMPTS:
                        time.sleep(0.1)  # the lesson's previous server may still be closing its socket
            if self.api is None:
                # the old port is taken
                self.api = ApiSandbox.start(settings.api, database=database, log_path=self._log_path)
            self._api_port = self.api.port
            self._remember_port(self.api.port)
            if self.code is not None and self.lesson.build is not None:
                self.code.set_environment(self.build_env())  # a restarted API's upstreams have new ports
        if self.lesson.build is not None and self.workspace is None:
            from tutor.code.workspace import CodeEvidenceImpl, Workspace

            self.workspace = Workspace.for_lesson(self.home, self.pack, self.lesson, self.workspace_choice)
            self.workspace.prepare()
            database = self.sql.template if self.sql is not None and self.lesson.build.database else None
            copies = self.home.sessions / f"{self.lesson.id}-code"
            self.code = CodeEvidenceImpl(
                self.workspace,
                self.lesson.build.module,
                self.pack.root,
                database,
                copies,
                self.build_env(),
                keep_reference_answers=self.api is None,
            )
        self.started = True

    def restore_switches(self, actions: list[dict[str, Any]]) -> list[str]:
        """Switch the API sandbox's controls as the learner switched them in earlier steps.

        A lesson opened again part-way keeps its database (`keep_database`), but the API starts from its
        settings: a `PUT /_sandbox/caching` or `/_sandbox/auth` an earlier step had the learner send (the
        negative TTL turned on, a weak mode switched off) would be undone, and the next step could never
        pass. `actions` are the passed steps' recorded actions, in lesson order; their requests that change
        the sandbox's controls are sent again, by the tutor (not counted as the learner's). Not the clock,
        and nothing that writes data (the database already holds it). Returns what was sent, "PUT /path"."""
        if self.api is None:
            return []
        from pydantic import ValidationError

        from tutor.checks.http_probe import prepared
        from tutor.pack.actions import HttpRequest

        sent: list[str] = []
        for action in actions:
            for item in action.get("requests") or []:
                if not isinstance(item, dict) or not str(item.get("path", "")).startswith("/_sandbox/"):
                    continue
                try:
                    request = HttpRequest.model_validate(item)
                except ValidationError:
                    continue
                if not moves_sandbox(request.method, request.path) or request.path.startswith("/_sandbox/clock"):
                    continue
                path, kwargs = prepared(request, {})
                if "{" in path:
                    continue  # a value saved from a response of that session: not there to fill in
                try:
                    exchange = self.api.send(request.method, path, source="tutor", **kwargs)
                except Exception:
                    return sent  # the API does not answer: the lesson's own problem report says so
                if 200 <= exchange.status < 300:
                    sent.append(f"{request.method} {path}")
        return sent

    def build_env(self) -> dict[str, str]:
        """The lesson's `build.env` with the running sandboxes' values in it: `{{api_url}}`,
        `{{log_path}}`, `{{upstream_url_NAME}}` (what the learner's app is told to call)."""
        assert self.lesson.build is not None
        values = self.api.placeholders() if self.api is not None else {}
        return {
            name: SANDBOX_VALUE.sub(lambda m: values.get(m.group(1), m.group(0)), value)
            for name, value in self.lesson.build.env.items()
        }

    # The API keeps its port across runs of the same lesson when that port is free, so a learner's curl
    # lines in another terminal keep working after a restart.
    @property
    def _port_file(self) -> Any:
        return self.home.sessions / self.lesson.id / "api-port"

    @property
    def _log_path(self) -> Any:
        """Where the API's request log goes, in a lesson with `logs` (`{{log_path}}` in its text)."""
        return self.home.sessions / self.lesson.id / "requests.log"

    def _remembered_port(self) -> int:
        try:
            port = int(self._port_file.read_text().strip())
        except (OSError, ValueError):
            return 0
        return port if 1024 <= port <= 65535 else 0

    def _remember_port(self, port: int) -> None:
        from tutor.files import write_atomic

        with contextlib.suppress(OSError):
            write_atomic(self._port_file, f"{port}\n", durable=False)

    def problems(self) -> list[str]:
        """What is wrong with sandboxes that should be running (empty when all is well)."""
        found = []
        if self.lesson.sandboxes.api is not None and self.api is not None and not self.api.alive:
            found.append("the sandbox API has stopped")
        return found

    def restart(self, progress: Progress | None = None) -> None:
        """Start again whatever failed to start or has stopped; what runs fine is kept (so is the database)."""
        if self.api is not None and not self.api.alive:
            api, self.api = self.api, None
            with contextlib.suppress(Exception):  # it is already dead: stopping only tidies up
                api.stop()
        self.start(progress)

    def close(self) -> None:
        if self.code is not None:
            self.code.close()
            self.code = None
            self.workspace = None
        if self.api is not None:
            self.api.stop()
            self.api = None
        if self.sql is not None:
            self.sql.close()
            self.sql = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        self.started = False

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- steps and evidence ----------------------------------------------------------------------
    def begin_step(self, step: Step) -> None:
        """Evidence (statements run, traffic) counts from here on for `step`'s check.

        When `step` is another step than the current one, the sandboxes' state (database and API
        memory) is kept as the step-open state, for `reset_step()`."""
        if self.step is not step or self.step_open is None:
            self.step_open = self.save_state()
        self.step = step
        if self.code is not None:
            from tutor.pack.checks import iter_kinds

            if "code_http" in iter_kinds(step.check):
                self.code.launcher().prepare()  # a warm child ready for the learner's first save
        if self.sql is not None:
            self.sql.mark(self.step_open.sql)
        if self.api is not None:
            self.api.mark()
        self._note_opening()

    def _note_opening(self) -> None:
        self.step_opened_at = time.time()
        self.step_opened_lesson_time = self.api.lesson_time() if self.api is not None else None

    def reset_step(self) -> None:
        """Put the lesson's sandboxes back as they were when the current step opened: the SQL database
        and everything the API remembers (cache, rate-limit buckets, idempotency keys, accounts,
        sessions, refresh tokens, the deny-list, relation strategies, the clock). Evidence counts
        again from here."""
        if self.step_open is None:
            raise ActionFailed("no step is open")
        self.restore_state(self.step_open)
        if self.sql is not None:
            self.sql.mark()
        if self.api is not None:
            self.api.mark()
        self._note_opening()

    def apply(
        self,
        action: Action,
        *,
        saved: dict[str, Any] | None = None,
        sent: list[tuple[int, Any]] | None = None,
    ) -> Any:
        """Replay a learner action: `files` into the workspace, SQL through the guarded learner
        connection, then the `wait` on the lesson clock, then HTTP requests as an outside client (with
        `wait` items between them). Returns the answer to check (None for hands-on actions).

        Raises ActionFailed when the SQL fails (with SQLite's message and where), a request cannot be
        sent, or a `save` finds nothing; whatever ran before the failure stays applied, as it would for
        a learner.

        `files` lays the starter files with the action's files over them in the workspace, as if the
        learner had written them (only `pack test` does this; a learner saves in their editor).

        `saved` starts the action with values already saved (a learner's evidence replayed by `progress
        verify` names values an earlier step's response gave); `sent` collects (request number, exchange)
        for each request sent (the last exchange of a repeated one)."""
        if action.files is not None:
            if self.workspace is None:
                raise ActionFailed("this lesson has no workspace (`build:`)")
            self.workspace.lay(self.pack.root / action.files)
        if action.sql is not None:
            self._run_sql(action.sql)
        if action.wait is not None:
            self._wait(action.wait)
        if saved is None:
            saved = {}  # `save`d values live for one action, as the format says
        for number, item in enumerate(action.requests, start=1):  # numbered as the list is, to find it there
            if isinstance(item, Wait):
                self._wait(item.wait)
            elif isinstance(item, SqlStep):
                self._run_sql(item.sql)
            else:
                exchange = self._send(number, item, saved)
                if sent is not None:
                    sent.append((number, exchange))
        return action.answer

    def _run_sql(self, sql: str) -> None:
        if self.sql is None:
            raise ActionFailed("this lesson has no SQL sandbox running")
        problem = self.sql.run_learner(sql).describe_error()
        if problem is not None:
            raise ActionFailed(f"its SQL failed: {problem}")

    def _wait(self, seconds: float) -> None:
        if self.api is None:
            raise ActionFailed("only the API sandbox has a lesson clock, and this lesson has none running")
        self.api.advance_clock(seconds)

    def _send(self, number: int, request: HttpRequest, saved: dict[str, Any]) -> Any:
        from tutor.checks.http_probe import PLACEHOLDER

        if self.api is None:
            raise ActionFailed("this lesson has no API sandbox running")
        texts = [request.path, *request.headers.values(), *map(str, request.query.values())]
        texts += [request.body or "", repr(request.json_body)]
        for text in texts:
            for name in (m.group(1) for m in PLACEHOLDER.finditer(text)):
                if name not in saved:
                    raise MissingValue(
                        f"request {number} ({request.method} {request.path}) uses {{{name}}}, but no earlier "
                        f"request of this action saved a value called '{name}'"
                    )
        try:
            exchange = self.api.send_as_learner(request, saved)
        except Exception as exc:
            raise ActionFailed(f"{request.method} {request.path} could not be sent: {exc}") from exc
        for name, source in request.save.items():
            if name not in saved:
                raise MissingValue(
                    f"request {number} ({request.method} {request.path}) should save '{name}' from {source}, "
                    f"but its response ({exchange.status}) has no {source}"
                )
        return exchange

    def save_state(self) -> SessionState:
        """What the sandboxes hold now, so `pack test` can put it back after a wrong answer."""
        return SessionState(
            sql=self.sql.snapshot() if self.sql is not None else None,
            api=self.api.snapshot() if self.api is not None else None,
        )

    def restore_state(self, state: SessionState) -> None:
        if self.sql is not None and state.sql is not None:
            self.sql.restore(state.sql)
        if self.api is not None and state.api is not None:
            self.api.restore(state.api)

    def context(self, answer: Answer | None = None) -> CheckContext:
        if self.api is not None:
            self.api.settle()  # background jobs and deliveries due by now are done before a check reads
        return CheckContext(
            answer=answer,
            sql=self.sql.evidence() if self.sql is not None else None,
            http=self.api.evidence() if self.api is not None else None,
            code=self.code,
        )

    def check(self, step: Step, answer: Answer | None = None) -> CheckResult:
        """Run `step`'s check on the evidence gathered since `begin_step`, plus the typed `answer`.

        When the check fails and what the learner did is one of the step's declared wrong answers (the
        same typed answer, or the same SQL as their last statements), the author's feedback for it is
        added: it says why that particular mistake is a mistake."""
        result = evaluate(step.check, self.context(answer))
        if result.passed:
            return result
        matching = [
            w for w in step.wrong_answers if (w.feedback or w.hints or w.answer is not None) and self._did(w, answer)
        ]
        if not matching:
            return result

        # Several declared mistakes can be inside one learner's traffic: the one they made last, then the most
        # specific one (SQL as well as requests; more requests; more details) is what the feedback is about;
        # one with words of its own (feedback, hints) before one without.
        def recency(wrong: WrongAnswer) -> tuple[bool, int, bool, int, int]:
            last = self._sent(wrong) if wrong.requests else None
            sent = [r for r in wrong.requests if isinstance(r, HttpRequest)]
            detail = sum(len(r.headers) + len(r.query) + (r.json_body is not None) + (r.body is not None) for r in sent)
            count = sum(r.repeat for r in sent)
            return (
                bool(wrong.feedback or wrong.hints),
                -1 if last is None else last,
                wrong.sql is not None or any(isinstance(r, SqlStep) for r in wrong.requests),
                count,
                detail,
            )

        best = max(matching, key=recency) if any(w.requests for w in matching) else matching[0]
        if not any(w.requests for w in matching):
            best = next((w for w in matching if w.feedback or w.hints), matching[0])
        feedback = result.feedback if result.feedback is not None else best.feedback
        if result.feedback and best.feedback and best.feedback.strip() not in result.feedback:
            feedback = f"{result.feedback.strip()}\n\n{best.feedback.strip()}"  # an option's why, then the mistake's
        return replace(result, feedback=feedback, mistake=step.wrong_answers.index(best))

    def _did(self, wrong: WrongAnswer, answer: Answer | None) -> bool:
        """Whether the learner did what `wrong` describes: every part it gives (the typed answer, the
        files, the SQL, the requests) must match."""
        if wrong.answer is not None and not _same_answer(wrong.answer, answer):
            return False
        if wrong.files is not None:
            if self.workspace is None:
                return False
            from tutor.code.workspace import list_files

            theirs = self.workspace.files()
            mine = list_files(self.pack.root / wrong.files)
            same = bool(mine) and all(
                name in theirs and theirs[name].read_bytes() == path.read_bytes() for name, path in mine.items()
            )
            if not same:
                return False
        if wrong.sql is not None:
            if self.sql is None:
                return False
            from sandboxes.sql.guard import split_statements

            expected = [_normal_sql(s.sql) for s in split_statements(wrong.sql)]
            ran = [_normal_sql(s) for s in self.sql.attempted()]
            if not expected or ran[-len(expected) :] != expected:
                return False
        if wrong.requests:
            return self._sent(wrong) is not None
        return wrong.answer is not None or wrong.sql is not None or wrong.files is not None

    def _sent(self, wrong: WrongAnswer) -> int | None:
        """Where the learner's requests since the step opened contain `wrong`'s requests, in order (other
        requests may come between): the position of the last one, or None."""
        if self.api is None:
            return None
        requests = [r for r in wrong.requests if isinstance(r, HttpRequest)]
        wanted = [r for r in requests for _ in range(r.repeat)]
        if not wanted:
            return None
        sent = [e for e in self.api.evidence().exchanges() if e.source != "tutor"]
        if any(isinstance(item, SqlStep) for item in wrong.requests) and self.sql is not None:
            # SQL between the requests (a load test run while an index was gone) is part of the mistake.
            return self._sent_with_sql(wrong, sent)
        if any(r.repeat > 1 for r in requests):
            # A burst (the load tool, `repeat` with `concurrency`) is logged in the order its answers
            # came back: the learner's last requests must be the same ones, in any order.
            recent = sent[-len(wanted) :]
            if len(recent) < len(wanted):
                return None
            pending = list(wanted)
            for exchange in recent:
                match = next((r for r in pending if _same_request(r, exchange)), None)
                if match is None:
                    return None
                pending.remove(match)
            from tutor.checks.http_traffic import in_flight

            # A burst declared with C at a time is not one sent with many more at once (one request may
            # end as the next arrives, hence the one to spare).
            if in_flight(recent) > max(r.concurrency for r in requests) + 1:
                return None
            # Nor is it a bigger run of the same requests (two hundred sent contain the last twenty).
            if len(sent) > len(recent) and any(_same_request(r, sent[-len(recent) - 1]) for r in requests):
                return None
            return len(sent) - 1
        # Other requests may come between, but not a move of the sandbox itself (a POST to `/_sandbox/...`:
        # the clock, a switch) that the mistake does not make: GET, clock +20 s, GET is not "GET, GET".
        for start, exchange in enumerate(sent):
            if not _same_request(wanted[0], exchange):
                continue
            position, last = 1, start
            for index in range(start + 1, len(sent)):
                if position == len(wanted):
                    break
                if _same_request(wanted[position], sent[index]):
                    position, last = position + 1, index
                elif moves_sandbox(sent[index].method, sent[index].path):
                    break
            if position == len(wanted):
                return last
        return None

    def _sent_with_sql(self, wrong: WrongAnswer, sent: list[Any]) -> int | None:
        """As `_sent`, for a wrong answer with SQL between its requests: the learner's requests and
        statements, in the order they happened, must contain the wrong answer's items in its order."""
        from sandboxes.sql.guard import split_statements

        assert self.sql is not None
        timeline: list[tuple[float, Any]] = [(e.time, e) for e in sent]
        timeline += [(r.at, r) for r in self.sql.ran()]
        timeline.sort(key=lambda pair: pair[0])
        wanted: list[Any] = []
        for item in wrong.requests:
            if isinstance(item, SqlStep):
                wanted.extend(_normal_sql(s.sql) for s in split_statements(item.sql))
            elif isinstance(item, HttpRequest):
                wanted.extend([item] * item.repeat)
        position, last = 0, None
        for _, event in timeline:
            if position == len(wanted):
                break
            want = wanted[position]
            if isinstance(want, str):
                hit = hasattr(event, "transaction") and _normal_sql(event.sql) == want
            else:
                hit = not hasattr(event, "transaction") and _same_request(want, event)
            if hit:
                position += 1
                if not isinstance(want, str):
                    last = sent.index(event)
        return last if position == len(wanted) and last is not None else None
