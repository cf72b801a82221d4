"""Whether any installed distribution publishes a pack: the one question `backend-tutor` asks before its
first screen, so it lives apart from `tutor.pack.install` (whose imports cost about 9 ms there)."""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutor.paths import Home

ENTRY_POINT_GROUP = "backend_tutor.packs"


def paths_key() -> str:
    """Changes when a distribution is installed or removed: the folders on sys.path and their mtimes."""
    parts = []
    for entry in sys.path:
        try:
            parts.append(f"{entry}:{os.stat(entry or '.').st_mtime_ns}")
        except OSError:
            parts.append(f"{entry}:-")
    return "\n".join(parts)


def has_wheel_packs(home: Home) -> bool:
    """Whether any installed distribution publishes a pack, without scanning every distribution's metadata
    on each start (that costs hundreds of milliseconds): the answer is cached in cache/wheel-packs.json
    until the folders on sys.path change."""
    cache = home.cache / "wheel-packs.json"
    key = paths_key()
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if cached.get("key") == key:
            return bool(cached.get("found"))
    except (OSError, ValueError, AttributeError):
        pass
    from importlib.metadata import entry_points

    found = bool(entry_points(group=ENTRY_POINT_GROUP))
    try:
        from tutor.files import write_atomic

        write_atomic(cache, json.dumps({"key": key, "found": found}), durable=False)
    except OSError:
        pass
    return found
