"""The check engine's contract: (spec, context) -> CheckResult. No Textual, no I/O of its own.

A check kind is a module in this package with one function registered for its kind:

    @register("choice")
    def check_choice(spec: ChoiceCheck, ctx: CheckContext) -> CheckResult: ...

The context carries the evidence: what the learner typed, and live handles on the lesson's sandboxes
(their SQL database and the statements they ran; the API's traffic log). The engine never trusts a
claim; it reads the evidence.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from tutor.pack.actions import Answer


@dataclass(frozen=True)
class CheckResult:
    """What a check found. `summary` is one line; `expected`/`got`/`first_difference` say what differed."""

    passed: bool
    summary: str
    kind: str = ""
    expected: str | None = None
    got: str | None = None
    first_difference: str | None = None
    details: tuple[str, ...] = ()
    feedback: str | None = None  # the author's words for this particular answer (an option's `why`, ...)
    error: bool = False  # the check could not run (a bug in the pack or the sandbox), not a wrong answer
    judged: bool = True  # False: the learner's work never reached the check (no query yet, code that does not import)
    mistake: int | None = None  # which of the step's declared wrong answers the learner gave (0-based), if any
    facts: dict[str, Any] = field(default_factory=dict, compare=False)
    """What the check measured on the learner's own work (hits, p50_ms, statements, rows, ...): an
    explanation quotes them as `{{name}}`, so its numbers are the learner's, whatever they ran."""

    def redacted(self) -> CheckResult:
        """The result without the values the check wanted: what is wrong and where to look, not the answer.
        Shown until the learner has viewed the solution (or when the step says its values are no secret)."""
        return replace(
            self,
            expected=None,
            first_difference=_redact(self.first_difference) if self.first_difference else None,
            details=tuple(_redact_lines(self.details)),
        )

    def explain(self) -> str:
        """The whole explanation as plain text (what `pack test` prints and the screen shows)."""
        lines = [self.summary]
        if self.expected is not None:
            lines.append(f"expected: {self.expected}")
        if self.got is not None:
            lines.append(f"got:      {self.got}")
        if self.first_difference:
            lines.append(f"first difference: {self.first_difference}")
        lines.extend(self.details)
        if self.feedback:
            lines.append(self.feedback.strip())
        return "\n".join(lines)


_EXPECTED_THEN = re.compile(r"\bexpected (?:one of )?.+?, (got|sent|your app sent) ")
_EXPECTED_AT_END = re.compile(r":? expected .+$")


def _redact(text: str) -> str:
    """`row 1: expected (3, 'a'), got (4, 'b')` -> `row 1: got (4, 'b')`; `row 2 is missing: expected (...)`
    -> `row 2 is missing`."""
    text = _EXPECTED_THEN.sub(lambda m: m.group(1) + " ", text)
    return _EXPECTED_AT_END.sub("", text)


def _redact_lines(lines: Sequence[str]) -> list[str]:
    """Detail lines without the rows or values the check wanted (a `missing:` sample lists them)."""
    out: list[str] = []
    skipping = False
    for line in lines:
        if line.startswith("missing:"):
            out.append(
                line.split(":", 1)[0] + ": " + line.split(":", 2)[1].strip().rstrip(":") + " (shown with the solution)"
            )
            skipping = True
            continue
        if skipping and line.startswith("  "):
            continue
        skipping = False
        out.append(_redact(line))
    return out


class SqlEvidence(Protocol):
    """What SQL check kinds may read. Implemented by the SQL sandbox (`sandboxes.sql`)."""

    def last_query(self) -> str | None:
        """The last statement the learner ran that returns rows (SELECT, WITH, VALUES), as typed."""

    def statements(self) -> Sequence[str]:
        """Every statement the learner ran successfully since the step opened, in order."""

    def attempted(self) -> Sequence[str]:
        """Every statement the learner sent since the step opened, refused and failed ones too."""

    def ran(self) -> Sequence[Any]:
        """The same statements, each with `.sql` and `.transaction`: what became of the transaction it
        ran in ("none" for autocommit, "open", "committed", "rolled_back")."""

    def connect(self) -> sqlite3.Connection:
        """The tutor's own connection to the learner's live database (not the guarded learner one)."""

    def connect_start(self) -> sqlite3.Connection:
        """A read-only connection to the lesson's starting database, as every learner got it."""

    def query(
        self, sql: str, *, on: Literal["live", "step", "start"] = "live", reverse_unordered: bool = False
    ) -> tuple[list[str], list[tuple[object, ...]]]:
        """(columns, rows) of a read-only query on the live database, the state the step opened on
        ("step") or the lesson's starting database ("start"); optionally with unordered SELECTs reversed."""

    def trial(self, statements: Sequence[str]) -> Sequence[Any]:
        """Run statements on the learner's own connection inside a savepoint that is rolled back; each
        outcome has `.error` (None when it ran), `.columns`, `.rows` and `.changes`."""


class HttpEvidence(Protocol):
    """What HTTP check kinds may read. Implemented by the API sandbox (`sandboxes.api`)."""

    @property
    def base_url(self) -> str: ...

    def exchanges(self) -> Sequence[Any]:
        """Recorded request/response exchanges since the step opened, oldest first."""

    def history(self) -> Sequence[Any]:
        """Every exchange still recorded in this lesson (earlier steps too), oldest first."""

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send the checker's own request to the sandbox (marked as the tutor's, not the learner's)."""

    def upstream_calls(self, name: str) -> Sequence[Any]:
        """The calls upstream `name` received since the step opened (`sandboxes.api.upstream.UpstreamCall`)."""

    def restart_upstreams(self) -> None:
        """Number the upstreams' calls from 1 again, so a check meets the same faults every time."""

    def webhook_probe(
        self,
        kind: str,
        data: Any,
        *,
        tamper: str = "none",
        again: tuple[str, bytes] | None = None,
        rotating: bool = False,
    ) -> tuple[str, bytes, bytes, dict[str, str]]:
        """A signed webhook delivery (or a tampered one): (event id, body as signed, body as sent, headers)."""


class CodeEvidence(Protocol):
    """What build-it check kinds may read. Implemented by `tutor.code.workspace.CodeEvidenceImpl`."""

    @property
    def workspace(self) -> Path:
        """The learner's folder, with their files as saved."""

    @property
    def module(self) -> str:
        """The module that holds the learner's `app`."""

    @property
    def pack_root(self) -> Path:
        """The pack's folder (where `code_tests` files are)."""

    def fresh_database(self, kind: str = "lesson") -> Path | None:
        """A fresh copy of the lesson's starting database for the learner's code, or None. Each `kind` (the
        learner's app, the reference, a test run) keeps its own copies, so one never deletes another's."""

    def start_app(self) -> Any:
        """The learner's app started (a `tutor.code.runner.LearnerApp`), or CodeProblem raised."""

    def start_reference(self, folder: str) -> Any:
        """The lesson's reference app (`folder` of the pack over the starter files), started the same way."""

    def environment(self) -> dict[str, str]:
        """The environment variables the lesson gives the learner's app (`build.env`)."""


class CheckUnavailable(Exception):
    """The evidence a check needs is missing (no sandbox running, nothing run yet)."""


@dataclass
class CheckContext:
    answer: Answer | None = None
    sql: SqlEvidence | None = None
    http: HttpEvidence | None = None
    code: CodeEvidence | None = None

    def need_sql(self) -> SqlEvidence:
        if self.sql is None:
            raise CheckUnavailable("this check reads the lesson database, but no SQL sandbox is running")
        return self.sql

    def need_http(self) -> HttpEvidence:
        if self.http is None:
            raise CheckUnavailable("this check reads the sandbox API, but no API sandbox is running")
        return self.http

    def need_code(self) -> CodeEvidence:
        if self.code is None:
            raise CheckUnavailable("this check runs your code, but the lesson has no workspace")
        return self.code

    def need_answer(self) -> Answer:
        if self.answer is None or self.answer == "" or self.answer == []:
            raise CheckUnavailable("there is no answer yet: type or pick one, then check")
        return self.answer


CheckFunction = Callable[[Any, CheckContext], CheckResult]


def shorten(value: object, limit: int = 120) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 3] + "..."
