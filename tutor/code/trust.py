"""Which packs run code, and which of those the learner agreed to run.

A build-it step runs Python the pack wrote: its starter files (the learner's app starts from them)
and its `code_tests` files. A pack with such a lesson "runs code". The built-in pack is trusted; any
other pack is asked about before its code first runs: by the app before the first build-it check, by
`pack test` and `pack build` before they replay its steps (`--trust` answers yes, for CI), and by
`pack install` (which refuses without `--trust`).

A yes is remembered by the pack's *content*, not its name: `code_digest` is a sha256 over every file
that can change what runs (every file `pack build` would put in the zip, except Markdown and the lesson
files of lessons that run no code), kept in `trusted-packs.json` in the tutor's home as
`{"format": 2, "packs": {id: [digest, ...]}}`. Change a starter, a test, a solution or a build-it lesson
and the pack is asked about again; an installed pack and the folder it came from have the same digest.
Trust recorded by earlier versions of the tutor (per id and version) is not honoured: such a pack is
asked about once more.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutor.pack.loader import Pack
    from tutor.pack.models import Lesson
    from tutor.paths import Home

FILE = "trusted-packs.json"
FORMAT = 2


def lesson_runs_code(lesson: Lesson) -> bool:
    from tutor.pack.checks import CODE_KINDS, iter_kinds

    if lesson.build is not None:
        return True
    return any(CODE_KINDS & set(iter_kinds(step.check)) for step in lesson.steps)


def runs_code(pack: Pack, lesson_id: str | None = None) -> bool:
    """A build-it lesson, or a step checked by `code_http` or `code_tests`: Python from the pack runs
    (in that one lesson, when `lesson_id` is given). The one definition: `tutor.pack.install.runs_code`
    and `pack info` ask this."""
    return any(
        lesson_runs_code(entry.lesson) for entry in pack.lessons if lesson_id is None or entry.lesson.id == lesson_id
    )


def is_builtin(pack: Pack) -> bool:
    from tutor.paths import builtin_pack_path

    return pack.root.resolve() == builtin_pack_path().resolve()


# -- the digest ---------------------------------------------------------------------------------------
_digests: dict[tuple[str, tuple[tuple[str, int, int], ...]], str] = {}
_digests_lock = threading.Lock()


def digested_files(pack: Pack) -> list[str]:
    """'/'-separated paths of the files `code_digest` covers, sorted."""
    from tutor.pack.build import select_files

    files, _left_out = select_files(pack.root)
    quiet = {entry.path.replace(os.sep, "/") for entry in pack.lessons if not lesson_runs_code(entry.lesson)}
    return [rel for rel in files if rel not in quiet and not rel.lower().endswith(".md")]


def code_digest(pack: Pack) -> str:
    """sha256 of the files that can change what the pack runs (names and contents). Cached while no
    file's size or modification time changes, so asking on every save costs a few stat calls."""
    root = pack.root.resolve()
    names = digested_files(pack)
    stamp = []
    for rel in names:
        info = (root / rel).stat()
        stamp.append((rel, info.st_size, info.st_mtime_ns))
    key = (str(root), tuple(stamp))
    with _digests_lock:
        if key in _digests:
            return _digests[key]
    digest = hashlib.sha256()
    for rel in names:
        digest.update(rel.encode() + b"\0")
        digest.update(hashlib.sha256((root / rel).read_bytes()).digest())
    value = digest.hexdigest()
    with _digests_lock:
        _digests[key] = value
    return value


# -- what the learner agreed to -----------------------------------------------------------------------
def _read(home: Home) -> dict[str, list[str]]:
    try:
        data = json.loads((home.root / FILE).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("packs"), dict):
        return {}  # an older record (per id and version) or a damaged one: ask again
    return {str(k): [str(v) for v in vs] for k, vs in data["packs"].items() if isinstance(vs, list)}


def is_trusted(home: Home, pack: Pack) -> bool:
    return is_builtin(pack) or not runs_code(pack) or code_digest(pack) in _read(home).get(pack.id, [])


def trust(home: Home, pack: Pack) -> None:
    """Remember a yes for this pack's current content (tutor.files.write_atomic: never half a file)."""
    data = _read(home)
    digests = data.setdefault(pack.id, [])
    digest = code_digest(pack)
    if digest in digests:
        return
    digests.append(digest)
    del digests[:-20]  # the last versions the learner ran are plenty
    from tutor.files import write_atomic

    write_atomic(home.root / FILE, json.dumps({"format": FORMAT, "packs": data}, indent=1, sort_keys=True))


def question(pack: Pack) -> str:
    return (
        f"The pack '{pack.title}' ({pack.id} {pack.version}) runs code on this computer: its build-it "
        "lessons start Python files the pack wrote (starter files and tests), as you. The tutor runs them "
        "in a separate process on 127.0.0.1 and stops them after a time limit, but it cannot stop what "
        "they do to your files. Run this pack's code? (Asked again if its code changes.)"
    )


def home_file(home: Home) -> Path:
    return home.root / FILE
