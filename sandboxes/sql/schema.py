"""What is in a database: tables, their columns, indexes and foreign keys (for the schema browser and
the `sql_schema` check). Reads with PRAGMA table-valued functions only."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str
    not_null: bool
    primary_key: bool


@dataclass(frozen=True)
class IndexInfo:
    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool
    origin: str  # 'c' CREATE INDEX, 'u' UNIQUE constraint, 'pk' PRIMARY KEY
    partial: bool

    def describe(self) -> str:
        kind = "UNIQUE INDEX" if self.unique else "INDEX"
        return f"{kind} {self.name} ON {self.table}({', '.join(self.columns)})"


@dataclass(frozen=True)
class ForeignKeyInfo:
    table: str
    columns: tuple[str, ...]
    references: str
    references_columns: tuple[str | None, ...]


@dataclass(frozen=True)
class TableInfo:
    name: str
    type: str  # 'table' or 'view'
    columns: tuple[ColumnInfo, ...]
    indexes: tuple[IndexInfo, ...] = ()
    foreign_keys: tuple[ForeignKeyInfo, ...] = field(default=())

    def column(self, name: str) -> ColumnInfo | None:
        return next((c for c in self.columns if c.name.lower() == name.lower()), None)


def index_info(conn: sqlite3.Connection, name: str, table: str, unique: bool, origin: str, partial: bool) -> IndexInfo:
    rows = conn.execute("SELECT seqno, name FROM pragma_index_info(?) ORDER BY seqno", (name,)).fetchall()
    columns = tuple(c if c is not None else "<expr>" for _, c in rows)
    return IndexInfo(name, table, columns, unique, origin, partial)


def read_schema(conn: sqlite3.Connection) -> list[TableInfo]:
    """Every user table and view (sqlite_ internal tables left out), sorted by name."""
    out: list[TableInfo] = []
    conn.execute("SELECT 1 FROM sqlite_schema LIMIT 1").fetchall()  # see other connections' changes
    objects = conn.execute(
        "SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view') "
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
    ).fetchall()
    for name, kind in objects:
        columns = tuple(
            ColumnInfo(str(c[1]), str(c[2] or ""), bool(c[3]), bool(c[5]))
            for c in conn.execute("SELECT * FROM pragma_table_info(?)", (name,))
        )
        indexes = tuple(
            index_info(conn, str(i[1]), name, bool(i[2]), str(i[3]), bool(i[4]))
            for i in conn.execute("SELECT * FROM pragma_index_list(?) ORDER BY name", (name,))
        )
        groups: dict[int, list[tuple[str, str, str | None]]] = {}
        for fk in conn.execute('SELECT id, seq, "table", "from", "to" FROM pragma_foreign_key_list(?)', (name,)):
            groups.setdefault(int(fk[0]), []).append((str(fk[2]), str(fk[3]), fk[4]))
        foreign_keys = tuple(
            ForeignKeyInfo(name, tuple(g[1] for g in group), group[0][0], tuple(g[2] for g in group))
            for _, group in sorted(groups.items())
        )
        out.append(TableInfo(name, str(kind), columns, indexes, foreign_keys))
    return out


def find_table(tables: list[TableInfo], name: str) -> TableInfo | None:
    return next((t for t in tables if t.name.lower() == name.lower()), None)
