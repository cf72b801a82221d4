"""Shared building blocks of the pack format models."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

Slug = Annotated[
    str,
    StringConstraints(pattern=SLUG_PATTERN, max_length=64),
    Field(description="Lower-case letters, digits, '-' and '_', starting with a letter or digit."),
]
Identifier = Annotated[
    str,
    StringConstraints(pattern=IDENTIFIER_PATTERN, max_length=64),
    Field(description="An SQL identifier: letters, digits and '_', not starting with a digit."),
]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]
Markdown = Annotated[str, Field(description="Markdown text.")]
Scalar = str | int | float | bool | None
JsonValue = Any


class Model(BaseModel):
    """Every model of the format: unknown keys are errors, loaded values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PackPath(str):
    """A path relative to the pack's root; the loader checks that it exists and stays inside the pack."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(cls._validate, core_schema.str_schema(min_length=1))

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: Any) -> Any:
        result = handler(schema)
        result["description"] = "A file path relative to the pack's root folder."
        return result

    @classmethod
    def _validate(cls, value: str) -> PackPath:
        if value.startswith(("/", "\\")) or (len(value) > 1 and value[1] == ":"):
            raise ValueError("must be a path relative to the pack folder, not an absolute path")
        return cls(value)
