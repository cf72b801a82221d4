"""Which packs run code, and which of those the learner agreed to run.

A build-it step runs Python the pack wrote: its starter files (the learner's app starts from them)
and its `code_tests` files. A pack with such a step "runs code". `backend-tutor pack install --trust`
records the same answer the app's question does. The built-in pack is trusted; for
any other pack the app asks before the first such step, and the answer is kept per pack id and version
in `trusted-packs.json` in the tutor's home (a new version asks again: its code is new).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutor.pack.loader import Pack
    from tutor.paths import Home

FILE = "trusted-packs.json"


def runs_code(pack: Pack) -> bool:
    """Any step runs the learner's or the pack's Python: a build-it lesson, or a step checked by
    `code_http` or `code_tests` (the same answer `pack info`, `pack list` and the picker give)."""
    from tutor.pack.checks import CODE_KINDS, iter_kinds

    for entry in pack.lessons:
        if entry.lesson.build is not None:
            return True
        for step in entry.lesson.steps:
            if CODE_KINDS & set(iter_kinds(step.check)):
                return True
    return False


def is_builtin(pack: Pack) -> bool:
    from tutor.paths import builtin_pack_path

    return pack.root.resolve() == builtin_pack_path().resolve()


def _read(home: Home) -> dict[str, list[str]]:
    try:
        data = json.loads((home.root / FILE).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): [str(v) for v in vs] for k, vs in data.items() if isinstance(vs, list)}


def is_trusted(home: Home, pack: Pack) -> bool:
    return is_builtin(pack) or not runs_code(pack) or pack.version in _read(home).get(pack.id, [])


def trust(home: Home, pack: Pack) -> None:
    data = _read(home)
    versions = data.setdefault(pack.id, [])
    if pack.version not in versions:
        versions.append(pack.version)
    home.root.mkdir(parents=True, exist_ok=True)
    target = home.root / FILE
    temporary = target.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=1, sort_keys=True))
    temporary.replace(target)


def question(pack: Pack) -> str:
    return (
        f"The pack '{pack.title}' ({pack.id} {pack.version}) runs code on this computer: its build-it "
        "lessons start Python files the pack wrote (starter files and tests), as you. The tutor runs them "
        "in a separate process on 127.0.0.1 and stops them after a time limit, but it cannot stop what "
        "they do to your files. Run this pack's code?"
    )


def home_file(home: Home) -> Path:
    return home.root / FILE
