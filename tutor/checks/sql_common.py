"""What the SQL check kinds share: running a query on the tutor's connection, comparing result sets
(ordered or not, NULL-aware, with a float tolerance) and saying precisely how two results differ."""

from __future__ import annotations

import math
import re
import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tutor.checks.base import CheckUnavailable, SqlEvidence, shorten

SAMPLE = 5
Row = tuple[object, ...]


def fmt_value(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return f"x'{value[:16].hex()}{'...' if len(value) > 16 else ''}'"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value + "'"
    return str(value)


def fmt_row(row: Sequence[object]) -> str:
    return shorten("(" + ", ".join(fmt_value(v) for v in row) + ")", 160)


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def run_query(conn: sqlite3.Connection, sql: str) -> tuple[list[str], list[Row]]:
    cursor = conn.execute(sql)
    columns = [d[0] for d in cursor.description or ()]
    return columns, [tuple(r) for r in cursor.fetchall()]


def learner_query(evidence: SqlEvidence) -> str:
    query = evidence.last_query()
    if query is None:
        raise CheckUnavailable(
            "there is no query to check yet: run your SELECT in the SQL workbench (or with sqlite3 "
            "through the workbench), then check"
        )
    return query


def _same_value(a: object, b: object, tolerance: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        if isinstance(a, int) and isinstance(b, int):
            return a == b
        return math.isclose(float(a), float(b), rel_tol=0.0, abs_tol=tolerance) or float(a) == float(b)
    return type(a) is type(b) and a == b


def same_row(a: Row, b: Row, tolerance: float) -> bool:
    return len(a) == len(b) and all(_same_value(x, y, tolerance) for x, y in zip(a, b, strict=True))


def _key(row: Row, digits: int) -> tuple[object, ...]:
    out: list[object] = []
    for value in row:
        if isinstance(value, float):
            out.append(("n", int(value)) if value.is_integer() and abs(value) < 2**53 else ("n", round(value, digits)))
        elif isinstance(value, int) and not isinstance(value, bool):
            out.append(("n", value))
        else:
            out.append((type(value).__name__, value))
    return tuple(out)


def _digits(tolerance: float) -> int:
    if tolerance <= 0:
        return 15
    return max(0, min(15, math.ceil(-math.log10(tolerance))))


@dataclass
class Comparison:
    """How `got` differs from `expected`; empty `problems` means equal."""

    same: bool
    summary: str = ""
    expected: str | None = None
    got: str | None = None
    first_difference: str | None = None
    details: list[str] = field(default_factory=list)


def _some(count: int) -> str:
    """'1 row', '3 rows', or '40 rows (the first 5 shown)'."""
    text = plural(count, "row")
    return text + (f" (the first {SAMPLE} shown)" if count > SAMPLE else "")


def compare_rows(expected: list[Row], got: list[Row], *, ordered: bool, tolerance: float) -> Comparison:
    """Compare two result sets. Unordered: as multisets. Ordered: row by row, and when only the order
    differs, say so."""
    digits = _digits(tolerance)
    want = Counter(_key(r, digits) for r in expected)
    have = Counter(_key(r, digits) for r in got)
    as_sets_equal = want == have
    if ordered:
        if len(expected) == len(got) and all(same_row(a, b, tolerance) for a, b in zip(expected, got, strict=True)):
            return Comparison(True)
        if as_sets_equal:
            index = next(i for i, (a, b) in enumerate(zip(expected, got, strict=True)) if not same_row(a, b, tolerance))
            return Comparison(
                False,
                "The right rows, in the wrong order: the order matters here (ORDER BY).",
                first_difference=(f"row {index + 1}: expected {fmt_row(expected[index])}, got {fmt_row(got[index])}"),
            )
    elif as_sets_equal:
        return Comparison(True)
    missing = list((want - have).elements())
    extra = list((have - want).elements())
    originals_want = {_key(r, digits): r for r in expected}
    originals_have = {_key(r, digits): r for r in got}
    result = Comparison(False)
    if len(expected) != len(got):
        result.summary = f"Different rows: expected {plural(len(expected), 'row')}, got {len(got):,}."
    else:
        result.summary = f"Same number of rows ({len(got):,}), but not the same rows."
    result.expected = plural(len(expected), "row")
    result.got = plural(len(got), "row")
    if ordered:
        limit = min(len(expected), len(got))
        index = next((i for i in range(limit) if not same_row(expected[i], got[i], tolerance)), limit)
        if index < limit:
            result.first_difference = f"row {index + 1}: expected {fmt_row(expected[index])}, got {fmt_row(got[index])}"
        elif len(expected) > len(got):
            result.first_difference = f"row {index + 1} is missing: expected {fmt_row(expected[index])}"
        else:
            result.first_difference = f"row {index + 1} should not be there: got {fmt_row(got[index])}"
    if missing:
        result.details.append(f"missing: {_some(len(missing))}:")
        result.details.extend(f"  {fmt_row(originals_want[k])}" for k in missing[:SAMPLE])
    if extra:
        result.details.append(f"extra: {_some(len(extra))}:")
        result.details.extend(f"  {fmt_row(originals_have[k])}" for k in extra[:SAMPLE])
    return result


def _words(text: str) -> str:
    return " ".join(text.split()).upper()


def starts_with(sql: str, keyword: str) -> bool:
    """Whether `sql` begins with the words `keyword` (case and spacing folded, comments skipped)."""
    from sandboxes.sql.guard import strip_leading

    head = _words(strip_leading(sql))
    want = _words(keyword)
    return head == want or head.startswith(want + " ") or head.startswith(want + ";") or head.startswith(want + "(")


_MAIN_VERBS = frozenset({"SELECT", "VALUES", "INSERT", "REPLACE", "UPDATE", "DELETE"})


def after_common_table_expressions(sql: str) -> str | None:
    """`WITH name AS (...), ... SELECT ...` -> the statement from its main verb on (`SELECT ...`);
    None when `sql` does not start with WITH."""
    from sandboxes.sql.guard import strip_leading

    body = strip_leading(sql)
    words = top_level_words(body)
    if not words or words[0][1] != "WITH":
        return None
    return next((body[offset:] for offset, word in words[1:] if word in _MAIN_VERBS), None)


def statement_fits(rule: Any, sql: str) -> bool:
    """`rule` has `keyword` and `pattern` (either may be None): whether `sql` fits both. A statement
    that names common table expressions first (`WITH last AS (...) SELECT ...`) starts with its main
    verb, as SQLite runs it."""
    if rule.keyword is not None and not starts_with(sql, rule.keyword):
        main = after_common_table_expressions(sql)
        if main is None or not starts_with(main, rule.keyword):
            return False
    return rule.pattern is None or re.search(rule.pattern, sql, re.I | re.S) is not None


_SCAN = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|--[^\n]*|/\*.*?(?:\*/|$)|[()]|[A-Za-z_]+|.""", re.S
)


def top_level_words(sql: str) -> list[tuple[int, str]]:
    """(offset, upper-cased word) of each keyword-like word outside brackets, strings and comments."""
    depth = 0
    out: list[tuple[int, str]] = []
    for match in _SCAN.finditer(sql):
        piece = match.group(0)
        if piece == "(":
            depth += 1
        elif piece == ")":
            depth = max(0, depth - 1)
        elif depth == 0 and (piece[0].isalpha() or piece[0] == "_"):
            out.append((match.start(), piece.upper()))
    return out


def with_tie_breakers(query: str, width: int, direction: str) -> str | None:
    """`query` with every result column added, in `direction`, after its own top-level ORDER BY terms:
    rows its ORDER BY leaves tied come out in another order; rows it orders fully do not move. None when
    the query has no top-level ORDER BY (reversing unordered SELECTs covers those)."""
    text = query.strip().rstrip(";").rstrip()
    words = top_level_words(text)
    orders = [i for i, (_, w) in enumerate(words[:-1]) if w == "ORDER" and words[i + 1][1] == "BY"]
    if not orders or width < 1:
        return None
    after = orders[-1] + 2
    end = next((offset for offset, w in words[after:] if w in ("LIMIT", "OFFSET")), len(text))
    extra = ", ".join(f"{n} {direction}" for n in range(1, width + 1))
    return f"{text[:end].rstrip()}, {extra} {text[end:]}".rstrip()
