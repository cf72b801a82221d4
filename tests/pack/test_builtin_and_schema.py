from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import BUILTIN, REPO
from tutor.pack.checks import iter_kinds
from tutor.pack.loader import load_pack
from tutor.pack.schema import SCHEMAS, dumps


def test_builtin_pack_is_valid() -> None:
    result = load_pack(BUILTIN)
    assert result.errors == []
    assert result.pack is not None
    assert result.pack.lessons, "the built-in pack has lessons"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_committed_schema_is_current(name: str) -> None:
    """docs/schema/*.json come from the models: `backend-tutor pack schema --out docs/schema` regenerates them."""
    committed = (REPO / "docs" / "schema" / f"{name}.schema.json").read_text(encoding="utf-8")
    assert committed == dumps(SCHEMAS[name]())


def test_schema_describes_every_check_kind() -> None:
    schema = json.dumps(SCHEMAS["lesson"]())
    from tutor.checks import KIND_MODULES

    for kind in KIND_MODULES:
        assert f'"{kind}"' in schema, kind


def test_every_kind_in_the_format_has_a_checker_module() -> None:
    from typing import get_args

    from tutor.checks import KIND_MODULES
    from tutor.pack.checks import CheckSpec

    union = get_args(CheckSpec)[0]
    kinds = {get_args(member.model_fields["kind"].annotation)[0] for member in get_args(union)}
    assert kinds == set(KIND_MODULES)


def test_builtin_lessons_start_with_the_schema_comment() -> None:
    for path in sorted(Path(BUILTIN).glob("*/*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path


def test_iter_kinds_walks_nested_all() -> None:
    from tutor.pack.checks import AllCheck

    check = AllCheck.model_validate(
        {
            "kind": "all",
            "checks": [{"kind": "number", "value": 1}, {"kind": "all", "checks": [{"kind": "text", "accept": ["x"]}]}],
        }
    )
    assert iter_kinds(check) == ["all", "number", "all", "text"]


def test_committed_reference_is_current() -> None:
    """docs/pack-reference.md comes from the models: `python -m tutor.pack.docgen > docs/pack-reference.md`."""
    from tutor.pack.docgen import render

    assert (REPO / "docs" / "pack-reference.md").read_text(encoding="utf-8") == render()
