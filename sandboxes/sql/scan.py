"""What the SQL guard would refuse in a text, found without running it, with where it is written.

`pack validate` reports these at FILE:LINE:COL for a pack's own SQL (the setup `sql` and `scripts`,
check queries, and the `sql` of solutions, wrong answers and alternatives), every one in one run; the
guard refuses the same statements when they run (`sandboxes.sql.guard.deny_reason`, the one place the
rules live). A statement is read as SQLite tokens (strings, quoted names and comments respected):

    refusals("CREATE TABLE t(a); ATTACH 'x.db' AS o", "setup")
    # [Refusal(offset=19, token="ATTACH", message="ATTACH and VACUUM INTO are not allowed ...")]

Only a quick look: a statement that names nothing the guard watches (ATTACH, DETACH, VACUUM, PRAGMA, a
denied function or table) is not tokenized at all.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from .guard import DENIED_FUNCTIONS, DENIED_TABLES, Rules, deny_reason, split_statements

_WATCHED = sorted({"attach", "detach", "vacuum", "pragma", *DENIED_FUNCTIONS, *DENIED_TABLES}, key=len, reverse=True)
_QUICK = re.compile("|".join(re.escape(w) for w in _WATCHED), re.I)

_TOKEN = re.compile(
    r"""
    (?P<space>\s+|--[^\n]*|/\*.*?(?:\*/|\Z))
    | (?P<blob>[xX]'[^']*')
    | (?P<string>'(?:[^']|'')*')
    | (?P<ident>"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\])
    | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<number>[0-9][0-9A-Za-z_.]*|\.[0-9][0-9A-Za-z_]*)
    | (?P<punct>.)
    """,
    re.S | re.X,
)

_NAME_AFTER = frozenset({"table", "into", "view", "index", "exists", "references", "trigger", "on", "update"})
"""Words after which `name(` names a table or an index being made, not a function call."""


@dataclass(frozen=True)
class Token:
    kind: str  # word, ident, string, blob, number, punct
    value: str  # words and quoted names in lower case and unquoted; strings unquoted
    offset: int
    raw: str


@dataclass(frozen=True)
class Refusal:
    offset: int  # where the refused token starts in the text given
    token: str  # the token as written there
    message: str


def tokens(sql: str) -> list[Token]:
    out: list[Token] = []
    for match in _TOKEN.finditer(sql):
        kind = match.lastgroup or "punct"
        raw = match.group()
        if kind == "space":
            continue
        if kind == "word":
            value = raw.lower()
        elif kind == "ident":
            inner = raw[1:-1]
            value = (inner.replace('""', '"') if raw[0] == '"' else inner.replace("``", "`")).lower()
        elif kind == "string":
            value = raw[1:-1].replace("''", "'")
        else:
            value = raw
        out.append(Token(kind, value, match.start(), raw))
    return out


def _words(found: list[Token]) -> list[str]:
    return [t.value for t in found if t.kind == "word"]


def _statement_refusals(found: list[Token], rules: Rules) -> list[tuple[Token, str]]:
    out: list[tuple[Token, str]] = []
    if not found:
        return out
    first = found[0]
    head = first.value if first.kind == "word" else ""
    if head == "attach":
        rest = found[1:]
        if rest and rest[0].kind == "word" and rest[0].value == "database":
            rest = rest[1:]
        upto_as = []
        for token in rest:
            if token.kind == "word" and token.value == "as":
                break
            upto_as.append(token)
        scratch = len(upto_as) == 1 and upto_as[0].kind == "string" and upto_as[0].value == ""
        reason = deny_reason(sqlite3.SQLITE_ATTACH, "" if scratch else "file", None, rules)
        if reason:
            out.append(
                (first, reason.replace("ATTACH and VACUUM INTO are", "ATTACH is").replace("they reach", "it reaches"))
            )
    elif head == "detach":
        reason = deny_reason(sqlite3.SQLITE_DETACH, None, None, rules)
        if reason:
            out.append((first, reason))
    elif head == "vacuum" and "into" in _words(found):
        if deny_reason(sqlite3.SQLITE_ATTACH, "file", None, rules):
            out.append((first, "VACUUM INTO is not allowed here: it writes a file outside the lesson database"))
    elif head == "pragma" and len(found) > 1:
        rest = found[1:]
        if len(rest) >= 3 and rest[1].raw == ".":
            rest = rest[2:]  # schema.name
        name = rest[0].value
        value = None
        if len(rest) >= 3 and rest[1].raw in ("=", "("):
            value = rest[2].value if rest[2].raw != "-" or len(rest) < 4 else "-" + rest[3].value
        reason = deny_reason(sqlite3.SQLITE_PRAGMA, name, value, rules)
        if reason:
            out.append((rest[0], reason))
    for index, token in enumerate(found):
        if token.kind not in ("word", "ident"):
            continue
        following = found[index + 1] if index + 1 < len(found) else None
        before = found[index - 1] if index > 0 else None
        if following is not None and following.raw == "(":
            if before is not None and before.kind == "word" and before.value in _NAME_AFTER:
                continue
            if token.value.startswith("pragma_"):
                argument = found[index + 2] if index + 2 < len(found) and found[index + 2].raw != ")" else None
                reason = deny_reason(
                    sqlite3.SQLITE_PRAGMA,
                    token.value.removeprefix("pragma_"),
                    argument.value if argument else None,
                    rules,
                )
            else:
                reason = deny_reason(sqlite3.SQLITE_FUNCTION, None, token.value, rules)
            if reason:
                out.append((token, reason))
        elif token.value in DENIED_TABLES:
            reason = deny_reason(sqlite3.SQLITE_READ, token.value, None, rules)
            if reason:
                out.append((token, reason))
        elif token.value.startswith("pragma_") and before is not None and before.value in ("from", "join", ","):
            reason = deny_reason(sqlite3.SQLITE_PRAGMA, token.value.removeprefix("pragma_"), None, rules)
            if reason:
                out.append((token, reason))
    return out


def refusals(sql: str, rules: Rules = "learner") -> list[Refusal]:
    """Every statement of `sql` the guard would refuse under `rules`, with where its token stands."""
    if not _QUICK.search(sql):
        return []
    out: list[Refusal] = []
    for statement in split_statements(sql):
        if not _QUICK.search(statement.sql):
            continue
        for token, reason in _statement_refusals(tokens(statement.sql), rules):
            out.append(Refusal(statement.offset + token.offset, token.raw, reason.replace(" here", "")))
    return out
