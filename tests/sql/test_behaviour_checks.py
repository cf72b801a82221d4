"""SQL checks judge behaviour, not text: each class of answer the text-reading checks got wrong.

- a constraint is proven by the rows it refuses and accepts (a CHECK on the wrong column, or with the
  wrong bounds, fails; UNIQUE in either column order passes);
- a PRAGMA by its effect on the learner's connection (switched on inside a transaction, or switched
  off again, it enforces nothing);
- optimistic locking by replaying the learner's UPDATE against a row someone else moved on and a row
  as it was read (without `version = version + 1`, it fails);
- a result against the data as the step opened (deleting the rows cannot make `WHERE 0` agree), and
  an order that was only luck (no ORDER BY, no tie-breaker) fails;
- writes that must be atomic: one transaction or one statement passes, separate commits fail;
- an index named by the queries it must serve: a partial index for one value fails.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from sandboxes.sql.sandbox import SqlSandbox
from tutor.checks import CheckContext, evaluate
from tutor.checks.base import CheckResult
from tutor.pack.checks import CheckSpec

SPEC: TypeAdapter[Any] = TypeAdapter(CheckSpec)


def check(sandbox: SqlSandbox, spec: dict[str, Any]) -> CheckResult:
    return evaluate(SPEC.validate_python(spec), CheckContext(sql=sandbox.evidence()))


def step(sandbox: SqlSandbox, sql: str) -> None:
    """A step opens (its state kept), then the learner runs `sql`."""
    sandbox.mark(sandbox.snapshot())
    result = sandbox.run_learner(sql)
    assert result.ok, result.describe_error()


REVIEWS = {
    "kind": "sql_probe",
    "probes": [
        {"sql": "INSERT INTO reviews (book_id, user_email, stars) VALUES (1, 'a@b.c', 5)", "expect": "accepted",
         "because": "a review with 5 stars"},
        {"sql": "INSERT INTO reviews (book_id, user_email, stars) VALUES (2, 'a@b.c', 1)", "expect": "accepted",
         "because": "a review with 1 star"},
        {"sql": "INSERT INTO reviews (book_id, user_email, stars) VALUES (3, 'a@b.c', 0)", "expect": "refused",
         "error": "CHECK", "because": "a review with 0 stars"},
        {"sql": "INSERT INTO reviews (book_id, user_email, stars) VALUES (3, 'a@b.c', 6)", "expect": "refused",
         "error": "CHECK", "because": "a review with 6 stars"},
        {"sql": "INSERT INTO reviews (book_id, user_email, stars) VALUES (1, 'a@b.c', 4)", "expect": "refused",
         "error": "UNIQUE", "because": "a second review of the same book by the same person"},
    ],
}  # fmt: skip


def test_a_check_constraint_is_proven_by_the_rows_it_refuses(sandbox: SqlSandbox) -> None:
    step(
        sandbox,
        "CREATE TABLE reviews (book_id INTEGER, user_email TEXT NOT NULL CHECK (user_email LIKE '%@%'), "
        "stars INTEGER NOT NULL, UNIQUE (book_id, user_email))",
    )
    result = check(sandbox, REVIEWS)
    assert not result.passed
    assert result.summary == "A review with 0 stars was accepted, but it should be refused."
    step(
        sandbox,
        "DROP TABLE reviews; CREATE TABLE reviews (book_id INTEGER, user_email TEXT, "
        "stars INTEGER CHECK (stars BETWEEN 0 AND 5), UNIQUE (book_id, user_email))",
    )
    assert check(sandbox, REVIEWS).summary.startswith("A review with 0 stars was accepted")
    # the right rule, with the UNIQUE columns in the other order: the rows decide, not the text
    step(
        sandbox,
        "DROP TABLE reviews; CREATE TABLE reviews (book_id INTEGER, user_email TEXT, "
        "stars INTEGER CHECK (stars >= 1 AND stars <= 5), UNIQUE (user_email, book_id))",
    )
    result = check(sandbox, REVIEWS)
    assert result.passed, result.explain()
    assert sandbox.query("SELECT count(*) FROM reviews")[1] == [(0,)]  # the probes' rows are gone


def test_a_refusal_for_another_reason_does_not_count(sandbox: SqlSandbox) -> None:
    step(sandbox, "CREATE TABLE reviews (book_id INTEGER, user_email TEXT, score INTEGER)")
    result = check(sandbox, REVIEWS)
    assert not result.passed
    assert "refused" in result.summary and "stars" in result.summary  # "table reviews has no column named stars"


ORPHAN = {
    "kind": "sql_probe",
    "probes": [
        {
            "sql": "INSERT INTO books (title, author_id, year, price) VALUES ('Nobody wrote me', 999999, 2000, 1)",
            "expect": "refused",
            "error": "FOREIGN KEY",
            "because": "a book whose author does not exist",
        }
    ],
}


def test_a_pragma_is_judged_by_its_effect_on_the_learners_connection(sandbox: SqlSandbox) -> None:
    step(sandbox, "BEGIN; PRAGMA foreign_keys = ON; COMMIT;")  # a no-op inside a transaction
    assert not check(sandbox, ORPHAN).passed
    step(sandbox, "PRAGMA foreign_keys = ON; PRAGMA foreign_keys = OFF;")
    assert not check(sandbox, ORPHAN).passed
    step(sandbox, "PRAGMA foreign_keys = ON;")
    assert check(sandbox, ORPHAN).passed


OPTIMISTIC = {
    "kind": "sql_replay",
    "statement": {"keyword": "UPDATE", "pattern": "title"},
    "cases": [
        {
            "setup": ["UPDATE notes SET body = 'B saved first', version = 2 WHERE id = 1"],
            "changes": 0,
            "query": "SELECT body, version FROM notes WHERE id = 1",
            "expect": [["B saved first", 2]],
            "because": "when someone saved a newer version first",
        },
        {
            "setup": ["UPDATE notes SET body = 'as read', version = 1 WHERE id = 1"],
            "changes": 1,
            "query": "SELECT version FROM notes WHERE id = 1",
            "expect": [[2]],
            "because": "when the note is still the version you read",
        },
    ],
}


def test_optimistic_locking_without_the_version_bump_fails_when_replayed(sandbox: SqlSandbox) -> None:
    sandbox.run_learner(
        "ALTER TABLE notes ADD COLUMN version INTEGER NOT NULL DEFAULT 1; ALTER TABLE notes ADD COLUMN title TEXT;"
        "INSERT INTO notes (id, body, version) VALUES (1, 'first', 2);"
    )
    step(sandbox, "UPDATE notes SET title = 'mine' WHERE id = 1 AND version = 1")  # B already moved it on
    result = check(sandbox, OPTIMISTIC)
    assert not result.passed
    assert "when the note is still the version you read: afterwards" in result.summary.lower()
    step(sandbox, "UPDATE notes SET title = 'mine', version = version + 1 WHERE id = 1 AND version = 1")
    assert check(sandbox, OPTIMISTIC).passed
    step(sandbox, "UPDATE notes SET title = 'mine', version = version + 1 WHERE id = 1")  # no guard at all
    assert (
        "someone saved a newer version first: your statement changed 1 row"
        in check(sandbox, OPTIMISTIC).summary.lower()
    )


def test_the_reference_reads_the_data_the_step_opened_on(sandbox: SqlSandbox) -> None:
    spec = {"kind": "sql_result", "reference": "SELECT id, title FROM books WHERE author_id = 42"}
    step(sandbox, "DELETE FROM books WHERE author_id = 42; SELECT id, title FROM books WHERE 0")
    result = check(sandbox, spec)
    assert not result.passed
    assert check(sandbox, {**spec, "reference_on": "live"}).passed  # the old behaviour, for what it was worth


def test_an_order_that_is_only_luck_fails(sandbox: SqlSandbox) -> None:
    spec = {
        "kind": "sql_result",
        "reference": "SELECT id, year FROM books WHERE id > 100 ORDER BY id LIMIT 5",
        "ordered": True,
    }
    step(sandbox, "SELECT id, year FROM books WHERE id > 100 LIMIT 5")
    result = check(sandbox, spec)
    assert not result.passed and "only by luck" in result.summary
    step(sandbox, "SELECT id, year FROM books WHERE id > 100 ORDER BY id LIMIT 5")
    assert check(sandbox, spec).passed
    # a tie-breaker: ordered by year alone, books of the same year come in whatever order SQLite likes
    by_year = {
        "kind": "sql_result",
        "reference": "SELECT id, year FROM books WHERE author_id = 42 ORDER BY year, id",
        "ordered": True,
    }
    step(sandbox, "SELECT id, year FROM books WHERE author_id = 42 ORDER BY year")
    assert not check(sandbox, by_year).passed
    step(sandbox, "SELECT id, year FROM books WHERE author_id = 42 ORDER BY year, id")
    assert check(sandbox, by_year).passed


TRANSFER = {
    "kind": "sql_ran",
    "statements": [{"keyword": "UPDATE"}],
    "atomic": {"keyword": "UPDATE", "pattern": "books"},
}


def test_writes_must_commit_as_one_unit(sandbox: SqlSandbox) -> None:
    step(sandbox, "UPDATE books SET price = price - 1 WHERE id = 1; UPDATE books SET price = price + 1 WHERE id = 2;")
    result = check(sandbox, TRANSFER)
    assert not result.passed and "did not commit as one" in result.summary
    step(
        sandbox,
        "BEGIN; UPDATE books SET price = price - 1 WHERE id = 1; UPDATE books SET price = price + 1 WHERE id = 2;",
    )
    assert "still open" in check(sandbox, TRANSFER).summary
    sandbox.run_learner("COMMIT")
    assert check(sandbox, TRANSFER).passed
    step(
        sandbox,
        "BEGIN; UPDATE books SET price = CASE id WHEN 1 THEN price - 1 ELSE price + 1 END WHERE id IN (1, 2); COMMIT;",
    )
    assert check(sandbox, TRANSFER).passed
    step(sandbox, "UPDATE books SET price = CASE id WHEN 1 THEN price - 1 ELSE price + 1 END WHERE id IN (1, 2)")
    assert check(sandbox, TRANSFER).passed  # one statement is atomic on its own


def test_a_statement_can_be_held_to_the_rows_it_changes(sandbox: SqlSandbox) -> None:
    spec = {"kind": "sql_ran", "statements": [{"keyword": "UPDATE", "changes": 3}]}
    step(sandbox, "UPDATE books SET price = CASE WHEN id <= 3 THEN price * 0.9 ELSE price END")
    assert not check(sandbox, spec).passed  # it wrote every row, to change three
    step(sandbox, "UPDATE books SET price = price * 0.9 WHERE id <= 3")
    assert check(sandbox, spec).passed


SERVES = {
    "kind": "sql_plan",
    "queries": [
        "SELECT * FROM books WHERE author_id = 42 ORDER BY year",
        "SELECT * FROM books WHERE author_id = 7 ORDER BY year",
    ],
    "uses_index": {"table": "books", "columns": ["author_id"]},
    "sorts": False,
}


def test_an_index_is_named_by_the_queries_it_must_serve(sandbox: SqlSandbox) -> None:
    step(sandbox, "CREATE INDEX only_42 ON books(author_id, year) WHERE author_id = 42")
    result = check(sandbox, SERVES)
    assert not result.passed and result.summary.startswith("For query 2 of 2")
    step(sandbox, "DROP INDEX only_42; CREATE INDEX by_author_year ON books(author_id, year)")
    assert check(sandbox, SERVES).passed


def test_a_next_page_query_is_replayed_after_a_row_is_added_before_it(sandbox: SqlSandbox) -> None:
    """Keyset paging returns the same next page when someone adds a row before it; OFFSET repeats one."""
    first = sandbox.run_learner("SELECT id, year FROM books ORDER BY year, id LIMIT 5")
    assert first.ok
    year, last_id = first.statements[-1].rows[-1][1], first.statements[-1].rows[-1][0]
    keyset = f"SELECT id, year FROM books WHERE (year, id) > ({year}, {last_id}) ORDER BY year, id LIMIT 5"
    page_two = sandbox.run_learner(keyset)
    assert page_two.ok
    spec = {
        "kind": "sql_replay",
        "statement": {"keyword": "SELECT", "pattern": "books"},
        "cases": [
            {
                "setup": ["INSERT INTO books (id, title, author_id, year, price) VALUES (999999, 'New', 1, 1000, 9)"],
                "rows": [list(r) for r in page_two.statements[-1].rows],
                "because": "had a book been added before your page while the reader was on the first one",
            }
        ],
    }
    step(sandbox, "SELECT id, year FROM books ORDER BY year, id LIMIT 5 OFFSET 5")
    result = check(sandbox, spec)
    assert not result.passed
    assert "your query returns other rows there" in result.summary
    step(sandbox, keyset)
    assert check(sandbox, spec).passed


def test_a_query_that_names_a_common_table_expression_first_is_the_select_it_runs(sandbox: SqlSandbox) -> None:
    """`WITH cursor AS (...) SELECT ...` is a SELECT: a step asking for one accepts it, and replays it."""
    keyset = (
        "WITH cursor(y, i) AS (SELECT year, id FROM books ORDER BY year, id LIMIT 1 OFFSET 4) "
        "SELECT id, year FROM books, cursor WHERE (year, id) > (y, i) ORDER BY year, id LIMIT 5"
    )
    plain = sandbox.run_learner("SELECT id, year FROM books ORDER BY year, id LIMIT 5 OFFSET 5")
    assert plain.ok
    spec = {
        "kind": "sql_replay",
        "statement": {"keyword": "SELECT", "pattern": "books"},
        "cases": [
            {
                "setup": ["UPDATE books SET title = title || '!' WHERE id = 1"],
                "rows": [list(r) for r in plain.statements[-1].rows],
                "because": "had a title been changed while the reader was on the first page",
            }
        ],
    }
    step(sandbox, keyset)
    assert check(sandbox, spec).passed
    ran = {"kind": "sql_ran", "statements": [{"keyword": "SELECT", "pattern": r"\(year, id\) > \(y, i\)"}]}
    assert check(sandbox, ran).passed
    step(sandbox, "WITH gone AS (SELECT 999999) DELETE FROM books WHERE id IN (SELECT * FROM gone)")
    assert not check(sandbox, {"kind": "sql_ran", "statements": [{"keyword": "SELECT"}]}).passed
    assert check(sandbox, {"kind": "sql_ran", "statements": [{"keyword": "DELETE", "pattern": "books"}]}).passed
