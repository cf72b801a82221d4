"""A request's flow: what happened inside one exchange, read from its trace. No Textual.

    flow = Flow.of(exchange)
    flow.summary()        # GET /v1/books -> 22 SQL statements (20 alike: N+1) -> 200 in 12 ms
    flow.groups           # statements grouped by shape (literals and parameters stripped)
    flow.n_plus_one       # the groups that ran once per item
    waterfall(flow, 60)   # the events drawn to scale, as text

Statements are grouped by their *shape*: the text with string and number literals, parameter marks
and `IN (...)` lists reduced to `?`, so `... WHERE id = 7` and `... WHERE id = ?` with 8 are one
shape. A shape run `N_PLUS_ONE_MIN` times or more in one request is flagged as N+1: one query per item
of a list, where one query for the whole list would do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

N_PLUS_ONE_MIN = 3
"""A statement shape run this many times in one request is called N+1."""

AUTH_DECISIONS = ("allowed", "denied", "refused", "login")

_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"(?<![\w\"$:@?])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w\"])")
_PARAM = re.compile(r"\?\d*|[:@$][A-Za-z_]\w*")
_IN_LIST = re.compile(r"\bIN\s*\(\s*\?(?:\s*,\s*\?)*\s*\)", re.I)
_VALUES_LIST = re.compile(r"\bVALUES\s*\(\s*\?(?:\s*,\s*\?)*\s*\)", re.I)


def normalise(sql: str) -> str:
    """The statement's shape: literals and parameters as `?`, `IN (?, ?, ...)` as `IN (?...)`."""
    text = _STRING.sub("?", sql)
    text = _PARAM.sub("?", text)
    text = _NUMBER.sub("?", text)
    text = " ".join(text.split())
    text = _IN_LIST.sub("IN (?...)", text)
    return _VALUES_LIST.sub("VALUES (?...)", text)


@dataclass(frozen=True)
class Statement:
    """One SQL statement the handler ran."""

    number: int  # 1-based, in the order they ran
    at_ms: float
    duration_ms: float
    sql: str
    params: Any
    rows: int
    vm_steps: int
    vm_exact: bool
    plan_rows: tuple[tuple[int, int, str], ...]
    full_scans: tuple[str, ...]
    error: str | None = None
    limited_scans: tuple[str, ...] = ()  # scans a LIMIT stops early (a page of a list): not full scans

    @property
    def shape(self) -> str:
        return normalise(self.sql)

    def plan_text(self) -> str:
        """The query plan as SQLite gave it when the statement ran, full scans marked in words."""
        if not self.plan_rows:
            return "(no plan recorded)"
        from sandboxes.sql.plan import parse_rows

        plan = parse_rows(self.sql, [(i, p, 0, d) for i, p, d in self.plan_rows])
        lines: list[str] = []
        for step in plan.steps:
            indent = "  " * _depth(plan, step)
            if step.is_full_scan and step.index is None and (step.table or step.name) in self.limited_scans:
                lines.append(f"{indent}{step.detail}  <- {self.limited_scan_words()}")
            else:
                lines.append(indent + step.label())
        return "\n".join(lines) or "(no plan)"

    def limit_offset(self) -> tuple[int | None, int | None]:
        """The statement's LIMIT and OFFSET as numbers, read from its text and its `?` parameters
        (None where it has none, or the value cannot be known)."""
        return _limit_offset(self.sql, self.params)

    @property
    def rows_skipped(self) -> int:
        """Rows an OFFSET made SQLite read and throw away (0 without one)."""
        _, offset = self.limit_offset()
        return offset if self.limited_scans and offset and offset > 0 else 0

    def limited_scan_words(self) -> str:
        """What a scan that a LIMIT stops early really reads: with an OFFSET, every row it skips."""
        limit, offset = self.limit_offset()
        if offset:
            total = f" ({offset + limit:,} rows read in all)" if limit is not None else ""
            return f"reads in order: {offset:,} rows read and thrown away for the OFFSET, then the page{total}"
        if offset is None and _OFFSET.search(self.sql):
            return "reads in order: every row the OFFSET skips, then the page's, and stops there"
        rows = f"{limit:,} rows" if limit is not None else "its rows"
        return f"reads in order and stops after the LIMIT's {rows}: not a full scan"

    def params_text(self, limit: int = 60) -> str:
        text = ", ".join(repr(v) for v in self.params) if isinstance(self.params, list) else repr(self.params)
        return text if len(text) <= limit else text[: limit - 3] + "..."


_OFFSET = re.compile(r"\bOFFSET\b", re.I)
_LIMIT_CLAUSE = re.compile(r"\bLIMIT\s+(?P<a>\?\d*|\d+)(?:\s*(?P<sep>,|\bOFFSET\b)\s*(?P<b>\?\d*|\d+))?\s*;?\s*$", re.I)
SKIPPED_ROWS_NOTE_MIN = 1000
"""An OFFSET that skips this many rows or more is named on the flow's summary line."""


def _limit_offset(sql: str, params: Any) -> tuple[int | None, int | None]:
    """LIMIT and OFFSET of a statement ending in `LIMIT a [OFFSET b]` or `LIMIT b, a` (SQLite's order),
    each a number or a `?` parameter. Parameters count from the start of the statement, string
    literals left out."""
    text = _STRING.sub("''", sql)
    found = _LIMIT_CLAUSE.search(text)
    if found is None:
        return None, None

    def value(token: str | None, at: int) -> int | None:
        if token is None:
            return None
        if not token.startswith("?"):
            return int(token)
        if not isinstance(params, list | tuple):
            return None
        index = int(token[1:]) - 1 if len(token) > 1 else text[:at].count("?")
        item = params[index] if 0 <= index < len(params) else None
        return item if isinstance(item, int) and not isinstance(item, bool) else None

    a = value(found.group("a"), found.start("a"))
    b = value(found.group("b"), found.start("b")) if found.group("b") else None
    if found.group("sep") == ",":
        return b, a  # LIMIT offset, count
    return a, (b if found.group("b") else 0)


def _depth(plan: Any, step: Any) -> int:
    by_id = {s.id: s for s in plan.steps}
    depth, current = 0, step
    while current.parent in by_id and by_id[current.parent] is not current and depth < 20:
        current = by_id[current.parent]
        depth += 1
    return depth


@dataclass(frozen=True)
class StatementGroup:
    """Statements of one shape, in the order the shape first ran."""

    shape: str
    statements: tuple[Statement, ...]

    @property
    def count(self) -> int:
        return len(self.statements)

    @property
    def is_n_plus_one(self) -> bool:
        return self.count >= N_PLUS_ONE_MIN and self.shape.upper().startswith(("SELECT", "WITH"))

    @property
    def total_ms(self) -> float:
        return round(sum(s.duration_ms for s in self.statements), 3)

    @property
    def vm_steps(self) -> int:
        return sum(s.vm_steps for s in self.statements)

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.statements)

    @property
    def full_scans(self) -> tuple[str, ...]:
        return tuple(sorted({t for s in self.statements for t in s.full_scans}))

    def describe(self, width: int = 100) -> str:
        """'20 x SELECT * FROM "authors" WHERE id = ?  (20 rows, 200 VM steps)  <- N+1: ...'"""
        shape = self.shape if len(self.shape) <= width else self.shape[: width - 3] + "..."
        rows = f"{self.rows} row{'s' if self.rows != 1 else ''}"
        text = f"{self.count} x {shape}  ({rows}, {self.vm_steps:,} VM steps, {self.total_ms:.1f} ms)"
        if self.is_n_plus_one:
            text += f"  <- N+1: the same query {self.count} times, once per item"
        if self.full_scans:
            text += f"  <- FULL SCAN of {', '.join(self.full_scans)}"
        return text


@dataclass(frozen=True)
class Flow:
    """What happened inside one request."""

    method: str
    target: str
    status: int
    duration_ms: float
    error: str | None
    events: tuple[Any, ...]  # TraceEvent, in order
    statements: tuple[Statement, ...]
    groups: tuple[StatementGroup, ...]
    dropped_statements: int = 0
    dropped_events: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    # -- building --------------------------------------------------------------------------------
    @classmethod
    def of(cls, exchange: Any) -> Flow:
        events = tuple(exchange.trace)
        statements: list[Statement] = []
        dropped_statements = dropped_events = 0
        for event in events:
            if event.kind == "sql":
                data = event.data
                statements.append(
                    Statement(
                        number=len(statements) + 1,
                        at_ms=event.at_ms,
                        duration_ms=event.duration_ms or 0.0,
                        sql=str(data.get("sql", event.label)),
                        params=data.get("params", []),
                        rows=int(data.get("rows", 0) or 0),
                        vm_steps=int(data.get("vm_steps", 0) or 0),
                        vm_exact=bool(data.get("vm_exact", True)),
                        plan_rows=tuple(tuple(r) for r in data.get("plan", ())),
                        full_scans=tuple(data.get("full_scans", ())),
                        error=data.get("error"),
                        limited_scans=tuple(data.get("limited_scans", ())),
                    )
                )
            elif event.kind == "truncated":
                dropped = event.data.get("dropped", {})
                dropped_statements += int(dropped.get("sql", 0))
                dropped_events += sum(int(v) for v in dropped.values())
        by_shape: dict[str, list[Statement]] = {}
        for statement in statements:
            by_shape.setdefault(statement.shape, []).append(statement)
        groups = tuple(StatementGroup(shape, tuple(items)) for shape, items in by_shape.items())
        notes: list[str] = []
        if dropped_events:
            notes.append(
                f"The trace is bounded: {dropped_events} more events (of which {dropped_statements} SQL "
                "statements) were counted but not kept."
            )
        return cls(
            method=exchange.method,
            target=exchange.target,
            status=exchange.status,
            duration_ms=exchange.duration_ms,
            error=exchange.error,
            events=events,
            statements=tuple(statements),
            groups=groups,
            dropped_statements=dropped_statements,
            dropped_events=dropped_events,
            notes=tuple(notes),
        )

    # -- facts -----------------------------------------------------------------------------------
    @property
    def statement_count(self) -> int:
        return len(self.statements) + self.dropped_statements

    @property
    def n_plus_one(self) -> list[StatementGroup]:
        return [g for g in self.groups if g.is_n_plus_one]

    @property
    def total_vm_steps(self) -> int:
        return sum(s.vm_steps for s in self.statements)

    @property
    def vm_steps_exact(self) -> bool:
        return all(s.vm_exact for s in self.statements) and not self.dropped_statements

    @property
    def full_scans(self) -> list[str]:
        return sorted({t for s in self.statements for t in s.full_scans})

    def statements_scanning(self, tables: Sequence[str] | None = None) -> list[Statement]:
        wanted = {t.lower() for t in tables} if tables else None
        return [s for s in self.statements if any(wanted is None or t.lower() in wanted for t in s.full_scans)]

    def events_of(self, kind: str) -> list[Any]:
        return [e for e in self.events if e.kind == kind]

    @property
    def cache(self) -> str | None:
        """'HIT', 'MISS', or None when no application cache was consulted."""
        found = self.events_of("cache")
        return str(found[-1].label) if found else None

    @property
    def cache_event(self) -> Any:
        found = self.events_of("cache")
        return found[-1] if found else None

    def auth_decision(self) -> Any:
        """The first event where the API decided on auth (allowed, denied, refused), or None."""
        for event in self.events:
            if event.kind == "auth" and event.label in AUTH_DECISIONS:
                return event
        return None

    @property
    def rate_limit(self) -> Any:
        found = self.events_of("rate_limit")
        return found[-1] if found else None

    def auth_before_db(self) -> bool:
        """True when the database was not touched, or auth was decided before its first statement."""
        first_sql = next((i for i, e in enumerate(self.events) if e.kind == "sql"), None)
        if first_sql is None and not self.dropped_statements:
            return True
        decision = self.auth_decision()
        return decision is not None and self.events.index(decision) < (first_sql or 0)

    # -- words -----------------------------------------------------------------------------------
    def sql_phrase(self) -> str:
        count = self.statement_count
        if count == 0:
            return "no SQL"
        text = f"{count} SQL statement{'s' if count != 1 else ''}"
        notes = [f"{g.count} alike: N+1" for g in self.n_plus_one]
        if self.full_scans:
            notes.append(f"full scan of {', '.join(self.full_scans)}")
        skipped = max((s.rows_skipped for s in self.statements), default=0)
        if skipped >= SKIPPED_ROWS_NOTE_MIN:
            notes.append(f"an OFFSET reads and skips {skipped:,} rows")
        return text + (f" ({'; '.join(notes)})" if notes else "")

    def summary(self) -> str:
        """One line: GET /v1/books?author=7 -> cache MISS -> 51 SQL statements (50 alike: N+1) -> 200 in 212 ms"""
        parts = [f"{self.method} {self.target}"]
        limit = self.rate_limit
        if limit is not None and limit.label != "allowed":
            parts.append("rate limit: refused")
        decision = self.auth_decision()
        if decision is not None and decision.label != "login":
            who = decision.data.get("user")
            parts.append(f"auth {decision.label}" + (f" ({who})" if who else ""))
        if self.cache is not None:
            parts.append(f"cache {self.cache}")
        if self.statement_count or self.cache != "HIT":
            parts.append(self.sql_phrase())
        if self.error:
            parts.append(f"crashed: {self.error}")
        parts.append(f"{self.status} in {self.duration_ms:.0f} ms")
        return " -> ".join(parts)

    def explain_lines(self, *, limit: int = 6, width: int = 100) -> list[str]:
        """The summary, then the statement groups (N+1 and full scans first), for failure messages."""
        lines = [f"flow: {self.summary()}"]
        ordered = sorted(self.groups, key=lambda g: (not g.is_n_plus_one, not g.full_scans, -g.count))
        for group in ordered[:limit]:
            lines.append("  " + group.describe(width))
        if len(ordered) > limit:
            lines.append(f"  ... and {len(ordered) - limit} more statement shapes")
        lines.extend(self.notes)
        return lines


# -- the waterfall ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bar:
    """One row of the waterfall: `start_ms`..`start_ms + duration_ms`, and what it was."""

    kind: str
    label: str
    start_ms: float
    duration_ms: float
    count: int = 1
    flag: str = ""  # words for what is wrong: "N+1", "FULL SCAN", "refused", ...


def _event_label(event: Any) -> tuple[str, str]:
    data = event.data
    kind = event.kind
    if kind == "received":
        return f"received from {data.get('source', '?')}", ""
    if kind == "rate_limit":
        return (
            f"rate limit: {event.label} ({data.get('remaining', '?')} left)",
            "" if event.label == "allowed" else "refused",
        )
    if kind == "auth":
        who = data.get("user")
        role = data.get("role")
        bits = [event.label]
        if who:
            bits.append(f"{who}" + (f", role {role}" if role else ""))
        if data.get("reason"):
            bits.append(str(data["reason"]))
        flag = "refused" if event.label in ("denied", "refused") else ""
        return "auth: " + " - ".join(bits), flag
    if kind == "cache":
        ttl = data.get("ttl_left")
        extra = f", {ttl:.0f} s left" if isinstance(ttl, int | float) else ""
        return f"cache {event.label}: {data.get('key', '')}{extra}", ""
    if kind == "response":
        return f"response {data.get('status', event.label)}, {data.get('bytes', 0):,} bytes", ""
    if kind == "error":
        return f"error: {event.label}", "error"
    return f"{kind}: {event.label}", ""


def bars(flow: Flow) -> list[Bar]:
    """The events as waterfall rows; consecutive statements of one shape are one row (x N)."""
    out: list[Bar] = []
    n_plus_one = {g.shape for g in flow.n_plus_one}
    pending: list[Any] = []

    def flush() -> None:
        if not pending:
            return
        first, last = pending[0], pending[-1]
        end = last.at_ms + (last.duration_ms or 0.0)
        shape = normalise(str(first.data.get("sql", first.label)))
        flags = []
        if shape in n_plus_one:
            flags.append("N+1")
        if any(e.data.get("full_scans") for e in pending):
            flags.append("FULL SCAN")
        if any(e.data.get("error") for e in pending):
            flags.append("error")
        label = f"SQL {shape}" if len(pending) == 1 else f"SQL x{len(pending)} {shape}"
        out.append(Bar("sql", label, first.at_ms, round(end - first.at_ms, 3), len(pending), ", ".join(flags)))
        pending.clear()

    for event in flow.events:
        if event.kind == "sql":
            shape = normalise(str(event.data.get("sql", event.label)))
            if pending and normalise(str(pending[0].data.get("sql", pending[0].label))) != shape:
                flush()
            pending.append(event)
            continue
        flush()
        if event.kind == "truncated":
            out.append(Bar("truncated", event.label, event.at_ms, 0.0, flag="bounded"))
            continue
        label, flag = _event_label(event)
        out.append(Bar(event.kind, label, event.at_ms, event.duration_ms or 0.0, flag=flag))
    flush()
    return out


def bar_cells(bar: Bar, total_ms: float, width: int) -> tuple[int, int]:
    """(first cell, number of cells) of `bar` on a track `width` cells wide spanning `total_ms`."""
    scale = width / total_ms if total_ms > 0 else 0.0
    start = min(int(bar.start_ms * scale), max(width - 1, 0))
    cells = max(1, round(bar.duration_ms * scale)) if bar.duration_ms else 1
    return start, min(cells, width - start)


def waterfall(flow: Flow, track: int = 40, label_width: int = 44) -> list[str]:
    """The flow as text: one row per step, a bar drawn to scale on a track of `track` cells.

    Spans are drawn with '=' and instants with '|', so the picture reads without colour."""
    total = max(flow.duration_ms, max((b.start_ms + b.duration_ms for b in bars(flow)), default=0.0), 0.001)
    lines = [f"{'step':<{label_width}} {'0 ms':<{track // 2}}{f'{total:.1f} ms':>{track - track // 2}}"]
    for bar in bars(flow):
        start, cells = bar_cells(bar, total, track)
        glyph = "=" if bar.duration_ms else "|"
        row = " " * start + glyph * cells
        label = bar.label if len(bar.label) <= label_width else bar.label[: label_width - 3] + "..."
        timing = f"{bar.start_ms:7.2f} +{bar.duration_ms:.2f} ms" if bar.duration_ms else f"{bar.start_ms:7.2f} ms"
        flag = f"  <- {bar.flag}" if bar.flag else ""
        lines.append(f"{label:<{label_width}} {row:<{track}} {timing}{flag}")
    return lines
