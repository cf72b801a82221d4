from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from sandboxes.sql.sandbox import SqlSandbox
from tutor.checks import CheckContext, evaluate
from tutor.checks.base import CheckResult
from tutor.pack.checks import CheckSpec

SPEC: TypeAdapter[Any] = TypeAdapter(CheckSpec)


def check(sandbox: SqlSandbox, spec: dict[str, Any]) -> CheckResult:
    return evaluate(SPEC.validate_python(spec), CheckContext(sql=sandbox.evidence()))


def run(sandbox: SqlSandbox, sql: str) -> None:
    sandbox.mark()
    result = sandbox.run_learner(sql)
    assert result.ok or "SELEC " in sql, result.describe_error()


REFERENCE = "SELECT id, title, year FROM books WHERE author_id = 42 ORDER BY year, id"


class TestSqlResult:
    spec = {"kind": "sql_result", "reference": REFERENCE, "ordered": True}

    def test_right_answer_in_other_words(self, sandbox: SqlSandbox) -> None:
        run(sandbox, "select b.id, b.title, b.year from books b where b.author_id = 40 + 2 order by 3, 1")
        result = check(sandbox, self.spec)
        assert result.passed, result.explain()

    def test_order_only_difference_fails_when_order_matters(self, sandbox: SqlSandbox) -> None:
        run(sandbox, "SELECT id, title, year FROM books WHERE author_id = 42 ORDER BY id DESC")
        result = check(sandbox, self.spec)
        assert not result.passed
        assert "wrong order" in result.summary and (result.first_difference or "").startswith("row 1:")
        assert check(sandbox, {**self.spec, "ordered": False}).passed

    def test_missing_rows_are_sampled(self, sandbox: SqlSandbox) -> None:
        run(
            sandbox,
            "SELECT id, title, year FROM books WHERE author_id = 42 AND year > 1990 ORDER BY year, id",
        )
        result = check(sandbox, {**self.spec, "ordered": False})
        assert not result.passed and "Different rows: expected" in result.summary
        assert any(d.startswith("missing: ") and "(the first 5 shown)" in d for d in result.details)
        assert not any(d.startswith("extra: ") for d in result.details)

    def test_wrong_columns(self, sandbox: SqlSandbox) -> None:
        run(sandbox, "SELECT id, title FROM books WHERE author_id = 42")
        result = check(sandbox, self.spec)
        assert not result.passed and "Expected 3 columns" in result.summary
        run(sandbox, "SELECT id, title, year AS y FROM books WHERE author_id = 42 ORDER BY year, id")
        assert check(sandbox, self.spec).passed
        named = check(sandbox, {**self.spec, "match_column_names": True})
        assert not named.passed and "'year'" in named.summary

    def test_nulls_and_floats(self, sandbox: SqlSandbox) -> None:
        spec = {"kind": "sql_result", "reference": "SELECT NULL, 0.1 + 0.2, 3"}
        run(sandbox, "SELECT NULL, 0.3, 3.0")
        assert check(sandbox, spec).passed
        run(sandbox, "SELECT 0, 0.3, 3")
        assert not check(sandbox, spec).passed

    def test_nothing_run_yet(self, sandbox: SqlSandbox) -> None:
        sandbox.mark()
        result = check(sandbox, self.spec)
        assert not result.passed and "no query to check yet" in result.summary


class TestSqlPlan:
    query = "SELECT * FROM books WHERE author_id = 42 AND year >= 2000"
    spec = {
        "kind": "sql_plan",
        "query": query,
        "uses_index": {"table": "books", "columns": ["author_id"]},
        "no_full_scan": ["books"],
    }

    def test_scan_fails_and_shows_the_plan(self, sandbox: SqlSandbox) -> None:
        result = check(sandbox, self.spec)
        assert not result.passed and "reads every row of books (SCAN)" in result.summary
        assert "FULL SCAN" in "\n".join(result.details)

    def test_index_on_the_right_column_passes(self, sandbox: SqlSandbox) -> None:
        run(sandbox, "CREATE INDEX ix_books_author ON books(author_id)")
        result = check(sandbox, self.spec)
        assert result.passed, result.explain()

    def test_wrong_index_fails(self, sandbox: SqlSandbox) -> None:
        run(sandbox, "CREATE INDEX ix_books_year ON books(year)")
        result = check(sandbox, self.spec)
        assert not result.passed
        assert "ix_books_year on books(year)" in result.summary

    def test_learners_last_query_and_named_index(self, sandbox: SqlSandbox) -> None:
        run(sandbox, "CREATE INDEX ix_a ON books(author_id); SELECT title FROM books b WHERE b.author_id = 7")
        spec = {
            "kind": "sql_plan",
            "uses_index": {"table": "books", "columns": ["author_id"], "index": "ix_a"},
        }
        assert check(sandbox, spec).passed
        assert not check(sandbox, {**spec, "uses_index": {"table": "books", "index": "other"}}).passed
        covering = check(sandbox, {**spec, "uses_index": {"table": "books", "covering": True}})
        assert not covering.passed and "COVERING" in covering.summary

    def test_seek_names_the_columns_the_search_itself_uses(self, sandbox: SqlSandbox) -> None:
        """An index on the right columns whose second column the seek cannot use (another collation)
        fails a `seek` on both; the same columns in the index's own collation pass, DESC or not."""
        spec = {
            "kind": "sql_plan",
            "query": "SELECT * FROM books WHERE author_id = 42 AND year BETWEEN 2000 AND 2009",
            "uses_index": {"table": "books", "columns": ["author_id", "year"], "seek": ["author_id", "year"]},
        }
        run(sandbox, "CREATE INDEX ix_nocase ON books(author_id, year COLLATE NOCASE)")
        result = check(sandbox, spec)
        assert not result.passed and "seeks on author_id only, not on year" in result.summary, result.explain()
        assert check(sandbox, {**spec, "uses_index": {"table": "books", "columns": ["author_id", "year"]}}).passed
        run(sandbox, "DROP INDEX ix_nocase; CREATE INDEX ix_desc ON books(author_id, year DESC)")
        assert check(sandbox, spec).passed

    def test_full_scan_expected(self, sandbox: SqlSandbox) -> None:
        spec = {"kind": "sql_plan", "query": self.query, "full_scan": ["books"]}
        assert check(sandbox, spec).passed
        run(sandbox, "CREATE INDEX ix ON books(author_id)")
        assert not check(sandbox, spec).passed


class TestSqlSchema:
    spec = {
        "kind": "sql_schema",
        "tables": ["books"],
        "indexes": [{"table": "books", "columns": ["author_id"]}],
        "columns": [{"table": "notes", "name": "body", "type": "text", "not_null": True}],
        "foreign_keys": [{"table": "books", "columns": ["author_id"], "references": "authors"}],
    }

    def test_missing_index(self, sandbox: SqlSandbox) -> None:
        result = check(sandbox, self.spec)
        assert not result.passed and result.summary == "There is no index on books(author_id)."
        assert "books has no indexes" in result.details

    def test_index_present(self, sandbox: SqlSandbox) -> None:
        run(sandbox, "CREATE INDEX ix ON books(author_id)")
        assert check(sandbox, self.spec).passed

    def test_wrong_column_order_and_unique(self, sandbox: SqlSandbox) -> None:
        run(sandbox, "CREATE INDEX ix ON books(author_id, year)")
        result = check(sandbox, self.spec)
        assert not result.passed and "ix is on books(author_id, year)" in result.summary
        run(sandbox, "CREATE INDEX ix2 ON books(author_id)")
        unique = {**self.spec, "indexes": [{"table": "books", "columns": ["author_id"], "unique": True}]}
        assert "should be UNIQUE" in check(sandbox, unique).summary
        gone = {
            "kind": "sql_schema",
            "indexes": [{"table": "books", "columns": ["author_id"], "exists": False}],
        }
        assert not check(sandbox, gone).passed

    def test_columns(self, sandbox: SqlSandbox) -> None:
        spec = {"kind": "sql_schema", "columns": [{"table": "books", "name": "price", "type": "INTEGER"}]}
        result = check(sandbox, spec)
        assert not result.passed and "declared REAL, expected INTEGER" in result.summary


class TestSqlState:
    spec = {
        "kind": "sql_state",
        "query": "SELECT id, country FROM authors WHERE id <= 2 ORDER BY id",
        "expect": [[1, "NZ"], [2, "NZ"]],
        "ordered": True,
    }

    def test_update_passes(self, sandbox: SqlSandbox) -> None:
        run(sandbox, "UPDATE authors SET country = 'NZ' WHERE id IN (1, 2)")
        assert check(sandbox, self.spec).passed

    def test_partial_update_fails(self, sandbox: SqlSandbox) -> None:
        run(sandbox, "UPDATE authors SET country = 'NZ' WHERE id = 1")
        result = check(sandbox, self.spec)
        assert not result.passed and (result.first_difference or "").startswith("row 2: expected (2, 'NZ')")

    def test_uncommitted_transaction_is_explained(self, sandbox: SqlSandbox) -> None:
        run(sandbox, "BEGIN; UPDATE authors SET country = 'NZ' WHERE id IN (1, 2)")
        result = check(sandbox, self.spec)
        assert not result.passed and "open transaction" in result.explain()
        run(sandbox, "COMMIT")
        assert check(sandbox, self.spec).passed


class TestSqlCost:
    spec = {"kind": "sql_cost", "query": "SELECT * FROM books WHERE author_id = 42", "min_factor": 20}

    def test_index_makes_it_cheaper(self, sandbox: SqlSandbox) -> None:
        assert not check(sandbox, self.spec).passed
        run(sandbox, "CREATE INDEX ix ON books(author_id)")
        result = check(sandbox, self.spec)
        assert result.passed, result.explain()
        assert "VM steps at the start" in result.summary

    def test_wrong_index_is_not_enough(self, sandbox: SqlSandbox) -> None:
        run(sandbox, "CREATE INDEX ix ON books(title)")
        result = check(sandbox, self.spec)
        assert not result.passed and "Not cheap enough" in result.summary
        assert any("FULL SCAN" in d for d in result.details)


@pytest.mark.parametrize("kind", ["sql_result", "sql_plan", "sql_schema", "sql_state", "sql_cost", "sql_ran"])
def test_no_sandbox_is_a_clear_failure(kind: str) -> None:
    specs = {
        "sql_result": {"reference": "SELECT 1"},
        "sql_plan": {"full_scan": ["t"]},
        "sql_schema": {"tables": ["t"]},
        "sql_state": {"query": "SELECT 1", "expect": [[1]]},
        "sql_cost": {"query": "SELECT 1", "min_factor": 2},
        "sql_ran": {"statements": [{"keyword": "BEGIN"}]},
    }
    result = evaluate(SPEC.validate_python({"kind": kind, **specs[kind]}), CheckContext())
    assert not result.passed and "no SQL sandbox" in result.summary


class TestSqlRan:
    """`sql_ran` reads what the learner ran (and what became of its transaction), not the data."""

    transfer = {
        "kind": "sql_ran",
        "same_transaction": True,
        "statements": [
            {"keyword": "UPDATE", "pattern": "author_id = 1\\b", "transaction": "committed"},
            {"keyword": "UPDATE", "pattern": "author_id = 2\\b", "transaction": "committed"},
        ],
    }

    def test_explain_query_plan_is_told_from_a_plain_select_and_from_explain(self, sandbox: SqlSandbox) -> None:
        spec = {"kind": "sql_ran", "statements": [{"keyword": "explain  query plan", "pattern": "author_id"}]}
        run(sandbox, "SELECT * FROM books WHERE author_id = 42; EXPLAIN SELECT * FROM books WHERE author_id = 42")
        failed = check(sandbox, spec)
        assert not failed.passed and "EXPLAIN QUERY PLAN" in failed.summary
        assert any("EXPLAIN SELECT" in d for d in failed.details)
        run(sandbox, "explain query plan\n  SELECT * FROM books WHERE author_id = 42")
        assert check(sandbox, spec).passed

    def test_updates_in_a_committed_transaction(self, sandbox: SqlSandbox) -> None:
        one = "UPDATE books SET price = price + 1 WHERE author_id = 1"
        two = "UPDATE books SET price = price - 1 WHERE author_id = 2"
        run(sandbox, f"{one}; {two}")  # autocommit: each committed on its own
        result = check(sandbox, self.transfer)
        assert not result.passed and "outside a transaction" in "\n".join(result.details)
        run(sandbox, f"BEGIN; {one}; {two}")  # still open
        assert not check(sandbox, self.transfer).passed
        sandbox.run_learner("ROLLBACK")  # thrown away
        assert not check(sandbox, self.transfer).passed
        run(sandbox, f"BEGIN; {one}; COMMIT; BEGIN; {two}; COMMIT")  # two transactions, not one
        assert not check(sandbox, self.transfer).passed
        assert check(sandbox, {**self.transfer, "same_transaction": False}).passed
        run(sandbox, f"BEGIN; {one}; {two}; COMMIT")
        assert check(sandbox, self.transfer).passed, check(sandbox, self.transfer).explain()

    def test_a_failed_statement_leaves_the_transaction_open_and_rollback_is_seen(self, sandbox: SqlSandbox) -> None:
        spec = {"kind": "sql_ran", "statements": [{"keyword": "UPDATE", "transaction": "rolled_back"}]}
        sandbox.mark()
        result = sandbox.run_learner(
            "BEGIN; UPDATE books SET price = 1 WHERE id = 1; INSERT INTO notes(body) VALUES (NULL)"
        )
        assert not result.ok and sandbox.in_transaction  # NOT NULL failed: only that statement was undone
        assert [r.transaction for r in sandbox.ran()] == ["open", "open"]
        sandbox.run_learner("ROLLBACK")
        assert check(sandbox, spec).passed
        assert [r.transaction for r in sandbox.ran()] == ["rolled_back", "rolled_back", "rolled_back"]

    def test_rollback_to_a_savepoint_undoes_what_ran_after_it(self, sandbox: SqlSandbox) -> None:
        """A statement undone by `ROLLBACK TO` counts as rolled back, though its transaction commits."""
        spec = {"kind": "sql_ran", "statements": [{"keyword": "UPDATE", "transaction": "rolled_back"}]}
        sandbox.mark()
        sandbox.run_learner(
            'BEGIN; UPDATE books SET price = 2 WHERE id = 2; SAVEPOINT "Move"; '
            "UPDATE books SET price = 1 WHERE id = 1; ROLLBACK TRANSACTION TO SAVEPOINT move; "
            "UPDATE books SET price = 3 WHERE id = 3; COMMIT"
        )
        states = [(r.sql.rstrip(";").split(" WHERE ")[-1], r.transaction) for r in sandbox.ran()]
        assert states == [
            ("BEGIN", "committed"),
            ("id = 2", "committed"),
            ('SAVEPOINT "Move"', "committed"),
            ("id = 1", "rolled_back"),
            ("ROLLBACK TRANSACTION TO SAVEPOINT move", "committed"),
            ("id = 3", "committed"),
            ("COMMIT", "committed"),
        ], states
        assert check(sandbox, spec).passed
        # A savepoint that starts the transaction, released after a rollback to another one inside it.
        sandbox.mark()
        sandbox.run_learner(
            "SAVEPOINT outer; SAVEPOINT inner; UPDATE books SET price = 4 WHERE id = 4; RELEASE inner; "
            "UPDATE books SET price = 5 WHERE id = 5; ROLLBACK TO outer; RELEASE SAVEPOINT outer"
        )
        updates = [r.transaction for r in sandbox.ran() if r.sql.startswith("UPDATE")]
        assert updates == ["rolled_back", "rolled_back"]
        assert not sandbox.in_transaction
        # A RELEASE keeps what ran after its savepoint.
        sandbox.mark()
        sandbox.run_learner("BEGIN; SAVEPOINT a; UPDATE books SET price = 6 WHERE id = 6; RELEASE a; COMMIT")
        assert [r.transaction for r in sandbox.ran() if r.sql.startswith("UPDATE")] == ["committed"]
        assert not check(sandbox, spec).passed

    def test_reset_throws_an_open_transaction_away(self, sandbox: SqlSandbox) -> None:
        sandbox.mark()
        sandbox.run_learner("BEGIN; UPDATE books SET price = 1 WHERE id = 1")
        sandbox.restore(sandbox.snapshot())
        sandbox.run_learner("COMMIT")  # no transaction is open any more: an error, not a commit
        assert [r.transaction for r in sandbox.ran()] == ["rolled_back", "rolled_back"]

    def test_nothing_run(self, sandbox: SqlSandbox) -> None:
        sandbox.mark()
        spec = {"kind": "sql_ran", "statements": [{"keyword": "BEGIN", "missing": "Start with BEGIN."}]}
        result = check(sandbox, spec)
        assert not result.passed and result.summary == "Start with BEGIN." and "no statement" in (result.got or "")

    def test_bad_pattern_is_refused_by_the_format(self) -> None:
        with pytest.raises(ValueError, match="regular expression"):
            SPEC.validate_python({"kind": "sql_ran", "statements": [{"pattern": "("}]})


def test_sql_plan_sorts(sandbox: SqlSandbox) -> None:
    """`sorts: false` passes only when an index gives the ORDER BY order (no temporary B-tree)."""
    query = "SELECT id, title FROM books WHERE author_id = 42 ORDER BY price"
    spec = {
        "kind": "sql_plan",
        "query": query,
        "uses_index": {"table": "books", "columns": ["author_id"]},
        "sorts": False,
    }
    run(sandbox, "CREATE INDEX ix_a ON books(author_id)")
    result = check(sandbox, spec)
    assert not result.passed and "still sorts" in result.summary and "ORDER BY" in result.summary
    assert check(sandbox, {**spec, "sorts": True}).passed
    run(sandbox, "CREATE INDEX ix_ap ON books(author_id, price)")
    assert check(sandbox, spec).passed
