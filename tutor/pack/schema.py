"""JSON Schema for lesson files and pack.yaml, generated from the same models the loader uses."""

from __future__ import annotations

import json
from typing import Any

from tutor import __version__
from tutor.pack.models import Lesson, PackManifest

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _schema(model: Any, title: str, description: str) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True, mode="validation")
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
