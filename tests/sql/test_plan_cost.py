from __future__ import annotations

import sqlite3

from sandboxes.sql.cost import count_vm_steps
from sandboxes.sql.plan import PlanStep, explain, parse_detail, parse_rows, step_columns
from sandboxes.sql.sandbox import SqlSandbox


def step(detail: str) -> PlanStep:
    return parse_detail(PlanStep(1, 0, detail))


def test_parse_details_across_versions() -> None:
    old = step("SCAN TABLE books AS b")
    assert (old.op, old.table, old.name, old.is_full_scan) == ("SCAN", "books", "b", True)
    new = step("SCAN books")
    assert (new.op, new.name, new.is_full_scan, new.index) == ("SCAN", "books", True, None)
    search = step("SEARCH books USING INDEX ix_author (author_id=? AND year>?)")
    assert (search.op, search.index, search.covering, search.constraint_columns) == (
        "SEARCH",
        "ix_author",
        False,
        ["author_id", "year"],
    )
    covering = step("SEARCH TABLE users USING COVERING INDEX ix_age_name (age=?)")
    assert covering.covering and covering.index == "ix_age_name" and not covering.is_full_scan
    pk = step("SEARCH users USING INTEGER PRIMARY KEY (rowid=?)")
    assert pk.primary_key and pk.index is None
    auto = step("SEARCH b USING AUTOMATIC COVERING INDEX (y=?)")
    assert auto.automatic and auto.covering and auto.index is None and auto.constraint_columns == ["y"]
    full_index = step("SCAN books USING COVERING INDEX ix_a")
    assert full_index.is_full_scan and full_index.index == "ix_a" and "FULL SCAN of the index" in full_index.label()
    temp = step("USE TEMP B-TREE FOR ORDER BY")
    assert temp.op == "USE TEMP B-TREE FOR ORDER BY" and not temp.is_access
    assert not step("SCAN CONSTANT ROW").is_full_scan


def test_tree_and_render() -> None:
    plan = parse_rows(
        "q",
        [(2, 0, 0, "SCAN books"), (5, 0, 0, "LIST SUBQUERY 1"), (7, 5, 0, "SEARCH a USING INDEX ix (x=?)")],
    )
    assert [r.detail for r in plan.roots] == ["SCAN books", "LIST SUBQUERY 1"]
    assert plan.roots[1].children[0].index == "ix"
    text = plan.render()
    assert "SCAN books  <- FULL SCAN of books" in text and "\n  SEARCH a USING INDEX ix (x=?)  <- index search" in text


def test_explain_resolves_aliases_and_counts_steps(sandbox: SqlSandbox) -> None:
    conn = sandbox.connect()
    query = "SELECT b.title FROM books AS b JOIN authors a ON a.id = b.author_id WHERE b.author_id = 42"
    before = explain(conn, query)
    assert [s.table for s in before.full_scans()] == ["books"]
    slow = count_vm_steps(conn, query)
    assert slow == count_vm_steps(conn, query)  # deterministic
    sandbox.run_learner("CREATE INDEX ix_books_author ON books(author_id)")
    after = explain(conn, query)
    assert after.full_scans() == []
    assert [s.index for s in after.index_uses("books")] == ["ix_books_author"]
    assert [s.table for s in after.index_uses("authors")] == ["authors"]  # alias a, primary key
    fast = count_vm_steps(conn, query)
    assert fast * 20 < slow
    assert fast == count_vm_steps(conn, query)


def test_small_costs_are_exact() -> None:
    conn = sqlite3.connect(":memory:")
    one = count_vm_steps(conn, "SELECT 1")
    assert 0 < one < 50
    assert count_vm_steps(conn, "SELECT 1, 2, 3") > one


def test_schema_qualified_tables_and_index_names_with_spaces() -> None:
    """`FROM main.books` plans as `SCAN main.books`, and a quoted index name may hold spaces: both are
    still books, and the index's own columns."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE books (id INTEGER PRIMARY KEY, author_id INTEGER, year INTEGER)")
    scan = explain(conn, "SELECT * FROM main.books WHERE author_id = 1")
    assert scan.steps[0].detail == "SCAN main.books"
    assert [s.table for s in scan.full_scans("books")] == ["books"]
    conn.execute('CREATE INDEX "books by author" ON books (author_id DESC, year)')
    for query in ("SELECT * FROM books WHERE author_id = 1", "SELECT * FROM main.books WHERE author_id = 1"):
        plan = explain(conn, query)
        [seek] = plan.index_uses("books")
        assert seek.index == "books by author", seek.detail
        assert step_columns(conn, seek) == ["author_id", "year"]
        assert seek.constraint_columns == ["author_id"]
    ordered = explain(conn, "SELECT author_id, year FROM books ORDER BY author_id DESC, year")
    assert [s.index for s in ordered.full_scans("books")] == ["books by author"], ordered.render()
