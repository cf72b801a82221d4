"""Tables whose rows a pack gives (`sandboxes.sql.tables` entries with `rows: [...]`, `csv:` or `json:`).

`read_rows` reads and checks every row against the table's declaration (types, NOT NULL, primary key,
foreign keys to earlier data tables) and reports each problem at the file and row that broke:
`data/people.csv:7:12: ...` for a CSV cell, the lesson file's line for an inline row.
`insert_tables` creates the tables from the declaration and fills them with sqlite-utils.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutor.pack.errors import PackProblem
from tutor.pack.sandbox_sql import DataColumn, DataTable
from tutor.pack.yamlpos import Located, YamlProblem, load_located
from tutor.pack.yamlpos import Path as DataPath

MAX_DATA_BYTES = 5 * 1024 * 1024
MAX_DATA_ROWS = 50_000


@dataclass
class Cell:
    """Where a value came from: a file and position, for error messages."""

    file: str
    line: int
    col: int


@dataclass
class TableRows:
    table: DataTable
    rows: list[dict[str, Any]]


class _Sink:
    def __init__(self) -> None:
        self.problems: list[PackProblem] = []

    def add(self, where: Cell, message: str) -> None:
        self.problems.append(PackProblem(where.file, where.line, where.col, message))


def _convert(column: DataColumn, value: Any, from_text: bool) -> tuple[Any, str | None]:
    """The value as stored, or an error saying what is wrong with it."""
    if value is None or (from_text and value == ""):
        if column.not_null:
            return None, f"column '{column.name}' is NOT NULL, but this row leaves it empty"
        return None, None
    if isinstance(value, dict | list):
        return (
            None,
            f"column '{column.name}' holds a {'mapping' if isinstance(value, dict) else 'list'}; give one value",
        )
    if column.type == "INTEGER":
        if isinstance(value, bool):
            return int(value), None
        if isinstance(value, int):
            return value, None
        if isinstance(value, float) and value.is_integer():
            return int(value), None
        try:
            return int(str(value).strip()), None
        except ValueError:
            return None, f"column '{column.name}' is INTEGER, but this row has {str(value)!r}"
    if column.type == "REAL":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value), None
        try:
            return float(str(value).strip()), None
        except ValueError:
            return None, f"column '{column.name}' is REAL, but this row has {str(value)!r}"
    return (value if isinstance(value, str) else json.dumps(value) if isinstance(value, bool) else str(value)), None


def _csv_field_columns(line: str) -> list[int]:
    """1-based start column of each field of one CSV line (quotes respected)."""
    starts = [1]
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            starts.append(index + 2)
    return starts


def _read_csv(path: Path, rel: str, table: DataTable, sink: _Sink) -> list[tuple[dict[str, Any], dict[str, Cell]]]:
    text = path.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    reader = csv.reader(io.StringIO(text))
    out: list[tuple[dict[str, Any], dict[str, Cell]]] = []
    try:
        header = next(reader)
    except StopIteration:
        sink.add(Cell(rel, 1, 1), "the CSV file is empty; its first line names the columns")
        return out
    except csv.Error as exc:
        sink.add(Cell(rel, 1, 1), f"not readable as CSV: {exc}")
        return out
    header = [name.strip() for name in header]
    declared = [c.name for c in table.columns]
    header_cols = _csv_field_columns(lines[0]) if lines else [1]
    for index, name in enumerate(header):
        if name not in declared:
            col = header_cols[index] if index < len(header_cols) else 1
            sink.add(
                Cell(rel, 1, col),
                f"column '{name}' is not declared in table '{table.name}' (declared: {', '.join(declared)})",
            )
    for name in declared:
        if name not in header:
            sink.add(Cell(rel, 1, 1), f"the header names no column '{name}', which table '{table.name}' declares")
    line_no = 1
    try:
        for record in reader:
            line_no = reader.line_num
            if not record:
                continue
            raw_line = lines[line_no - 1] if line_no - 1 < len(lines) else ""
            starts = _csv_field_columns(raw_line)
            if len(record) != len(header):
                sink.add(
                    Cell(rel, line_no, 1),
                    f"this row has {len(record)} fields, but the header has {len(header)}",
                )
                continue
            values: dict[str, Any] = {}
            cells: dict[str, Cell] = {}
            for index, (name, value) in enumerate(zip(header, record, strict=True)):
                values[name] = value
                cells[name] = Cell(rel, line_no, starts[index] if index < len(starts) else 1)
            out.append((values, cells))
    except csv.Error as exc:
        sink.add(Cell(rel, line_no + 1, 1), f"not readable as CSV: {exc}")
    return out


def _read_json(path: Path, rel: str, sink: _Sink) -> list[tuple[dict[str, Any], dict[str, Cell]]]:
    text = path.read_text(encoding="utf-8-sig")
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        sink.add(Cell(rel, exc.lineno, exc.colno), f"not valid JSON: {exc.msg}")
        return []
    try:
        located = load_located(text)  # JSON is YAML: this keeps each value's line and column
    except YamlProblem as problem:
        sink.add(Cell(rel, problem.pos.line, problem.pos.col), problem.message)
        return []
    if not isinstance(located.data, list):
        sink.add(Cell(rel, 1, 1), "expected a JSON list of objects (one per row)")
        return []
    return _from_located(located, (), rel, sink)


def _from_located(
    located: Located, base: DataPath, rel: str, sink: _Sink, columns: Sequence[str] = ()
) -> list[tuple[dict[str, Any], dict[str, Cell]]]:
    data: Any = located.data
    for elem in base:
        data = data[elem]
    out: list[tuple[dict[str, Any], dict[str, Cell]]] = []
    for index, row in enumerate(data):
        path = (*base, index)
        if isinstance(row, dict):
            values = dict(row)
            cells = {}
            for key in row:
                pos = located.value_pos((*path, key))
                cells[str(key)] = Cell(rel, pos.line, pos.col)
        elif isinstance(row, list) and columns:
            if len(row) != len(columns):
                pos = located.value_pos(path)
                sink.add(Cell(rel, pos.line, pos.col), f"this row has {len(row)} values for {len(columns)} columns")
                continue
            values = dict(zip(columns, row, strict=True))
            cells = {}
            for position, name in enumerate(columns):
                pos = located.value_pos((*path, position))
                cells[name] = Cell(rel, pos.line, pos.col)
        else:
            pos = located.value_pos(path)
            wanted = "a list in column order or a mapping" if columns else "an object (column -> value)"
            sink.add(Cell(rel, pos.line, pos.col), f"each row must be {wanted}")
            continue
        pos = located.value_pos(path)
        cells.setdefault("", Cell(rel, pos.line, pos.col))
        out.append((values, cells))
    return out


def read_rows(
    table: DataTable,
    *,
    pack_root: Path,
    lesson_rel: str = "",
    lesson_source: Located | None = None,
    table_path: DataPath = (),
    earlier: dict[str, TableRows],
) -> tuple[TableRows | None, list[PackProblem]]:
    """Read and check the rows of `table`. `earlier` holds the data tables built before it (for foreign keys)."""
    sink = _Sink()
    names = [c.name for c in table.columns]
    if lesson_source is None:  # building, not validating: positions come from the rows themselves
        lesson_source = load_located(json.dumps({"rows": table.rows}, default=str))
        table_path = ()
    from_text = False
    if table.rows is not None:
        raw = _from_located(lesson_source, (*table_path, "rows"), lesson_rel, sink, names)
    else:
        file = table.csv or table.json_file
        assert file is not None
        key = "csv" if table.csv else "json"
        target = (pack_root / file).resolve()
        where = lesson_source.value_pos((*table_path, key))
        here = Cell(lesson_rel, where.line, where.col)
        if not target.is_relative_to(pack_root.resolve()):
            sink.add(here, f"'{file}' points outside the pack folder")
            return None, sink.problems
        if not target.is_file():
            sink.add(here, f"file not found: '{file}' (paths are relative to the pack folder)")
            return None, sink.problems
        if target.stat().st_size > MAX_DATA_BYTES:
            sink.add(here, f"'{file}' is bigger than {MAX_DATA_BYTES // 1024 // 1024} MiB; generate big tables")
            return None, sink.problems
        rel = str(file).replace("\\", "/")
        try:
            if table.csv:
                raw = _read_csv(target, rel, table, sink)
                from_text = True
            else:
                raw = _read_json(target, rel, sink)
        except UnicodeDecodeError:
            sink.add(Cell(rel, 1, 1), "the file is not UTF-8 text")
            return None, sink.problems
    if len(raw) > MAX_DATA_ROWS:
        first = next(iter(raw[MAX_DATA_ROWS][1].values()))
        sink.add(first, f"more than {MAX_DATA_ROWS:,} rows: generate big tables instead (`rows: N` with `gen` columns)")
        return None, sink.problems
    by_name = {c.name: c for c in table.columns}
    rows: list[dict[str, Any]] = []
    seen_keys: dict[tuple[Any, ...], int] = {}
    for values, cells in raw:
        row_cell = cells.get("") or next(iter(cells.values()))
        stored: dict[str, Any] = {}
        bad = False
        for key in values:
            if str(key) not in by_name and not from_text:
                sink.add(
                    cells.get(str(key), row_cell),
                    f"column '{key}' is not declared in table '{table.name}' (declared: {', '.join(names)})",
                )
                bad = True
        for column in table.columns:
            value, error = _convert(column, values.get(column.name), from_text)
            if error:
                sink.add(cells.get(column.name, row_cell), error)
                bad = True
            stored[column.name] = value
        if bad:
            continue
        if table.pk_columns:
            key_value = tuple(stored[c] for c in table.pk_columns)
            if any(v is None for v in key_value):
                sink.add(
                    cells.get(table.pk_columns[0], row_cell),
                    f"the primary key ({', '.join(table.pk_columns)}) is empty",
                )
                continue
            if key_value in seen_keys:
                sink.add(
                    cells.get(table.pk_columns[0], row_cell),
                    f"primary key {', '.join(map(str, key_value))} is used twice in table '{table.name}' "
                    f"(first in row {seen_keys[key_value]})",
                )
                continue
            seen_keys[key_value] = len(rows) + 1
        for column in table.columns:
            if column.references is None or stored[column.name] is None:
                continue
            target_name, _, target_column = column.references.partition(".")
            ref_table = earlier.get(target_name) if target_name != table.name else TableRows(table, rows)
            if ref_table is None:
                continue  # a generated table: SQLite enforces the key when the rows are inserted
            ref_column = target_column or (ref_table.table.pk_columns[:1] or ["rowid"])[0]
            known = {r.get(ref_column) for r in ref_table.rows}
            if stored[column.name] not in known:
                sink.add(
                    cells.get(column.name, row_cell),
                    f"column '{column.name}' refers to {target_name}.{ref_column} = {stored[column.name]!r}, "
                    f"but table '{target_name}' has no such row",
                )
                bad = True
        if not bad:
            rows.append(stored)
    return TableRows(table, rows), sink.problems


def references_of(column: DataColumn, tables: dict[str, DataTable]) -> tuple[str, str] | None:
    if column.references is None:
        return None
    target_name, _, target_column = column.references.partition(".")
    if not target_column:
        target = tables.get(target_name)
        target_column = target.pk_columns[0] if target is not None and target.pk_columns else "id"
    return target_name, target_column


def insert_tables(conn: sqlite3.Connection, tables: list[DataTable], pack_root: Path) -> None:
    """Create each table from its declaration and insert its rows, with sqlite-utils.
    Raises ValueError with the first problems when the data does not fit the declaration."""
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    known = {t.name: t for t in tables}
    earlier: dict[str, TableRows] = {}
    for table in tables:
        entry, problems = read_rows(table, pack_root=pack_root, earlier=earlier)
        if problems or entry is None:
            raise ValueError("; ".join(str(p) for p in problems[:5]))
        earlier[table.name] = entry
        foreign_keys = []
        for column in table.columns:
            ref = references_of(column, known)
            if ref is not None:
                foreign_keys.append((column.name, ref[0], ref[1]))
        created = db.table(table.name)
        created.create(
            {c.name: c.type for c in table.columns},
            pk=(table.pk_columns[0] if len(table.pk_columns) == 1 else tuple(table.pk_columns))
            if table.pk_columns
            else None,
            not_null={c.name for c in table.columns if c.not_null},
            foreign_keys=foreign_keys or None,
        )
        if entry.rows:
            created.insert_all(entry.rows, batch_size=1000)
