"""Every ```yaml example in the docs is checked against the models the loader uses, so none can rot.

A block is a whole pack.yaml (it has `tracks`), a whole lesson (`id` and `steps`), or a fragment whose
top-level keys (and the keys of its `steps`) are fields of a lesson or a step (`check`, `solution`,
`sandboxes`, `hints`, ...). A block whose first line is `# wrong:` shows a trap: it must NOT validate.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from tutor.pack.models import Lesson, PackManifest, Step
from tutor.pack.yamlpos import YamlProblem, load_located

DOCS = Path(__file__).resolve().parents[2] / "docs"
FENCE = re.compile(r"^```yaml\n(.*?)^```", re.MULTILINE | re.DOTALL)


def examples() -> list[Any]:
    found = []
    for path in sorted(DOCS.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text[: match.start()].count("\n") + 2
            found.append(pytest.param(match.group(1), id=f"{path.name}:{line}"))
    return found


def validate(block: str) -> None:
    data = load_located(block).data
    assert isinstance(data, dict), "an example is a mapping of keys"
    if "tracks" in data:
        PackManifest.model_validate(data)
        return
    if "steps" in data and "id" in data:
        Lesson.model_validate(data)
        return
    for key, value in data.items():
        if key == "steps":  # a fragment of a lesson: each key of each step is checked on its own
            for step in value:
                for step_key, step_value in step.items():
                    TypeAdapter(Step.model_fields[step_key].annotation).validate_python(step_value)
            continue
        model = Step if key in Step.model_fields else Lesson if key in Lesson.model_fields else None
        assert model is not None, f"'{key}' is not a key of a lesson or a step"
        TypeAdapter(model.model_fields[key].annotation).validate_python(value)


def test_the_guide_has_examples() -> None:
    assert len(examples()) >= 20


@pytest.mark.parametrize("block", examples())
def test_yaml_example(block: str) -> None:
    if block.startswith("# wrong:"):
        with pytest.raises((ValidationError, YamlProblem)):
            validate(block)
        return
    validate(block)


def test_every_check_kind_has_an_example() -> None:
    from tutor.pack.checks import CheckSpec

    kinds: set[str] = set()
    for member in TypeAdapter(CheckSpec).json_schema()["$defs"].values():
        kind = member.get("properties", {}).get("kind", {}).get("const")
        if kind:
            kinds.add(kind)
    text = (DOCS / "pack-format.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"kind: (\w+)", "\n".join(m.group(1) for m in FENCE.finditer(text))))
    assert kinds and kinds <= shown, f"no example for {sorted(kinds - shown)}"
