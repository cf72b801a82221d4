"""What the SQL workbench does with text and results, without Textual: the statement under the cursor,
completion from the lesson's schema, a result as CSV or JSON, and the learner's SQL kept per step.

    part = statement_at("SELECT 1;\\nSELECT 2;", 12)       # Part(text='SELECT 2;', start=10, line=2)
    complete("sel", 3, schema)                             # ['SELECT', ...] keywords, tables, columns
    write_result(path, ["id", "title"], rows)              # .csv or .json by the file's extension
    drafts = SqlDrafts(folder); drafts.save("step-1", "SELECT ..."); drafts.get("step-1")
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutor.files import write_atomic

KEYWORDS = (
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "NULL", "IS", "IN", "LIKE", "GLOB", "BETWEEN", "EXISTS",
    "ORDER", "BY", "GROUP", "HAVING", "LIMIT", "OFFSET", "ASC", "DESC", "DISTINCT", "AS", "ON", "USING",
    "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "OUTER", "CROSS", "NATURAL", "UNION", "ALL", "INTERSECT",
    "EXCEPT", "CASE", "WHEN", "THEN", "ELSE", "END", "WITH", "RECURSIVE", "VALUES", "INSERT", "INTO",
    "REPLACE", "UPDATE", "SET", "DELETE", "CREATE", "TABLE", "INDEX", "UNIQUE", "VIEW", "TRIGGER", "DROP",
    "ALTER", "ADD", "COLUMN", "RENAME", "TO", "PRIMARY", "KEY", "FOREIGN", "REFERENCES", "DEFAULT", "CHECK",
    "CONSTRAINT", "COLLATE", "BEGIN", "IMMEDIATE", "EXCLUSIVE", "DEFERRED", "TRANSACTION", "COMMIT",
    "ROLLBACK", "SAVEPOINT", "RELEASE", "EXPLAIN", "QUERY", "PLAN", "PRAGMA", "ANALYZE", "VACUUM",
    "INTEGER", "TEXT", "REAL", "BLOB", "NUMERIC", "IF", "CONFLICT", "IGNORE", "ABORT", "FAIL", "RETURNING",
    "COUNT", "SUM", "AVG", "MIN", "MAX", "TOTAL", "COALESCE", "IFNULL", "LENGTH", "LOWER", "UPPER", "SUBSTR",
    "ROUND", "ABS", "DATE", "DATETIME", "STRFTIME", "JSON_EXTRACT", "GROUP_CONCAT", "CAST", "OVER",
    "PARTITION", "ROW_NUMBER", "RANK",
)  # fmt: skip


@dataclass(frozen=True)
class Part:
    """A piece of the editor's text to run: the text, and where it starts (offset, 1-based line)."""

    text: str
    start: int
    line: int


def statement_at(script: str, offset: int) -> Part | None:
    """The statement the cursor (an offset into `script`) is in: the one whose text holds it, else the
    nearest one before it (the cursor just after a `;` or on the blank line under a statement), else
    the first one after it. None when the script holds no statement."""
    from sandboxes.sql.guard import split_statements

    statements = split_statements(script)
    if not statements:
        return None
    chosen = statements[0]
    for statement in statements:
        if statement.offset <= offset:
            chosen = statement
        else:
            break
    return Part(chosen.sql, chosen.offset, chosen.line)


def line_of(script: str, offset: int) -> int:
    return script.count("\n", 0, offset) + 1


_WORD_BEFORE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*\.)?([A-Za-z_][A-Za-z0-9_]*)?$")


def word_before(text: str, offset: int) -> tuple[str | None, str]:
    """(qualifier, prefix) of what is being typed at `offset`: `books.ti` -> ('books', 'ti')."""
    match = _WORD_BEFORE.search(text[:offset])
    if match is None:
        return None, ""
    qualifier = match.group(1)[:-1] if match.group(1) else None
    return qualifier, match.group(2) or ""


def complete(text: str, offset: int, schema: Sequence[Any]) -> tuple[str, list[str]]:
    """What the word being typed at `offset` could become, from the lesson's schema first (tables, then the
    columns of tables the statement names, then every column), then SQL keywords. Returns (the prefix to
    replace, candidates); after `table.` only that table's columns."""
    qualifier, prefix = word_before(text, offset)
    wanted = prefix.casefold()
    tables = {table.name: [column.name for column in table.columns] for table in schema}
    if qualifier is not None:
        columns = next((cols for name, cols in tables.items() if name.casefold() == qualifier.casefold()), [])
        return prefix, [c for c in columns if c.casefold().startswith(wanted)]
    named = {word.casefold() for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)}
    found: list[str] = []

    def add(word: str) -> None:
        if word.casefold().startswith(wanted) and word not in found and word.casefold() != wanted:
            found.append(word)

    for name in tables:
        add(name)
    for name, columns in tables.items():
        if name.casefold() in named:
            for column in columns:
                add(column)
    for columns in tables.values():
        for column in columns:
            add(column)
    if prefix:  # keywords only once something is typed: an empty prefix lists the schema
        for keyword in KEYWORDS:
            if keyword.casefold().startswith(wanted):
                add(keyword if prefix[:1].isupper() or not prefix else keyword.lower())
    return prefix, found


def _plain(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex()
    return value


def result_text(columns: Sequence[str], rows: Sequence[Sequence[object]], kind: str) -> str:
    """A result as CSV (a header row, NULL as an empty field) or JSON (a list of objects; blobs in hex)."""
    if kind == "json":
        return (
            json.dumps(
                [dict(zip(columns, map(_plain, row), strict=False)) for row in rows], indent=2, ensure_ascii=False
            )
            + "\n"
        )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([["" if v is None else _plain(v) for v in row] for row in rows])
    return out.getvalue()


def write_result(path: Path, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Write a result to `path`, as JSON when it ends in .json, else CSV. Returns the format used."""
    kind = "json" if path.suffix.lower() == ".json" else "csv"
    write_atomic(path, result_text(columns, rows, kind))
    return kind


class SqlDrafts:
    """The learner's SQL per step of a lesson, kept on disk: coming back to a step (or to the lesson the
    next day) puts back what they had typed."""

    FILE = "sql-drafts.json"

    def __init__(self, folder: Path) -> None:
        self.path = folder / self.FILE

    def all(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return (
            {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}
            if isinstance(data, dict)
            else {}
        )

    def get(self, step_id: str) -> str | None:
        return self.all().get(step_id)

    def save(self, step_id: str, text: str) -> None:
        drafts = self.all()
        if drafts.get(step_id, "") == text:
            return
        if text.strip():
            drafts[step_id] = text
        else:
            drafts.pop(step_id, None)
        write_atomic(self.path, json.dumps(drafts, indent=2, ensure_ascii=False) + "\n")
