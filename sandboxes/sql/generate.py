"""Deterministic generated tables, seeded in SQL: `INSERT ... SELECT` from a recursive CTE.

Every value is a function of (generator version, table seed, table name, column name, row number n),
computed with integer arithmetic that SQLite does exactly on every platform, so every learner gets the
same rows. The recursive CTE carries one Lehmer (MINSTD) generator per table,

    x(1) = S,  x(n+1) = x(n) * 48271 % P      P = 2^31 - 1 (products stay below 2^63)

and each column draws `x * C % P` with its own multiplier C: a stream of the same generator started far
away, so columns do not move together. S and C come from a SHA-256 of the table's or column's identity.
A table is filled in chunks of rows so a progress bar can move; the state at the start of a chunk is
computed in Python (S * 48271^(first-1) % P), so the chunking never changes the data.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
from collections.abc import Callable
from datetime import date

from tutor.pack.sandbox_sql import (
    ChoiceColumn,
    DateColumn,
    FloatColumn,
    ForeignKeyColumn,
    GeneratedColumn,
    GeneratedTable,
    IntColumn,
    SequenceColumn,
    TemplateColumn,
    WordsColumn,
)

from .words import WORDS

GENERATOR_VERSION = 1
"""Bump when any generated value changes: it is part of the template cache key."""

P = 2_147_483_647
CHUNK_ROWS = 250_000
WORDS_TABLE = "temp._bt_words"

Progress = Callable[[str, float], None]


LEHMER = 48_271


def _digest_int(*parts: object) -> int:
    digest = hashlib.sha256(":".join(str(p) for p in (GENERATOR_VERSION, *parts)).encode()).digest()
    return 1 + int.from_bytes(digest[:8], "big") % (P - 1)  # in [1, P-1]


def start_state(seed: int, table: str) -> int:
    return _digest_int("state", seed, table)


def state_at(seed: int, table: str, n: int) -> int:
    """The generator's state x(n) for row n (1-based)."""
    return start_state(seed, table) * pow(LEHMER, n - 1, P) % P


def multiplier(seed: int, table: str, column: str, k: int = 0) -> int:
    return _digest_int("column", seed, table, column, k)


def draw(seed: int, table: str, column: str, k: int = 0) -> str:
    """SQL for the k-th pseudo-random integer in [1, P) of `column` at the current row (state `x`)."""
    return f"(x*{multiplier(seed, table, column, k)}%{P})"


def draw_py(seed: int, table: str, column: str, k: int, n: int) -> int:
    """The same draw in Python (tests compare the two)."""
    return state_at(seed, table, n) * multiplier(seed, table, column, k) % P


def literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _julian_day(day: date) -> int:
    return day.toordinal() + 1_721_425  # the Julian day number at noon of `day`


def column_type(column: GeneratedColumn, tables: dict[str, GeneratedTable]) -> str:
    if isinstance(column, SequenceColumn | IntColumn):
        return "INTEGER"
    if isinstance(column, FloatColumn):
        return "REAL"
    if isinstance(column, ChoiceColumn):
        if all(isinstance(v, int) and not isinstance(v, bool) for v in column.values):
            return "INTEGER"
        if all(isinstance(v, int | float) for v in column.values):
            return "REAL"
        return "TEXT"
    if isinstance(column, ForeignKeyColumn):
        target = tables[column.table]
        referenced = next(c for c in target.columns if c.name == column.column)
        return column_type(referenced, tables)
    return "TEXT"


def create_table_sql(table: GeneratedTable, tables: dict[str, GeneratedTable]) -> str:
    parts = []
    for column in table.columns:
        decl = f"{quote_ident(column.name)} {column_type(column, tables)}"
        if column.name == table.primary_key:
            decl += " PRIMARY KEY"
        elif isinstance(column, ForeignKeyColumn) and tables[column.table].primary_key == column.column:
            decl += f" REFERENCES {quote_ident(column.table)}({quote_ident(column.column)})"
        parts.append(decl)
    return f"CREATE TABLE {quote_ident(table.name)} (\n  " + ",\n  ".join(parts) + "\n)"


def _value_sql(table: GeneratedTable, column: GeneratedColumn, tables: dict[str, GeneratedTable]) -> str:
    seed, name, col = table.seed, table.name, column.name
    h = draw(seed, name, col)
    if isinstance(column, SequenceColumn):
        return f"({column.start}+(n-1)*{column.step})"
    if isinstance(column, IntColumn):
        span = column.max - column.min + 1
        if span <= P:
            return f"({column.min}+{h}%{span})"
        return f"({column.min}+CAST({h}/{float(P)}*{float(span)} AS INTEGER))"
    if isinstance(column, FloatColumn):
        # Whole units of 10^-decimals, divided once: the nearest double to the decimal, like round()
        # (which SQLite implements through text formatting, three times slower here).
        unit = 10**column.decimals
        low, high = math.ceil(column.min * unit - 1e-9), math.floor(column.max * unit + 1e-9)
        if high - low + 1 < P:
            return f"(({low}+{h}%{high - low + 1})/{float(unit)!r})"
        scale = (column.max - column.min) / (P - 2)
        return f"round({column.min!r}+({h}-1)*{scale!r},{column.decimals})"
    if isinstance(column, DateColumn):
        days = (column.end - column.start).days + 1
        return f"date({_julian_day(column.start)}+{h}%{days})"
    if isinstance(column, ChoiceColumn):
        values = column.values
        if column.weights is None or len(set(column.weights)) == 1:
            whens = " ".join(f"WHEN {i} THEN {literal(v)}" for i, v in enumerate(values[:-1]))
            if not whens:
                return literal(values[0])
            return f"(CASE {h}%{len(values)} {whens} ELSE {literal(values[-1])} END)"
        total = sum(column.weights)
        scale = 1_000_000
        cumulative = 0.0
        whens_list = []
        for value, weight in zip(values[:-1], column.weights[:-1], strict=True):
            cumulative += weight
            whens_list.append(f"WHEN {h}%{scale}<{round(cumulative / total * scale)} THEN {literal(value)}")
        return f"(CASE {' '.join(whens_list)} ELSE {literal(values[-1])} END)"
    if isinstance(column, WordsColumn):
        field = "wc" if column.capitalize else "w"

        def word(k: int) -> str:
            return f"(SELECT {field} FROM {WORDS_TABLE} WHERE i={draw(seed, name, col, k)}%{len(WORDS)})"

        low, high = column.min, max(column.min, column.max)
        count = f"({low}+{draw(seed, name, col, 100)}%{high - low + 1})" if high > low else str(low)
        pieces = [word(1)]
        for k in range(2, high + 1):
            if k <= low:
                pieces.append(f"' '||{word(k)}")
            else:
                pieces.append(f"(CASE WHEN {count}>={k} THEN ' '||{word(k)} ELSE '' END)")
        return "(" + "||".join(pieces) + ")"
    if isinstance(column, TemplateColumn):
        parts = column.template.split("{n}")
        return "(" + "||n||".join(literal(p) for p in parts) + ")"
    if isinstance(column, ForeignKeyColumn):
        target = tables[column.table]
        if target.rows == 0:
            return "NULL"
        pick = f"({h}%{target.rows})"  # 0-based row of the target table
        referenced = next(c for c in target.columns if c.name == column.column)
        if isinstance(referenced, SequenceColumn):
            return f"({referenced.start}+{pick}*{referenced.step})"
        if target.primary_key is not None:
            pk = next(c for c in target.columns if c.name == target.primary_key)
            assert isinstance(pk, SequenceColumn)
            key = f"({pk.start}+{pick}*{pk.step})"
            where = f"{quote_ident(pk.name)}={key}"
        else:
            where = f"rowid=1+{pick}"
        return f"(SELECT {quote_ident(column.column)} FROM {quote_ident(target.name)} WHERE {where})"
    raise TypeError(f"unknown column generator: {column!r}")


def column_sql(table: GeneratedTable, column: GeneratedColumn, tables: dict[str, GeneratedTable]) -> str:
    """SQL for the value of `column` at row `n` (NULLs included)."""
    value = _value_sql(table, column, tables)
    if column.null_fraction > 0 and column.name != table.primary_key:
        threshold = round(column.null_fraction * 1_000_000)
        null_draw = draw(table.seed, table.name, column.name, 200)
        return f"(CASE WHEN {null_draw}%1000000<{threshold} THEN NULL ELSE {value} END)"
    return value


def insert_sql(table: GeneratedTable, tables: dict[str, GeneratedTable], first: int, last: int) -> str:
    """Fill rows first..last (1-based, inclusive)."""
    names = ", ".join(quote_ident(c.name) for c in table.columns)
    values = ",\n  ".join(column_sql(table, c, tables) for c in table.columns)
    return (
        f"INSERT INTO {quote_ident(table.name)} ({names})\n"
        f"WITH RECURSIVE g(n, x) AS (SELECT {first}, {state_at(table.seed, table.name, first)} "
        f"UNION ALL SELECT n+1, x*{LEHMER}%{P} FROM g WHERE n<{last})\n"
        f"SELECT\n  {values}\nFROM g"
    )


def ensure_words(conn: sqlite3.Connection) -> None:
    conn.execute(f"CREATE TABLE IF NOT EXISTS {WORDS_TABLE} (i INTEGER PRIMARY KEY, w TEXT, wc TEXT)")
    conn.executemany(
        f"INSERT OR IGNORE INTO {WORDS_TABLE} VALUES (?, ?, ?)",
        [(i, w, w[:1].upper() + w[1:]) for i, w in enumerate(WORDS)],
    )


def build_tables(
    conn: sqlite3.Connection,
    tables: list[GeneratedTable],
    progress: Progress | None = None,
    *,
    start: float = 0.0,
    end: float = 1.0,
) -> None:
    """Create and fill `tables` in order on `conn`, reporting progress between `start` and `end`."""
    by_name: dict[str, GeneratedTable] = {}
    total = sum(max(t.rows, 1) for t in tables) or 1
    done = 0
    if any(isinstance(c, WordsColumn) for t in tables for c in t.columns):
        ensure_words(conn)
    for table in tables:
        by_name[table.name] = table
        conn.execute(create_table_sql(table, by_name))
        first = 1
        while first <= table.rows:
            last = min(table.rows, first + CHUNK_ROWS - 1)
            if progress is not None:
                what = f"generating {table.name}: {first - 1:,} of {table.rows:,} rows"
                progress(what, start + (end - start) * (done + first - 1) / total)
            conn.execute(insert_sql(table, by_name, first, last))
            first = last + 1
        done += max(table.rows, 1)
    if progress is not None:
        progress("tables generated", end)
