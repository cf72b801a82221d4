"""The SQL workbench's text work without a screen: the statement under the cursor, completion from the
lesson's schema, a result as CSV or JSON, the learner's SQL kept per step."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from types import SimpleNamespace

from tutor.sqlwork import SqlDrafts, complete, result_text, statement_at, write_result

SCRIPT = "SELECT 1;\n\nUPDATE books SET price = 2\n WHERE id = 3;\nSELECT 'a;b' FROM books;"


def test_the_statement_under_the_cursor() -> None:
    assert statement_at(SCRIPT, 3).text == "SELECT 1;"  # type: ignore[union-attr]
    assert statement_at(SCRIPT, 9).text == "SELECT 1;"  # type: ignore[union-attr]  # just after its `;`
    update = statement_at(SCRIPT, SCRIPT.index("WHERE"))
    assert update is not None and update.text.startswith("UPDATE") and update.line == 3
    last = statement_at(SCRIPT, len(SCRIPT))
    assert last is not None and last.text == "SELECT 'a;b' FROM books;"  # a `;` in a string does not split
    assert statement_at("   ", 1) is None


SCHEMA = [
    SimpleNamespace(name="books", columns=[SimpleNamespace(name=n) for n in ("id", "title", "author_id")]),
    SimpleNamespace(name="authors", columns=[SimpleNamespace(name=n) for n in ("id", "name")]),
]


def test_completion_from_the_schema_then_keywords() -> None:
    assert complete("SELECT * FROM bo", 16, SCHEMA) == ("bo", ["books"])
    assert complete("SELECT ti", 9, SCHEMA)[1] == ["title"]
    prefix, found = complete("SELECT b.", 9, SCHEMA)
    assert (prefix, found) == ("", [])  # `b` is not a table name
    assert complete("SELECT books.a", 14, SCHEMA) == ("a", ["author_id"])  # only that table's columns
    assert complete("sel", 3, SCHEMA) == ("sel", ["select"])  # a keyword, in the case typed
    assert complete("ORD", 3, SCHEMA)[1] == ["ORDER"]
    assert complete("SELECT name FROM authors WHERE ", 31, SCHEMA)[1][:2] == ["books", "authors"]


def test_a_result_as_csv_and_json(tmp_path: Path) -> None:
    columns, rows = ["id", "title", "cover"], [(1, "Dune, the novel", None), (2, 'Say "hi"', b"\x00\xff")]
    parsed = list(csv.reader(io.StringIO(result_text(columns, rows, "csv"))))
    assert parsed == [["id", "title", "cover"], ["1", "Dune, the novel", ""], ["2", 'Say "hi"', "00ff"]]
    assert json.loads(result_text(columns, rows, "json"))[1] == {"id": 2, "title": 'Say "hi"', "cover": "00ff"}
    assert write_result(tmp_path / "r.json", columns, rows) == "json"
    assert write_result(tmp_path / "r.csv", columns, rows) == "csv"
    assert json.loads((tmp_path / "r.json").read_text())[0]["cover"] is None


def test_drafts_per_step(tmp_path: Path) -> None:
    drafts = SqlDrafts(tmp_path)
    drafts.save("feel-it", "SELECT * FROM books")
    drafts.save("index-it", "CREATE INDEX ix ON books(author_id)")
    assert SqlDrafts(tmp_path).get("feel-it") == "SELECT * FROM books"
    drafts.save("feel-it", "   ")
    assert SqlDrafts(tmp_path).get("feel-it") is None and drafts.get("index-it") is not None
    drafts.path.write_text("[not a dict]")
    assert drafts.all() == {}
