"""JSON Schema for lesson files and pack.yaml, generated from the same models the loader uses."""

from __future__ import annotations

import json
from typing import Any

from tutor import __version__
from tutor.pack.models import Lesson, PackManifest

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _select_by_tag(node: Any) -> Any:
    """Rewrite pydantic's OpenAPI-style `discriminator` + `oneOf` into `if`/`then` on the tag, which every
    JSON Schema validator understands: an unknown `kind` fails the `enum`, and a known one is checked
    against its own schema only, so the error names the key that is wrong, not every kind at once."""
    if isinstance(node, list):
        return [_select_by_tag(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _select_by_tag(value) for key, value in node.items()}
    discriminator = node.get("discriminator")
    if isinstance(discriminator, dict) and "oneOf" in node:
        tag = discriminator["propertyName"]
        mapping: dict[str, str] = discriminator["mapping"]
        rest = {k: v for k, v in node.items() if k not in ("discriminator", "oneOf")}
        return {
            **rest,
            "type": "object",
            "required": [tag],
            "properties": {tag: {"enum": sorted(mapping)}},
            "allOf": [
                {
                    "if": {"properties": {tag: {"const": value}}, "required": [tag]},
                    "then": {"$ref": ref},
                }
                for value, ref in sorted(mapping.items())
            ],
        }
    refs = [item.get("$ref") for item in node.get("oneOf", []) if isinstance(item, dict)]
    if refs == ["#/$defs/GeneratedTable", "#/$defs/DataTable"]:
        rest = {k: v for k, v in node.items() if k != "oneOf"}
        return {
            **rest,
            "if": {"properties": {"rows": {"type": "integer"}}, "required": ["rows"]},
            "then": {"$ref": refs[0]},
            "else": {"$ref": refs[1]},
        }
    return node


def _schema(model: Any, title: str, description: str) -> dict[str, Any]:
    schema = _select_by_tag(model.model_json_schema(by_alias=True, mode="validation"))
    return {
        "$schema": SCHEMA_DIALECT,
        "title": title,
        "description": description,
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
        "x-backend-tutor-version": __version__,
    }


def lesson_schema() -> dict[str, Any]:
    return _schema(Lesson, "backend-tutor lesson", "One lesson file of a backend-tutor pack.")


def pack_schema() -> dict[str, Any]:
    return _schema(PackManifest, "backend-tutor pack.yaml", "The manifest at the root of a backend-tutor pack.")


SCHEMAS = {"lesson": lesson_schema, "pack": pack_schema}


def dumps(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"
