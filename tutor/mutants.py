"""Wrong answers derived from a step's solution, to measure how much its check proves (`pack test --mutants`).

A mutant is the solution with one plausible mistake made in it: SQL with its WHERE, ORDER BY or
tie-breaker dropped, an index with its columns reordered or its last one gone, writes taken out of
their transaction or split into two, a SET assignment (the version bump) forgotten, a literal changed;
requests with a saved value (an ETag, a token, a cursor) replaced by a made-up one, a header dropped,
a request dropped, two requests swapped, a wait dropped, an old saved value sent instead of the new
one. The check should reject each; one it accepts is either a weakness of the check or a right answer,
which the lesson then declares among its `alternatives` (with `why`).

SQL is rewritten through sqlglot's SQLite dialect (imported here only): only the statement a mutant
changes is regenerated, the others stay as written.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tutor.pack.actions import Action, HttpRequest, Wait

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:\|weak)?\}")
_TRANSACTION_START = re.compile(r"^\s*(BEGIN|SAVEPOINT)\b", re.I)
_TRANSACTION_END = re.compile(r"^\s*(COMMIT|END|RELEASE)\b", re.I)
_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.I)
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_DATE_HEADERS = frozenset({"if-modified-since", "if-unmodified-since", "if-range"})


@dataclass(frozen=True)
class Mutant:
    name: str  # what was changed, in an author's words: "drop WHERE from statement 2"
    action: Action


# -- SQL --------------------------------------------------------------------------------------------
def _statements(script: str) -> list[str]:
    from sandboxes.sql.guard import split_statements

    return [s.sql.rstrip().rstrip(";").rstrip() for s in split_statements(script)]


def _join(statements: list[str]) -> str:
    return ";\n".join(statements) + ";"


def _parse(sql: str) -> Any:
    import logging

    import sqlglot

    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # it warns about SQL it keeps as a command

    try:
        return sqlglot.parse_one(sql, read="sqlite")
    except Exception:  # sqlglot raises its own errors for SQL it does not know; no mutant from those
        return None


def _emit(tree: Any) -> str:
    return str(tree.sql(dialect="sqlite"))


def _statement_mutants(sql: str) -> Iterator[tuple[str, str]]:
    """(what was changed, the changed statement) for one statement."""
    from sqlglot import exp

    tree = _parse(sql)
    if tree is None:
        return
    if isinstance(tree, (exp.Select, exp.Update, exp.Delete)) and tree.args.get("where") is not None:
        changed = tree.copy()
        changed.set("where", None)
        yield "drop WHERE", _emit(changed)
        literal = next(
            (n for n in tree.args["where"].find_all(exp.Literal) if not n.is_string and n.this.lstrip("-").isdigit()),
            None,
        )
        if literal is not None:
            changed = tree.copy()
            target = next(
                n for n in changed.args["where"].find_all(exp.Literal) if not n.is_string and n.this == literal.this
            )
            target.replace(exp.Literal.number(int(literal.this) + 1))
            yield f"change {literal.this} to {int(literal.this) + 1} in WHERE", _emit(changed)
    order = tree.args.get("order") if isinstance(tree, exp.Select) else None
    if order is not None and order.expressions:
        changed = tree.copy()
        changed.set("order", None)
        yield "drop ORDER BY", _emit(changed)
        if len(order.expressions) >= 2:
            changed = tree.copy()
            changed.args["order"].set("expressions", changed.args["order"].expressions[:-1])
            yield "drop the last ORDER BY term (the tie-breaker)", _emit(changed)
    if isinstance(tree, exp.Update) and len(tree.expressions) >= 2:
        changed = tree.copy()
        dropped = changed.expressions[-1].sql(dialect="sqlite")
        changed.set("expressions", changed.expressions[:-1])
        yield f"drop the assignment {dropped}", _emit(changed)
    index = tree.this if isinstance(tree, exp.Create) and isinstance(tree.this, exp.Index) else None
    params = index.args.get("params") if index is not None else None
    columns = params.args.get("columns") if params is not None else None
    if columns and len(columns) >= 2:
        changed = tree.copy()
        changed.this.args["params"].set("columns", list(reversed(changed.this.args["params"].args["columns"])))
        yield "reverse the index's columns", _emit(changed)
        changed = tree.copy()
        changed.this.args["params"].set("columns", changed.this.args["params"].args["columns"][:-1])
        yield "drop the index's last column", _emit(changed)


def sql_mutants(script: str) -> Iterator[tuple[str, str]]:
    """(what was changed, the changed script) for a solution's `sql`."""
    statements = _statements(script)
    for number, sql in enumerate(statements, start=1):
        where = f" (statement {number})" if len(statements) > 1 else ""
        for what, changed in _statement_mutants(sql):
            yield what + where, _join([*statements[: number - 1], changed, *statements[number:]])
    starts = [i for i, s in enumerate(statements) if _TRANSACTION_START.match(s)]
    ends = [i for i, s in enumerate(statements) if _TRANSACTION_END.match(s)]
    if starts and ends:
        kept = [s for i, s in enumerate(statements) if i not in starts and i not in ends]
        if kept:
            yield "run the statements without their transaction (each commits on its own)", _join(kept)
        rolled = [("ROLLBACK" if i in ends else s) for i, s in enumerate(statements)]
        yield "roll the transaction back instead of committing it", _join(rolled)
        writes = [i for i, s in enumerate(statements) if _WRITE.match(s) and starts[0] < i < ends[-1]]
        if len(writes) >= 2:
            split = [*statements[: writes[0] + 1], "COMMIT", "BEGIN", *statements[writes[0] + 1 :]]
            yield "commit after the first write (two transactions)", _join(split)
    for number, sql in enumerate(statements, start=1):
        if re.match(r"^\s*PRAGMA\s+\w+\s*=", sql, re.I) and not starts:
            yield (
                f"set the PRAGMA inside a transaction (statement {number})",
                _join([*statements[: number - 1], "BEGIN", sql, "COMMIT", *statements[number:]]),
            )
    body = [i for i, s in enumerate(statements) if not _TRANSACTION_START.match(s) and not _TRANSACTION_END.match(s)]
    if len(body) >= 2:
        for i in body:
            rest = [s for j, s in enumerate(statements) if j != i]
            yield f"leave out statement {i + 1}", _join(rest)


def same_sql(a: str, b: str) -> bool:
    """Whether two scripts are the same statements, written however (case, spacing, quoting)."""

    def normal(script: str) -> list[str]:
        out = []
        for sql in _statements(script):
            tree = _parse(sql)
            out.append(_emit(tree).lower() if tree is not None else " ".join(sql.split()).lower())
        return out

    return normal(a) == normal(b)


# -- requests ---------------------------------------------------------------------------------------
def _made_up(name: str, header: str | None) -> str:
    lowered = (header or "").lower()
    if lowered in _DATE_HEADERS:
        return "Sat, 01 Jan 2000 00:00:00 GMT"
    if lowered in ("if-match", "if-none-match") or "etag" in name.lower():
        return '"0123456789abcdef0123"'
    if name.lower() == "id" or name.lower().endswith("_id"):
        return "999999"
    return "made-up-" + name.lower()


def _replace(text: str, name: str, value: str) -> str:
    return text.replace("{" + name + "}", value)


def _swap_value(value: Any, name: str, made_up: str) -> Any:
    if isinstance(value, str):
        return _replace(value, name, made_up)
    if isinstance(value, list):
        return [_swap_value(v, name, made_up) for v in value]
    if isinstance(value, dict):
        return {k: _swap_value(v, name, made_up) for k, v in value.items()}
    return value


def _with_requests(action: Action, requests: list[Any]) -> Action:
    return action.model_copy(update={"requests": requests})


def request_mutants(action: Action) -> Iterator[tuple[str, Action]]:
    items: list[Any] = list(action.requests)
    numbers = {id(item): n for n, item in enumerate([i for i in items if isinstance(i, HttpRequest)], start=1)}
    for position, item in enumerate(items):
        if not isinstance(item, HttpRequest):
            continue
        number = numbers[id(item)]
        # a saved value (an ETag, a token, a cursor, an id) replaced by one the learner made up
        used: dict[str, str | None] = {}
        for header_name, value in item.headers.items():
            for name in _PLACEHOLDER.findall(value):
                used.setdefault(name, header_name)
        texts = [item.path, *map(str, item.query.values()), item.body or "", repr(item.json_body)]
        for text in texts:
            for name in _PLACEHOLDER.findall(text):
                used.setdefault(name, None)
        for name, in_header in used.items():
            made_up = _made_up(name, in_header)
            changed = item.model_copy(
                update={
                    "path": _replace(item.path, name, made_up),
                    "headers": {k: _replace(v, name, made_up) for k, v in item.headers.items()},
                    "query": {
                        k: _replace(v, name, made_up) if isinstance(v, str) else v for k, v in item.query.items()
                    },
                    "json_body": _swap_value(item.json_body, name, made_up),
                    "body": _replace(item.body, name, made_up) if item.body is not None else None,
                }
            )
            yield (
                f"send a made-up {name} in request {number} instead of the saved one",
                _with_requests(action, [*items[:position], changed, *items[position + 1 :]]),
            )
        for header in item.headers:
            if header.lower() in ("content-type", "accept"):
                continue
            changed = item.model_copy(update={"headers": {k: v for k, v in item.headers.items() if k != header}})
            yield (
                f"leave the {header} header out of request {number}",
                _with_requests(action, [*items[:position], changed, *items[position + 1 :]]),
            )
    sent = [i for i, item in enumerate(items) if isinstance(item, HttpRequest)]
    if len(sent) >= 2:
        for i in sent:
            item = items[i]
            assert isinstance(item, HttpRequest)
            later = [x for x in items[i + 1 :] if isinstance(x, HttpRequest)]
            if item.save and any(_PLACEHOLDER.search(str(x.model_dump())) for x in later):
                continue  # later requests need what it saves: leaving it out cannot even be sent
            rest = [x for j, x in enumerate(items) if j != i]
            yield f"leave out request {numbers[id(item)]}", _with_requests(action, rest)
        for a, b in itertools.pairwise(sent):
            first, second = items[a], items[b]
            assert isinstance(first, HttpRequest) and isinstance(second, HttpRequest)
            if first.model_dump() == second.model_dump() or first.save:
                continue
            if first.method in _READS and second.method in _READS and first.path != second.path:
                continue  # two reads of different resources commute: swapping them changes nothing
            swapped = list(items)
            swapped[a], swapped[b] = second, first
            yield (
                f"send request {numbers[id(second)]} before request {numbers[id(first)]}",
                _with_requests(action, swapped),
            )
    savers: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        if isinstance(item, HttpRequest):
            for name in item.save:
                savers.setdefault(name, []).append(i)
    for name, where in savers.items():
        if len(where) < 2:
            continue
        changed_items = list(items)
        for i in where[1:]:
            item = changed_items[i]
            assert isinstance(item, HttpRequest)
            changed_items[i] = item.model_copy(update={"save": {k: v for k, v in item.save.items() if k != name}})
        yield f"keep sending the first {name} after a newer one was given", _with_requests(action, changed_items)
    if action.wait is not None or any(isinstance(item, Wait) for item in items):
        changed_action = action.model_copy(update={"wait": None})
        yield (
            "do not wait (the lesson clock does not move)",
            _with_requests(changed_action, [item for item in items if not isinstance(item, Wait)]),
        )


def same_requests(a: Action, b: Action) -> bool:
    return [r.model_dump() for r in a.requests] == [r.model_dump() for r in b.requests] and a.wait == b.wait


# -- a step ------------------------------------------------------------------------------------------
def mutants(solution: Action) -> list[Mutant]:
    """The mutants of a hands-on step's solution (none for a typed answer or a build-it step's files: those
    steps' mistakes are the wrong answers the lesson declares)."""
    out: list[Mutant] = []
    seen: set[str] = set()
    if solution.sql is not None:
        for what, script in sql_mutants(solution.sql):
            key = "sql:" + script
            if key not in seen:
                seen.add(key)
                out.append(Mutant(what, solution.model_copy(update={"sql": script})))
    if solution.requests or solution.wait is not None:
        for what, changed in request_mutants(solution):
            key = "http:" + repr([r.model_dump() for r in changed.requests]) + repr(changed.wait)
            if key not in seen and not same_requests(changed, solution):
                seen.add(key)
                out.append(Mutant(what, changed))
    return out


def declared(mutant: Mutant, alternatives: list[Any]) -> Any | None:
    """The declared alternative (a right answer) that this mutant is, or None."""
    for alternative in alternatives:
        if (mutant.action.sql is None) != (alternative.sql is None):
            continue
        if mutant.action.sql is not None and not same_sql(mutant.action.sql, alternative.sql):
            continue
        if not same_requests(mutant.action, alternative):
            continue
        return alternative
    return None
