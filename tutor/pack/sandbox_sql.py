"""The `sandboxes.sql` settings of a lesson: the lesson database, built from generated tables and scripts.

Build order: generated `tables` in the order given (so a foreign key can name an earlier table), then
`scripts` in order, then the inline `sql`. The result is cached as a template keyed by the content of
this definition (scripts included); each lesson start and each reset gets a fresh copy.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from tutor.pack.base import Identifier, Model, NonEmpty, PackPath

MAX_ROWS = 5_000_000


class _Column(Model):
    name: Identifier
    null_fraction: float = Field(default=0.0, ge=0, le=1, description="Share of rows where the value is NULL.")


class SequenceColumn(_Column):
    """1, 2, 3, ... (or start, start+step, ...). A sequence named in `primary_key` is the table's rowid."""

    gen: Literal["sequence"]
    start: int = 1
    step: int = 1


class IntColumn(_Column):
    """A uniformly random integer in [min, max]."""

    gen: Literal["int"]
    min: int
    max: int

    @model_validator(mode="after")
    def _range(self) -> IntColumn:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class FloatColumn(_Column):
    """A uniformly random real in [min, max], rounded to `decimals`."""

    gen: Literal["float"]
    min: float
    max: float
    decimals: int = Field(default=2, ge=0, le=10)

    @model_validator(mode="after")
    def _range(self) -> FloatColumn:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class DateColumn(_Column):
    """A random date in [start, end], stored as ISO text (YYYY-MM-DD)."""

    gen: Literal["date"]
    start: date
    end: date

    @model_validator(mode="after")
    def _range(self) -> DateColumn:
        if self.start > self.end:
            raise ValueError(f"start ({self.start}) is after end ({self.end})")
        return self


class ChoiceColumn(_Column):
    """One of `values`, picked with the given `weights` (equal when omitted)."""

    gen: Literal["choice"]
    values: list[str | int | float] = Field(min_length=1)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _weights(self) -> ChoiceColumn:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(f"{len(self.weights)} weights for {len(self.values)} values")
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("weights must be non-negative and not all zero")
        return self


class WordsColumn(_Column):
    """`min` to `max` words from a built-in word list, joined by spaces (titles, names)."""

    gen: Literal["words"]
    min: int = Field(default=1, ge=1)
    max: int = Field(default=3, ge=1, le=20)
    capitalize: bool = True


class TemplateColumn(_Column):
    """Text from a template where `{n}` is the row number: 'user{n}@example.com'."""

    gen: Literal["template"]
    template: NonEmpty


class ForeignKeyColumn(_Column):
    """The key of a random row of an earlier generated table."""

    gen: Literal["foreign_key"]
    table: Identifier
    column: Identifier = "id"


GeneratedColumn = Annotated[
    SequenceColumn
    | IntColumn
    | FloatColumn
    | DateColumn
    | ChoiceColumn
    | WordsColumn
    | TemplateColumn
    | ForeignKeyColumn,
    Field(discriminator="gen"),
]


class GeneratedTable(Model):
    """A table filled with deterministic generated rows: the same `seed` gives every learner the same data."""

    name: Identifier
    rows: int = Field(ge=0, le=MAX_ROWS)
    seed: int = 0
    primary_key: Identifier | None = Field(
        default=None, description="A `sequence` column that becomes INTEGER PRIMARY KEY."
    )
    columns: list[GeneratedColumn] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> GeneratedTable:
        names = [column.name for column in self.columns]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"column names used twice: {', '.join(duplicates)}")
        if self.primary_key is not None:
            match = [c for c in self.columns if c.name == self.primary_key]
            if not match:
                raise ValueError(f"primary_key '{self.primary_key}' is not one of the columns: {', '.join(names)}")
            if not isinstance(match[0], SequenceColumn):
                raise ValueError(f"primary_key '{self.primary_key}' must be a `sequence` column")
        return self


ColumnType = Literal["INTEGER", "REAL", "TEXT", "BLOB"]


class DataColumn(Model):
    """A declared column of a table whose rows the pack gives (inline, CSV or JSON)."""

    name: Identifier
    type: ColumnType = Field(default="TEXT", description="The SQLite column type; values are converted to it.")
    not_null: bool = Field(default=False, description="NOT NULL: an empty CSV cell or a null is an error.")
    references: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$",
        description="A foreign key: 'table' or 'table.column' (default column: that table's primary key).",
    )


class DataTable(Model):
    """A small table with real rows: given inline (`rows` as a list), or from a `csv` or `json` file in the pack.
    Built with sqlite-utils from the declaration: column types, primary key, NOT NULL and foreign keys."""

    name: Identifier
    columns: list[DataColumn] = Field(min_length=1, description="Every column, in order.")
    primary_key: Identifier | list[Identifier] | None = Field(
        default=None, description="A column (or a list of columns) that is the table's primary key."
    )
    rows: list[list[Any] | dict[str, Any]] | None = Field(
        default=None, description="Inline rows: lists in column order, or mappings column -> value."
    )
    csv: PackPath | None = Field(default=None, description="A CSV file with a header line naming the columns.")
    json_file: PackPath | None = Field(
        default=None, alias="json", description="A JSON file holding a list of objects (column -> value)."
    )

    @property
    def pk_columns(self) -> list[str]:
        if self.primary_key is None:
            return []
        return [self.primary_key] if isinstance(self.primary_key, str) else list(self.primary_key)

    @model_validator(mode="after")
    def _check(self) -> DataTable:
        given = [
            key
            for key, value in (("rows", self.rows), ("csv", self.csv), ("json", self.json_file))
            if value is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "give the rows in exactly one way: `rows` (a list), `csv: FILE` or `json: FILE`"
                + (f"; this table gives {' and '.join(given)}" if given else "")
            )
        names = [column.name for column in self.columns]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"column names used twice: {', '.join(duplicates)}")
        for key in self.pk_columns:
            if key not in names:
                raise ValueError(f"primary_key '{key}' is not one of the columns: {', '.join(names)}")
        return self


def _table_kind(value: Any) -> str:
    if isinstance(value, dict):
        columns = value.get("columns")
        keys = {k for c in columns if isinstance(c, dict) for k in c} if isinstance(columns, list) else set()
        if "gen" in keys:
            return "GeneratedTable"
        if keys & {"type", "not_null", "references"}:
            return "DataTable"
        if isinstance(value.get("rows"), list) or "csv" in value or "json" in value:
            return "DataTable"
        return "GeneratedTable"
    return "DataTable" if isinstance(value, DataTable) else "GeneratedTable"


TableSpec = Annotated[
    Annotated[GeneratedTable, Tag("GeneratedTable")] | Annotated[DataTable, Tag("DataTable")],
    Discriminator(_table_kind),
]


class SqlSettings(Model):
    tables: list[TableSpec] = Field(
        default_factory=list,
        description="Generated tables (`rows: N` and `gen` columns) or tables with real rows "
        "(`rows: [...]`, `csv: FILE` or `json: FILE`), built in this order.",
    )
    scripts: list[PackPath] = Field(default_factory=list, description="SQL files run after the tables are built.")
    sql: str | None = Field(default=None, description="Inline SQL run last.")
    time_limit: float = Field(
        default=3.0, gt=0, le=60, description="Seconds one learner statement may run before it is stopped."
    )
    memory_limit: int = Field(
        default=256,
        ge=32,
        le=4096,
        description="Megabytes of memory one learner statement (or a check's re-run of the learner's query) "
        "may use before it is stopped.",
    )

    @model_validator(mode="after")
    def _check(self) -> SqlSettings:
        seen: list[str] = []
        for table in self.tables:
            if table.name in seen:
                raise ValueError(f"table '{table.name}' is generated twice")
            if isinstance(table, DataTable):
                for data_column in table.columns:
                    target_name = (data_column.references or "").split(".")[0]
                    if data_column.references and target_name not in seen and target_name != table.name:
                        raise ValueError(
                            f"table '{table.name}' column '{data_column.name}' refers to '{target_name}', "
                            "which is not a table built before it"
                        )
                seen.append(table.name)
                continue
            for column in table.columns:
                if isinstance(column, ForeignKeyColumn) and column.table not in seen:
                    raise ValueError(
                        f"table '{table.name}' column '{column.name}' refers to '{column.table}', "
                        "which is not a table generated before it"
                    )
                if isinstance(column, ForeignKeyColumn):
                    target = next(t for t in self.tables if t.name == column.table)
                    if isinstance(target, DataTable):
                        raise ValueError(
                            f"table '{table.name}' column '{column.name}' is a generated foreign key to "
                            f"'{column.table}', whose rows the pack gives; a generated key can refer only to a "
                            "generated table"
                        )
                    names = [c.name for c in target.columns]
                    if column.column not in names:
                        raise ValueError(
                            f"table '{table.name}' column '{column.name}' refers to "
                            f"'{column.table}.{column.column}', but '{column.table}' has no column "
                            f"'{column.column}' (it has {', '.join(names)})"
                        )
            seen.append(table.name)
        if not (self.tables or self.scripts or self.sql):
            raise ValueError("give `tables`, `scripts` or `sql` to build the lesson database from")
        return self
