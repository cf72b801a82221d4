"""The published JSON Schemas work with a generic validator (jsonschema), as a CI job would use them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "docs" / "schema"
LESSON_FILES = sorted((ROOT / "lessons").glob("*/*.yaml"))


def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _best(name: str, data: Any) -> tuple[str, str]:
    error = jsonschema.exceptions.best_match(_validator(name).iter_errors(data))
    assert error is not None, "the schema accepted a broken document"
    return error.json_path, error.message


def test_schema_has_no_openapi_discriminator() -> None:
    text = (SCHEMAS / "lesson.schema.json").read_text(encoding="utf-8")
    assert '"discriminator"' not in text
    assert '"if"' in text


@pytest.mark.parametrize("path", LESSON_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_builtin_lesson_passes_the_schema(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    errors = [f"{e.json_path}: {e.message}" for e in _validator("lesson").iter_errors(data)]
    assert errors == []


def test_builtin_pack_yaml_passes_the_schema() -> None:
    data = yaml.safe_load((ROOT / "lessons" / "pack.yaml").read_text(encoding="utf-8"))
    assert list(_validator("pack").iter_errors(data)) == []


def _lesson(check: dict[str, Any], **step: Any) -> dict[str, Any]:
    return {
        "id": "broken",
        "title": "Broken",
        "track": "http",
        "steps": [{"id": "a", "title": "A", "text": "t", "check": check, "solution": {"answer": "a"}, **step}],
    }


CHOICE = {"kind": "choice", "options": [{"id": "a", "text": "A"}, {"id": "b", "text": "B"}], "correct": "a"}


def test_unknown_kind_names_the_kinds() -> None:
    path, message = _best("lesson", _lesson({"kind": "sql_rows"}))
    assert path == "$.steps[0].check.kind"
    assert "'sql_rows' is not one of" in message and "'sql_result'" in message


def test_typo_in_a_check_key_is_reported_against_that_kind_only() -> None:
    path, message = _best("lesson", _lesson({**CHOICE, "multpl": True}))
    assert path == "$.steps[0].check"
    assert message == "Additional properties are not allowed ('multpl' was unexpected)"


def test_wrong_type_in_a_check_points_at_the_value() -> None:
    path, message = _best("lesson", _lesson({"kind": "sql_cost", "query": "SELECT 1", "min_factor": "lots"}))
    assert (path, message) == ("$.steps[0].check.min_factor", "'lots' is not of type 'number'")


def test_missing_required_key_of_the_chosen_kind() -> None:
    path, message = _best("lesson", _lesson({"kind": "choice", "correct": "a"}))
    assert path == "$.steps[0].check"
    assert message == "'options' is a required property"


def test_a_hint_read_as_a_mapping_is_not_text() -> None:
    data = yaml.safe_load(
        "id: x\ntitle: X\ntrack: http\nsteps:\n  - id: a\n    title: A\n    text: t\n"
        "    check: {kind: text, accept: [x]}\n    solution: {answer: x}\n"
        "    hints:\n      - Send it with Content-Type: application/json\n"
    )
    path, message = _best("lesson", data)
    assert path == "$.steps[0].hints[0]"
    assert "is not of type 'string'" in message


def test_generated_table_column_kinds_are_selected_by_gen() -> None:
    data = _lesson(CHOICE)
    data["sandboxes"] = {
        "sql": {"tables": [{"name": "t", "rows": 3, "columns": [{"name": "n", "gen": "intt", "min": 1, "max": 2}]}]}
    }
    path, message = _best("lesson", data)
    assert path == "$.sandboxes.sql.tables[0].columns[0].gen"
    assert "'intt' is not one of" in message


def test_a_table_with_inline_rows_is_checked_as_data() -> None:
    data = _lesson(CHOICE)
    data["sandboxes"] = {"sql": {"tables": [{"name": "t", "columns": [{"name": "n", "type": "INT"}], "rows": [[1]]}]}}
    path, message = _best("lesson", data)
    assert path == "$.sandboxes.sql.tables[0].columns[0].type"
    assert message == "'INT' is not one of ['INTEGER', 'REAL', 'TEXT', 'BLOB']"
