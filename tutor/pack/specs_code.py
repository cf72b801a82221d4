"""Build-it steps: the learner writes real code in their own editor; these check kinds run it.

A lesson with `build:` gives the learner starter files in a workspace folder. Its steps' checks start the
learner's app in a child process and probe it over HTTP (`code_http`), or run the pack's pytest file
against the learner's module (`code_tests`). Solutions and wrong answers of such steps are `files:`,
a folder in the pack whose files are laid over the starter files before the check, as if the learner had
written them.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from tutor.pack.actions import HttpMethod, HttpRequest, SqlStep
from tutor.pack.base import JsonValue, Model, NonEmpty, PackPath
from tutor.pack.specs_http import Between, ResponseExpect
from tutor.pack.specs_shutdown import ShutdownProbe


class BuildSettings(Model):
    """The learner's workspace for a build-it lesson."""

    starter: PackPath = Field(
        description="A folder in the pack: its files are copied into the learner's workspace when the lesson "
        "first opens, and never overwritten once the learner edits them."
    )
    module: NonEmpty = Field(
        default="app",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$",
        description="The module that holds the ASGI application, as a top-level name `app` "
        "(FastAPI or Starlette): `app` means app.py in the workspace.",
    )
    open: NonEmpty = Field(default="app.py", description="The file the editor opens first, relative to the workspace.")
    database: bool = Field(
        default=True,
        description="Give the learner's app a fresh copy of the lesson's SQL database for every check; "
        "its path is in the environment variable BACKEND_TUTOR_DB.",
    )
    env: dict[str, str] = Field(
        default_factory=dict,
        description="Environment variables the learner's app (and the pack's tests) run with, as a deployment "
        'would set them: a signing key read with `os.environ["JWT_KEY"]` instead of written in the code. '
        "The lesson text tells the learner to set the same when they run the app themselves.",
    )
    watch: list[NonEmpty] = Field(
        default_factory=list,
        description="Which saves start a check: globs matched against '/'-separated paths in the workspace "
        "(`*.py`, `templates/*.html`). Default: the starter's files and every `.py` file. A file that "
        "changes while the learner's app runs (a log, a SQLite file) never starts one.",
    )

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", name):
                raise ValueError(f"'{name}' is not an environment variable name (capitals, digits and _)")
            if name.startswith("BACKEND_TUTOR") or name in ("HOME", "PATH", "PYTHONPATH"):
                raise ValueError(f"'{name}' is the tutor's own; choose another name")
        return value


class UpstreamCalls(Model):
    """What the learner's app did to an upstream of the lesson while it answered one of the checker's
    requests (the calls that arrived between the request and its answer)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="The upstream, as `upstreams[].name` says.")
    calls: Between | None = Field(
        default=None,
        description="How many calls it made: {at_least: 2} for a retry, {at_most: 0} while a breaker is open.",
    )
    abandoned: Between | None = Field(
        default=None,
        description="How many of them it gave up on before the answer was complete: {at_least: 1} proves its own "
        "timeout fired.",
    )
    max_in_flight: int | None = Field(
        default=None, ge=1, description="At most this many of its calls in flight at once (a bulkhead)."
    )
    min_gap_ms: float | None = Field(
        default=None, ge=0, description="Between two of its calls, at least this many milliseconds (a backoff)."
    )


class WebhookProbe(Model):
    """The request's body is a webhook event and its headers sign it, as the lesson's sandbox signs its
    deliveries (`sandboxes.api.webhooks`): the learner's receiver is judged by what it does with it."""

    type: str = Field(default="event.test", pattern=r"^[a-z][a-z0-9_.-]{0,63}$", description="The event's type.")
    data: dict[str, JsonValue] = Field(default_factory=dict, description="The event's `data`.")
    again: bool = Field(
        default=False,
        description="The previous webhook of this check again: the same event id and body, signed afresh (a retry "
        "or a replay the receiver must not act on twice). `type` and `data` are not used.",
    )
    rotating: bool = Field(
        default=False,
        description="Signed as a sender signs while it rotates its secret: `webhook-signature` holds two "
        "signatures, space-separated, first one by a secret the sender is retiring (which the receiver does not "
        "know), then the valid one. A receiver that reads only the first signature refuses a genuine delivery.",
    )
    encoding: Literal["compact", "escaped"] = Field(
        default="compact",
        description="How the event's JSON is written. 'compact': as the sandbox writes its own deliveries. 'escaped': "
        "with '/' and every non-ASCII character escaped (`\\/`, `\\u00eb`), as PHP's json_encode writes JSON: the "
        "same event in bytes that JSON parsed and written again by Python never gives back, so only a receiver "
        "that checks the signature over the raw body passes. With `again`: the previous event written afresh "
        "this way for its retry, the same id in other bytes, so a receiver that knows an event by a hash of its "
        "body acts on it twice.",
    )
    tamper: Literal["none", "signature", "body", "stale", "unsigned"] = Field(
        default="none",
        description="'signature': signed with another secret; 'body': the body changed after signing; 'stale': "
        "signed longer ago than the lesson's `tolerance_seconds`; 'unsigned': no signature header.",
    )


class CodeProbeStep(Model):
    restart_before: bool = Field(
        default=False,
        description="Stop the app and start it again on the same database before this request: a second "
        "deployment of the same code, whose start-up (a migration, CREATE INDEX) must be safe to run twice.",
    )
    sql_before: NonEmpty | None = Field(
        default=None,
        description="SQL run on the app's own database copy just before this request, as another client of "
        "that database would (a migration undone, a table dropped): the running app must notice.",
    )
    request: HttpRequest
    expect: ResponseExpect = Field(default_factory=ResponseExpect)
    save: dict[str, str] = Field(
        default_factory=dict,
        description="Values to carry to later requests: name -> 'json:PATH', 'header:NAME' or 'status'.",
    )
    max_sql_statements: int | None = Field(
        default=None, ge=0, description="At most this many SQL statements while answering this request."
    )
    no_full_scan: bool | list[str] = Field(
        default=False,
        description="true: no statement of this request reads a whole table; or a list of tables that must "
        "not be read whole.",
    )
    webhook: WebhookProbe | None = Field(
        default=None,
        description="Send the request as a signed webhook delivery (needs the lesson's `sandboxes.api.webhooks`).",
    )
    max_ms: float | None = Field(
        default=None,
        gt=0,
        le=60000,
        description="The app answered within this many milliseconds (wall time: give room; a missing timeout "
        "takes the checker's own 5 s).",
    )
    upstream: UpstreamCalls | None = Field(
        default=None, description="What the app did to an upstream of the lesson while it answered this request."
    )
    logs_request_id: bool | NonEmpty = Field(
        default=False,
        description="The app's own log carries the id the checker sent with this request in `X-Request-Id` "
        "(every request the checker sends has a fresh one): true for what the app prints (stdout and stderr), "
        "or the path of the file in the workspace the app writes its log to (`app.log`).",
    )
    shutdown: ShutdownProbe | None = Field(
        default=None,
        description="Send this request several times at once and, while they are in flight, stop the app "
        "with SIGTERM: each must get its whole answer (`expect`), the process must end in time, and its "
        "database must hold what its shutdown code writes. Only the last step of a check.",
    )


class IdProbes(Model):
    """Reads of ids across the table, and of ids that do not exist: a cache keyed by nothing, or a lookup
    that always answers the first row, shows here."""

    path: NonEmpty = Field(description="The path with `{id}` where the id goes: /books/{id}")
    query: NonEmpty = Field(description="SQL run on the lesson database that lists the ids: SELECT id FROM books")
    count: int = Field(default=4, ge=1, le=50, description="How many existing ids to read (chosen with the seed).")
    missing: int = Field(default=2, ge=0, le=10, description="How many ids that do not exist to read.")

    @model_validator(mode="after")
    def _check(self) -> IdProbes:
        if "{id}" not in self.path:
            raise ValueError("`path` needs an `{id}` where the id goes")
        return self


HOSTILE_VALUES = (
    "'",
    "1' OR '1'='1",
    "0) OR (1=1",
    "1; DROP TABLE books",
    "%",
    "١٢",
    "99999999999999999999999",
    "-1",
    "",
    "null",
)
"""What `hostile: true` sends: quotes and SQL metacharacters, a LIKE wildcard, Arabic-Indic digits (which
Python's int() accepts), a number too big for SQLite, a negative, nothing, and the word null."""


class ParamProbes(Model):
    """One query parameter, sent with values at and past its bounds and with hostile text."""

    path: NonEmpty
    name: NonEmpty = Field(description="The query parameter: limit, cursor, author.")
    values: list[str | int] = Field(default_factory=list, description="Values to send as they are.")
    bounds: list[int] | None = Field(
        default=None,
        min_length=2,
        max_length=2,
        description="[lowest, highest] allowed: the probes send each, and one past each.",
    )
    hostile: bool = Field(default=False, description="Also send quotes, SQL metacharacters, odd digits, huge numbers.")
    query: dict[str, str] = Field(default_factory=dict, description="Other query parameters sent with each probe.")

    def all_values(self) -> list[str]:
        out = [str(v) for v in self.values]
        if self.bounds is not None:
            low, high = self.bounds
            out += [str(low - 1), str(low), str(high), str(high + 1)]
        if self.hostile:
            out += list(HOSTILE_VALUES)
        return list(dict.fromkeys(out))


class TokenProbes(Model):
    """Requests to a protected endpoint with tokens a careful server refuses: none, malformed, `alg: none`,
    signed with another key or algorithm, expired. They need a real token from the app first."""

    method: HttpMethod = "GET"
    path: NonEmpty = Field(description="The protected endpoint: /reports")
    login: HttpRequest = Field(description="The request that gets a valid token from the app.")
    token: NonEmpty = Field(default="json:access_token", description="Where the login's response holds the token.")
    key_env: str | None = Field(
        default=None,
        description="The environment variable (set with `build: env:`) that holds the app's signing key: the "
        "checker can then sign an expired token and one with another algorithm, with the right key.",
    )
    expired_seconds: int = Field(
        default=3600,
        ge=1,
        le=86_400,
        description="How long ago the expired token's `exp` passed (with `key_env`). An app that allows a "
        "leeway longer than this accepts it: 120 refuses any leeway over two minutes (RFC 7519 §4.1.4 allows "
        "'some small leeway, usually no more than a few minutes').",
    )


class LoginProbes(Model):
    """An unknown user and a known user with a wrong password must get the same answer (status, body,
    headers), in about the same time: a difference tells an attacker which usernames exist."""

    path: NonEmpty = Field(description="The login endpoint: /login")
    username_field: NonEmpty = "username"
    password_field: NonEmpty = "password"  # noqa: S105 - the name of a JSON field, not a password
    known_user: NonEmpty = Field(description="A username that exists.")
    unknown_user: NonEmpty = Field(default="nobody-by-this-name", description="A username that does not.")
    repeat: int = Field(default=5, ge=1, le=50, description="Tries of each, for the timing.")
    timing_ratio: float = Field(
        default=3.0, gt=1, description="The slower answer's median may be at most this many times the faster one's."
    )


CompareItem = NonEmpty


class CodeProbes(Model):
    """Generated probes sent to the learner's app and to the lesson's reference app, each on its own fresh
    copy of the lesson database, compared on what `compare` names. A fixed script of requests can be
    passed by code shaped to it; these cannot. The choices come from `seed`, so a verdict is reproducible."""

    reference: PackPath = Field(description="A folder laid over the starter files: the right app.")
    seed: int = Field(default=1, description="Which ids and values are chosen: the same every run.")
    ids: IdProbes | None = None
    params: list[ParamProbes] = Field(default_factory=list)
    sequences: list[list[HttpRequest | SqlStep]] = Field(
        default_factory=list,
        description="Requests sent in order to both apps (a write, then a read of another id), each response "
        "compared. A `{sql: ...}` item runs that SQL on each app's own database between two requests, as another "
        "client would (a book added behind the app's back): an app that serves a copy it read at start-up shows it.",
    )
    tokens: TokenProbes | None = None
    login: LoginProbes | None = None
    compare: list[CompareItem] = Field(
        default_factory=lambda: ["status"],
        description="What must agree with the reference app: `status`, `body` (as JSON when it is JSON, when the "
        "reference answers 2xx), `json:PATH` (one part of a JSON body, such as `json:items`, when the reference "
        "answers 2xx: the rest may differ, an opaque cursor for one), "
        "`header:NAME` (present in one, present in the other), `sql_statements` (at most the reference's, or "
        "twice it with `sql_statements:2`), `full_scans` (none the reference does not do), `vm_steps` (the SQLite "
        "work a request causes: at most three times the reference's, or N times with `vm_steps:N`).",
    )

    @model_validator(mode="after")
    def _check(self) -> CodeProbes:
        if not (self.ids or self.params or self.sequences or self.tokens or self.login):
            raise ValueError("give at least one of `ids`, `params`, `sequences`, `tokens`, `login`")
        for item in self.compare:
            name = item.partition(":")[0]
            if name not in ("status", "body", "json", "header", "sql_statements", "full_scans", "vm_steps"):
                raise ValueError(
                    f"`compare` item '{item}' is not status, body, json:PATH, header:NAME, sql_statements[:N], "
                    "full_scans or vm_steps[:N]"
                )
            if name in ("json", "header") and not item.partition(":")[2].strip():
                raise ValueError(f"`compare` item '{item}' needs what to compare after the ':' ({name}:...)")
            argument = item.partition(":")[2]
            if name in ("sql_statements", "vm_steps") and argument:
                try:
                    ok = float(argument) >= 1
                except ValueError:
                    ok = False
                if not ok:
                    raise ValueError(f"`compare` item '{item}': the factor after ':' is a number, 1 or more")
        return self


class CodeHttpCheck(Model):
    """Starts the learner's app (a fresh copy of the lesson database behind it) and sends it these requests,
    in order, asserting on each response and on the SQL each one ran; then, with `probes`, generated
    requests compared with the lesson's reference app."""

    kind: Literal["code_http"]
    steps: list[CodeProbeStep] = Field(min_length=1)
    probes: CodeProbes | None = None

    @model_validator(mode="after")
    def _shutdown_last(self) -> CodeHttpCheck:
        for number, step in enumerate(self.steps[:-1], 1):
            if step.shutdown is not None:
                raise ValueError(f"step {number} has `shutdown`: only the last step can stop the app")
        return self

    @model_validator(mode="after")
    def _webhook_again(self) -> CodeHttpCheck:
        for number, step in enumerate(self.steps, 1):
            earlier = any(s.webhook is not None for s in self.steps[: number - 1])
            if step.webhook is not None and step.webhook.again and not earlier:
                raise ValueError(
                    f"step {number}'s webhook has `again: true`, but no step before it sends a webhook to repeat"
                )
        return self


class CodeTestsCheck(Model):
    """Runs the pack's pytest file against the learner's module; the first failing test is explained with
    its docstring and its assertion."""

    kind: Literal["code_tests"]
    tests: PackPath = Field(
        description="A pytest file in the pack. Its test functions' docstrings are "
        "what a learner reads when that test fails: write them as plain sentences."
    )
    timeout: float = Field(default=30, gt=0, le=120, description="Seconds before the run is stopped.")

    @model_validator(mode="after")
    def _python(self) -> CodeTestsCheck:
        if not self.tests.endswith(".py"):
            raise ValueError("`tests` must be a Python file (.py)")
        return self
