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
    ordered: bool = Field(
        default=False,
        description="Row order matters (use when the task says ORDER BY). The learner's query is also run with "
        "SQLite's `reverse_unordered_selects` on: an order that was only luck (no ORDER BY, or no tie-breaker "
        "between equal keys) shows and fails.",
    )
    reference_on: Literal["step", "live"] = Field(
        default="step",
        description="Where the reference runs: `step`, the data as the step opened (so rows the learner deleted "
        "or changed cannot make a wrong query agree); `live`, the learner's current data (when the task is to "
        "change data and then read it).",
    )
    match_column_names: bool = False
    float_tolerance: float = Field(default=1e-9, ge=0)


class IndexUse(Model):
    table: Identifier
    columns: list[Identifier] | None = Field(
        default=None,
        description="The index's leading columns, in order (after the first, they may serve the seek or the ORDER BY).",
    )
    seek: list[Identifier] | None = Field(
        default=None,
        description=(
            "Columns the search itself must use, as the plan's `(author_id=? AND year>?)` lists them: an index"
            " on the right columns whose collation or expression the query cannot use fails."
        ),
    )
    index: Identifier | None = Field(default=None, description="The index's name, when it matters.")
    covering: bool | None = Field(default=None, description="true: must be a covering index.")


class SqlPlanCheck(Model):
    """The plan (EXPLAIN QUERY PLAN) of `query`, or of the learner's last query, has the given shape. With
    `queries`, each of them must have it: an index requirement named by the queries it must serve, so any
    index that serves them all passes (whatever its name or the order of columns that do not matter), and
    one that serves only the one example (a partial index for a single value) does not."""

    kind: Literal["sql_plan"]
    query: str | None = Field(default=None, description="The statement to plan; default: the learner's last query.")
    queries: list[NonEmpty] = Field(
        default_factory=list, description="Several statements that must all be planned this way (instead of `query`)."
    )
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
        if self.query is not None and self.queries:
            raise ValueError("give `query` or `queries`, not both")
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
    message: str | None = Field(
        default=None,
        description="What to tell the learner when the data is not as expected, in their words (the checker's "
        "query and rows are the tutor's, not theirs).",
    )


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
    changes: int | None = Field(
        default=None,
        ge=0,
        description="The statement changed exactly this many rows (an UPDATE that touches only the rows the "
        "task names, an INSERT of exactly one row).",
    )
    missing: str | None = Field(
        default=None, description="What to tell the learner when no statement matches (their language)."
    )

    @model_validator(mode="after")
    def _check(self) -> StatementExpect:
        if self.keyword is None and self.pattern is None and self.transaction == "any" and self.changes is None:
            raise ValueError("give `keyword`, `pattern`, `transaction` or `changes`")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"`pattern` is not a valid regular expression: {exc}") from exc
        return self


class StatementFilter(Model):
    """Which of the learner's statements a rule is about."""

    keyword: str | None = Field(default=None, description="The words it starts with: `UPDATE`, `INSERT INTO`.")
    pattern: str | None = Field(default=None, description="A regular expression searched in it (case-insensitive).")

    @model_validator(mode="after")
    def _check(self) -> StatementFilter:
        if self.keyword is None and self.pattern is None:
            raise ValueError("give `keyword` or `pattern`")
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
    atomic: StatementFilter | None = Field(
        default=None,
        description="Every statement of this shape ran in one unit that committed: all inside the same "
        "committed transaction, or a single statement on its own (SQLite makes one statement atomic). Two "
        "such writes that committed separately fail; so does any of them left open or rolled back.",
    )


class Probe(Model):
    """One statement the checker tries, and whether the database must refuse it."""

    sql: NonEmpty
    expect: Literal["refused", "accepted"]
    error: str | None = Field(
        default=None,
        description="With `refused`: words SQLite's error must contain ('CHECK', 'UNIQUE', 'FOREIGN KEY', "
        "'NOT NULL'), so a refusal for another reason (a typo in the probe, a missing table) does not count.",
    )
    because: NonEmpty = Field(
        description="What the probe shows, in the learner's words, said when it goes the wrong way: "
        "'a review with 0 stars'."
    )


class SqlProbeCheck(Model):
    """Behaviour instead of text: the checker tries statements on the learner's own connection (its PRAGMA
    settings, such as `foreign_keys`, included), inside a savepoint it rolls back, and each must be refused
    or accepted as declared. A constraint is proven by the rows it refuses and the rows it lets through,
    whatever it is called or however it is written."""

    kind: Literal["sql_probe"]
    setup: list[NonEmpty] = Field(
        default_factory=list, description="Statements run first (in the same savepoint); each must succeed."
    )
    probes: list[Probe] = Field(min_length=1, description="Tried in order; an accepted probe's row stays for the next.")


class ReplayCase(Model):
    """The data as someone else left it, and what the learner's statement must do there."""

    setup: list[NonEmpty] = Field(
        default_factory=list,
        description="Statements that put the row in the state to test (another client's change, say).",
    )
    changes: int | None = Field(default=None, ge=0, description="Rows the learner's statement must change here.")
    query: str | None = Field(default=None, description="A query run afterwards...")
    expect: list[list[Any]] | None = Field(default=None, description="... and the rows it must return.")
    rows: list[list[Any]] | None = Field(
        default=None,
        description="The rows the learner's statement itself must return here, in this order (a query: the "
        "next page after someone else inserted or deleted a row before it).",
    )
    because: NonEmpty = Field(description="What this case shows, in the learner's words, said when it fails.")

    @model_validator(mode="after")
    def _check(self) -> ReplayCase:
        if (self.query is None) != (self.expect is None):
            raise ValueError("give `query` and `expect` together")
        if self.changes is None and self.query is None and self.rows is None:
            raise ValueError("give `changes`, `rows`, or `query` with `expect`")
        return self


class SqlReplayCheck(Model):
    """A statement meant to be safe when others write too (optimistic locking, `x = x - 1`) is replayed by
    the checker, inside a savepoint it rolls back, against data it sets up: a row someone else has moved
    on, a row as the learner read it. Each case says how many rows the statement must change there and
    what the data must look like afterwards."""

    kind: Literal["sql_replay"]
    statement: StatementFilter = Field(description="Which of the learner's statements: the last one that fits.")
    missing: str | None = Field(
        default=None, description="What to tell the learner when they ran no such statement (their language)."
    )
    cases: list[ReplayCase] = Field(min_length=1)
