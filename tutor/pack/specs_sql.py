"""Check kinds that read the lesson's SQLite database and the statements the learner ran."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, model_validator

from tutor.pack.base import Identifier, Model, NonEmpty


class SqlResultCheck(Model):
    """The result of the learner's last query equals the result of `reference`."""

    kind: Literal["sql_result"]
    reference: NonEmpty = Field(description="The reference query, run on the tutor's own connection.")
    ordered: bool = Field(default=False, description="Row order matters (use when the task says ORDER BY).")
    match_column_names: bool = False
    float_tolerance: float = Field(default=1e-9, ge=0)


class IndexUse(Model):
    table: Identifier
    columns: list[Identifier] | None = Field(
        default=None, description="The leading columns the index search must use, in order."
    )
    index: Identifier | None = Field(default=None, description="The index's name, when it matters.")
    covering: bool | None = Field(default=None, description="true: must be a covering index.")


class SqlPlanCheck(Model):
    """The plan (EXPLAIN QUERY PLAN) of `query`, or of the learner's last query, has the given shape."""

    kind: Literal["sql_plan"]
    query: str | None = Field(default=None, description="The statement to plan; default: the learner's last query.")
    uses_index: IndexUse | None = None
    no_full_scan: list[Identifier] = Field(
        default_factory=list, description="Tables that must not be read by a full SCAN."
    )
    full_scan: list[Identifier] = Field(
        default_factory=list, description="Tables that must still be scanned (a 'feel the slow plan' step)."
    )
    sorts: bool | None = Field(
        default=None,
        description=(
            "false: the plan must not sort in a temporary B-tree (`USE TEMP B-TREE FOR ORDER BY`: "
            "an index already gives the order); true: it must."
        ),
    )

    @model_validator(mode="after")
    def _check(self) -> SqlPlanCheck:
        if self.uses_index is None and not self.no_full_scan and not self.full_scan and self.sorts is None:
            raise ValueError("give `uses_index`, `no_full_scan`, `full_scan` or `sorts`")
        return self


class IndexExpect(Model):
    table: Identifier
    columns: list[Identifier] = Field(min_length=1, description="Indexed columns, in order.")
    unique: bool | None = None
    exists: bool = Field(default=True, description="false: no such index may exist (a 'drop it' step).")


class ColumnExpect(Model):
    table: Identifier
    name: Identifier
    type: str | None = Field(default=None, description="Declared type, compared case-insensitively.")
    not_null: bool | None = None
    primary_key: bool | None = None


class ForeignKeyExpect(Model):
    table: Identifier
    columns: list[Identifier] = Field(min_length=1)
    references: Identifier
    references_columns: list[Identifier] | None = None


class SqlSchemaCheck(Model):
    """The database's schema has the given indexes, columns, foreign keys and tables."""

    kind: Literal["sql_schema"]
    tables: list[Identifier] = Field(default_factory=list, description="Tables that must exist.")
    indexes: list[IndexExpect] = Field(default_factory=list)
    columns: list[ColumnExpect] = Field(default_factory=list)
    foreign_keys: list[ForeignKeyExpect] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> SqlSchemaCheck:
        if not (self.tables or self.indexes or self.columns or self.foreign_keys):
            raise ValueError("give at least one of `tables`, `indexes`, `columns`, `foreign_keys`")
        return self


class SqlStateCheck(Model):
    """After the learner's statements, `query` returns `expect` (rows as lists of values)."""

    kind: Literal["sql_state"]
    query: NonEmpty
    expect: list[list[Any]]
    ordered: bool = False
    float_tolerance: float = Field(default=1e-9, ge=0)


class SqlCostCheck(Model):
    """`query` costs at least `min_factor` times fewer SQLite VM steps than on the lesson's starting database."""

    kind: Literal["sql_cost"]
    query: NonEmpty
    min_factor: float = Field(gt=1)


class StatementExpect(Model):
    """One statement the learner must have run since the step opened."""

    keyword: str | None = Field(
        default=None,
        description="The words it starts with, e.g. `EXPLAIN QUERY PLAN`, `UPDATE`, `BEGIN` (case and spacing folded).",
    )
    pattern: str | None = Field(
        default=None, description="A regular expression searched in the statement (case-insensitive)."
    )
    transaction: Literal["any", "none", "committed", "rolled_back"] = Field(
        default="any",
        description=(
            "`committed`: it ran inside BEGIN ... that was later committed; `rolled_back`: inside one that "
            "was rolled back; `none`: outside any transaction (it committed on its own)."
        ),
    )
    missing: str | None = Field(
        default=None, description="What to tell the learner when no statement matches (their language)."
    )

    @model_validator(mode="after")
    def _check(self) -> StatementExpect:
        if self.keyword is None and self.pattern is None and self.transaction == "any":
            raise ValueError("give `keyword`, `pattern` or `transaction`")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"`pattern` is not a valid regular expression: {exc}") from exc
        return self


class SqlRanCheck(Model):
    """The learner ran statements of the given shape since the step opened (in this order), e.g. an
    `EXPLAIN QUERY PLAN`, or UPDATEs inside a committed transaction. Pair it with a check of the result."""

    kind: Literal["sql_ran"]
    statements: list[StatementExpect] = Field(min_length=1)
    same_transaction: bool = Field(
        default=False, description="The statements expected inside a transaction must all be in the same one."
    )
