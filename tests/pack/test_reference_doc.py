"""docs/pack-reference.md and the JSON Schemas are made from the same models, and say the same: every
`$defs` entry of both schemas is a section of the reference, every key of each is a row of that
section's table, and every link to a section of the reference goes somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tutor.pack.docgen import render
from tutor.pack.schema import SCHEMAS

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / "docs" / "pack-reference.md"


def _tables(markdown: str) -> dict[str, set[str]]:
    """### heading -> the keys (first column) of the table under it."""
    tables: dict[str, set[str]] = {}
    current = None
    for line in markdown.splitlines():
        if line.startswith("### "):
            current = line[4:].strip()
            tables[current] = set()
        elif current is not None and (row := re.match(r"\| `([^`]+)` \|", line)):
            tables[current].add(row.group(1))
    return tables


def _slug(heading: str) -> str:
    """The anchor GitHub (and most Markdown viewers) give a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(markdown: str) -> set[str]:
    return {_slug(line.lstrip("#")) for line in markdown.splitlines() if line.startswith("#")}


@pytest.mark.parametrize("which", sorted(SCHEMAS))
def test_every_key_of_the_json_schema_is_in_the_reference(which: str) -> None:
    schema = SCHEMAS[which]()
    tables = _tables(render())
    root = {"lesson": "Lesson", "pack": "PackManifest"}[which]
    objects = {root: schema, **schema.get("$defs", {})}
    for name, definition in objects.items():
        assert name in tables, f"{name} is in the {which} schema but has no section in the reference"
        keys = set(definition.get("properties", {}))
        assert keys <= tables[name], f"{name}: {sorted(keys - tables[name])} are not in the reference"


def test_every_link_to_a_section_of_the_reference_goes_somewhere() -> None:
    reference = render()
    anchors = _anchors(reference)
    inside = set(re.findall(r"\]\(#([^)]+)\)", reference))
    assert inside - anchors == set(), "links inside the reference to sections it does not have"
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        outside = set(re.findall(r"pack-reference\.md#([^)\s]+)\)", text))
        assert outside - anchors == set(), f"{path.name} links to sections the reference does not have"


def test_the_build_it_section_and_the_keys_it_had_lost_are_there() -> None:
    tables = _tables(render())
    assert {"starter", "module", "open", "database"} <= tables["BuildSettings"]
    assert {"kind", "steps"} <= tables["CodeHttpCheck"] and {"kind", "tests", "timeout"} <= tables["CodeTestsCheck"]
    assert {"max_failures", "lockout_seconds"} <= tables["LoginThrottle"]


def test_the_committed_reference_is_the_generated_one() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == render(), (
        "run: python -m tutor.pack.docgen > docs/pack-reference.md"
    )


def test_every_link_to_a_section_of_the_same_page_goes_somewhere() -> None:
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        anchors = _anchors(text)
        links = set(re.findall(r"\]\(#([^)]+)\)", text))
        assert links - anchors == set(), f"{path.name} links to sections it does not have"
