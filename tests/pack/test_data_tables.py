"""Tables with a pack's own rows: inline, CSV or JSON, checked at the row that broke, built with sqlite-utils."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sandboxes.sql.build import build_database
from tests.pack.helpers import load, problems, write_pack

LESSON = """\
id: shop
title: Shop
track: databases
sandboxes:
  sql:
    tables:
      - name: customers
        primary_key: id
        columns:
          - {{name: id, type: INTEGER}}
          - {{name: name, type: TEXT, not_null: true}}
          - {{name: city, type: TEXT}}
        {customers}
      - name: orders
        primary_key: id
        columns:
          - {{name: id, type: INTEGER}}
          - {{name: customer_id, type: INTEGER, not_null: true, references: customers}}
          - {{name: total, type: REAL}}
        json: data/orders.json
steps:
  - id: count
    title: Count
    text: How many customers?
    check: {{kind: sql_result, reference: SELECT COUNT(*) FROM customers}}
    solution: {{sql: SELECT COUNT(*) FROM customers}}
    wrong_answers:
      - sql: SELECT 1
"""

CSV = "id,name,city\n1,Ada,London\n2,Grace,\n3,Linus,Helsinki\n"
ORDERS = '[\n  {"id": 1, "customer_id": 1, "total": 9.5},\n  {"id": 2, "customer_id": 3, "total": 20}\n]\n'


def _pack(tmp_path: Path, customers: str = "csv: data/customers.csv", csv: str = CSV, orders: str = ORDERS) -> Path:
    return write_pack(
        tmp_path,
        {
            "databases/01-shop.yaml": LESSON.format(customers=customers),
            "data/customers.csv": csv,
            "data/orders.json": orders,
        },
    )


def test_csv_and_json_tables_build_with_types_keys_and_foreign_keys(tmp_path: Path) -> None:
    root = _pack(tmp_path)
    result = load(root)
    assert result.errors == []
    assert result.pack is not None
    settings = result.pack.lessons[0].lesson.sandboxes.sql
    assert settings is not None
    target = tmp_path / "shop.db"
    build_database(settings, root, target)
    conn = sqlite3.connect(target)
    assert conn.execute("SELECT id, name, city FROM customers ORDER BY id").fetchall() == [
        (1, "Ada", "London"),
        (2, "Grace", None),
        (3, "Linus", "Helsinki"),
    ]
    assert conn.execute("SELECT typeof(total) FROM orders ORDER BY id").fetchall() == [("real",), ("real",)]
    columns = {row[1]: (row[2], row[3], row[5]) for row in conn.execute("PRAGMA table_info(customers)")}
    assert columns == {"id": ("INTEGER", 0, 1), "name": ("TEXT", 1, 0), "city": ("TEXT", 0, 0)}
    assert conn.execute("PRAGMA foreign_key_list(orders)").fetchall()[0][2:5] == ("customers", "customer_id", "id")


def test_inline_rows_as_lists_or_mappings(tmp_path: Path) -> None:
    inline = "rows:\n          - [1, Ada, London]\n          - {id: 2, name: Grace}"
    root = _pack(tmp_path, customers=inline, orders='[{"id": 1, "customer_id": 2, "total": 1}]')
    result = load(root)
    assert result.errors == []
    assert result.pack is not None
    settings = result.pack.lessons[0].lesson.sandboxes.sql
    assert settings is not None
    build_database(settings, root, tmp_path / "shop.db")
    rows = sqlite3.connect(tmp_path / "shop.db").execute("SELECT * FROM customers ORDER BY id").fetchall()
    assert rows == [(1, "Ada", "London"), (2, "Grace", None)]


def test_csv_errors_name_file_line_and_column(tmp_path: Path) -> None:
    csv = "id,name,city\n1,Ada,London\ntwo,Grace,Paris\n3,,Oslo\n1,Linus,Helsinki\n4,Bob\n"
    found = problems(_pack(tmp_path, csv=csv, orders="[]"))
    assert found == [
        "data/customers.csv:3:1: column 'id' is INTEGER, but this row has 'two'",
        "data/customers.csv:4:3: column 'name' is NOT NULL, but this row leaves it empty",
        "data/customers.csv:5:1: primary key 1 is used twice in table 'customers' (first in row 1)",
        "data/customers.csv:6:1: this row has 2 fields, but the header has 3",
    ]


def test_json_errors_name_file_line_and_column(tmp_path: Path) -> None:
    orders = '[\n  {"id": 1, "customer_id": 9, "total": 1},\n  {"id": 2, "customer_id": 1, "totl": 1}\n]\n'
    found = problems(_pack(tmp_path, orders=orders))
    assert found == [
        "data/orders.json:2:28: column 'customer_id' refers to customers.id = 9, but table 'customers' has no such row",
        "data/orders.json:3:39: column 'totl' is not declared in table 'orders' (declared: id, customer_id, total)",
    ]


def test_broken_json_and_missing_file(tmp_path: Path) -> None:
    found = problems(_pack(tmp_path, orders='[{"id": 1,}]'))
    assert found == ["data/orders.json:1:11: not valid JSON: Expecting property name enclosed in double quotes"]
    root = _pack(tmp_path / "b", customers="csv: data/nope.csv")
    assert problems(root) == [
        "databases/01-shop.yaml:13:14: file not found: 'data/nope.csv' (paths are relative to the pack folder)"
    ]


def test_inline_row_error_points_into_the_lesson(tmp_path: Path) -> None:
    inline = "rows:\n          - [1, Ada, London]\n          - [x, Grace, Paris]"
    found = problems(_pack(tmp_path, customers=inline, orders="[]"))
    assert found == ["databases/01-shop.yaml:15:14: column 'id' is INTEGER, but this row has 'x'"]


def test_declaration_errors_point_at_the_key(tmp_path: Path) -> None:
    typo = LESSON.format(customers="rows: [[1, Ada, London]]").replace(
        "{name: city, type: TEXT}", "{name: city, typ: TEXT}"
    )
    assert problems(write_pack(tmp_path / "a", {"databases/01.yaml": typo, "data/orders.json": "[]"})) == [
        "databases/01.yaml:12:26: unknown key 'typ' (did you mean 'type'?)"
    ]
    count = LESSON.format(customers="rows: 5")
    assert problems(write_pack(tmp_path / "b", {"databases/01.yaml": count, "data/orders.json": "[]"})) == [
        "databases/01.yaml:13:15: expected a list (lines starting with '- '), got a number (5)"
    ]
    both = LESSON.format(customers="rows: [[1, Ada, London]]\n        csv: data/customers.csv")
    found = problems(write_pack(tmp_path / "c", {"databases/01.yaml": both, "data/orders.json": "[]"}))
    assert found == [
        "databases/01.yaml:7:9: give the rows in exactly one way: `rows` (a list), `csv: FILE` or `json: FILE`; "
        "this table gives rows and csv"
    ]
