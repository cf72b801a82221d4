"""Small packs written into tmp_path, so each test shows exactly the YAML it is about."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tutor.pack.loader import PackLoad, load_pack

MANIFEST = """\
id: test-pack
title: Test pack
version: 1.0.0
tracks:
  - id: http
    title: HTTP
  - id: databases
    title: Databases
"""

GOOD_LESSON = """\
id: {id}
title: A lesson
track: http
steps:
  - id: one
    title: One
    text: Pick one.
    check:
      kind: choice
      options:
        - {{id: a, text: A}}
        - {{id: b, text: B}}
      correct: a
    solution: {{answer: a}}
    wrong_answers:
      - answer: b
"""


def write_pack(root: Path, files: dict[str, str], manifest: str | None = MANIFEST) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if manifest is not None:
        (root / "pack.yaml").write_text(textwrap.dedent(manifest), encoding="utf-8")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def problems(root: Path) -> list[str]:
    return [str(p) for p in load_pack(root).errors]


def load(root: Path) -> PackLoad:
    return load_pack(root)
