"""`sql_schema`: tables, indexes (columns in order, unique), columns (type, NOT NULL, primary key) and
foreign keys of the learner's live database."""

from __future__ import annotations

from sandboxes.sql.schema import TableInfo, find_table, read_schema
from tutor.checks import register
from tutor.checks.base import CheckContext, CheckResult
from tutor.pack.specs_sql import SqlSchemaCheck


def _cols(columns: list[str] | tuple[str, ...]) -> str:
    return "(" + ", ".join(columns) + ")"


def _indexes_of(table: TableInfo) -> str:
    if not table.indexes:
        return f"{table.name} has no indexes"
    return f"{table.name} has: " + "; ".join(i.describe() for i in table.indexes)


@register("sql_schema")
def check_sql_schema(spec: SqlSchemaCheck, ctx: CheckContext) -> CheckResult:
    evidence = ctx.need_sql()
    tables = read_schema(evidence.connect())
    problems: list[str] = []
    details: list[str] = []
    for name in spec.tables:
        if find_table(tables, name) is None:
            problems.append(f"There is no table {name}.")
    for want in spec.indexes:
        table = find_table(tables, want.table)
        if table is None:
            problems.append(f"There is no table {want.table}, so no index on it.")
            continue
        wanted = [c.lower() for c in want.columns]
        matches = [i for i in table.indexes if [c.lower() for c in i.columns] == wanted]
        label = f"{want.table}{_cols(want.columns)}"
        if not want.exists:
            if matches:
                problems.append(f"The index {matches[0].name} on {label} still exists.")
            continue
        if not matches:
            leading = [i for i in table.indexes if [c.lower() for c in i.columns[: len(wanted)]] == wanted]
            if leading:
                problems.append(
                    f"No index on exactly {label}: {leading[0].name} is on {want.table}{_cols(leading[0].columns)}."
                )
            else:
                problems.append(f"There is no index on {label}.")
            details.append(_indexes_of(table))
            continue
        if want.unique is not None and not any(i.unique == want.unique for i in matches):
            problems.append(f"The index {matches[0].name} on {label} should {'' if want.unique else 'not '}be UNIQUE.")
    for want_column in spec.columns:
        table = find_table(tables, want_column.table)
        if table is None:
            problems.append(f"There is no table {want_column.table}.")
            continue
        column = table.column(want_column.name)
        if column is None:
            problems.append(
                f"{want_column.table} has no column {want_column.name} "
                f"(it has {', '.join(c.name for c in table.columns)})."
            )
            continue
        where = f"{want_column.table}.{want_column.name}"
        if want_column.type is not None and column.type.lower() != want_column.type.lower():
            problems.append(f"{where} is declared {column.type or '(no type)'}, expected {want_column.type}.")
        if want_column.not_null is not None and column.not_null != want_column.not_null:
            problems.append(f"{where} should {'' if want_column.not_null else 'not '}be NOT NULL.")
        if want_column.primary_key is not None and column.primary_key != want_column.primary_key:
            problems.append(f"{where} should {'' if want_column.primary_key else 'not '}be the PRIMARY KEY.")
    for fk in spec.foreign_keys:
        table = find_table(tables, fk.table)
        if table is None:
            problems.append(f"There is no table {fk.table}.")
            continue
        wanted = [c.lower() for c in fk.columns]
        found = [
            f
            for f in table.foreign_keys
            if [c.lower() for c in f.columns] == wanted and f.references.lower() == fk.references.lower()
        ]
        if fk.references_columns is not None:
            target = [c.lower() for c in fk.references_columns]
            found = [
                f
                for f in found
                if [str(c or "").lower() for c in f.references_columns] == target
                or all(c is None for c in f.references_columns)
            ]
        if not found:
            problems.append(f"{fk.table}{_cols(fk.columns)} has no FOREIGN KEY referencing {fk.references}.")
            if table.foreign_keys:
                details.append(
                    f"{fk.table} has: " + "; ".join(f"{_cols(f.columns)} -> {f.references}" for f in table.foreign_keys)
                )
    if not problems:
        return CheckResult(True, "Right: the schema has what the step asks for.")
    return CheckResult(False, problems[0], details=(*problems[1:], *details))
