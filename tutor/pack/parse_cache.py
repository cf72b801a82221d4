"""Parsed YAML kept between runs, keyed by the bytes of each file.

Reading a lesson file with positions (tutor.pack.yamlpos) costs about 2 ms; a 1,000-lesson pack spent
most of `pack validate` there. A file whose bytes were read cleanly before (no YAML problem, no
duplicate key) comes back from this cache as its plain data; its positions are read from the text
again only if something asks where a value stands (a problem to report, a `pack test` line), so the
errors stay exactly as precise.

One cache file per pack folder, in the tutor's cache folder, in JSON: a data-only format, so a
tampered cache can at worst give wrong data, never run anything. JSON keeps exactly what a clean pack
file holds (str, int, float, bool, None, lists, mappings with text keys); a file whose data holds
anything else (a YAML timestamp, a number as a key) is simply not cached. The cache holds only the
files of the last run, is replaced atomically, and anything unreadable in it is ignored and
rewritten: it can always be deleted.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

# Bump when what yamlpos produces from the same bytes changes.
FORMAT = 1
_SALT = f"{FORMAT}:{yaml.__version__}".encode()
MISSING = object()


class ParseCache:
    def __init__(self, file: Path) -> None:
        self.file = file
        self._stored: dict[str, Any] = {}
        self._used: dict[str, Any] = {}
        try:
            loaded = json.loads(file.read_bytes())
            if isinstance(loaded, dict) and loaded.get("format") == FORMAT and isinstance(loaded.get("files"), dict):
                self._stored = loaded["files"]
        except (OSError, ValueError):
            pass

    @classmethod
    def for_pack(cls, cache_dir: Path, root: Path) -> ParseCache:
        name = hashlib.blake2b(str(root.resolve()).encode(), digest_size=8).hexdigest()
        return cls(cache_dir / "parsed" / f"{name}.json")

    @staticmethod
    def key(raw: bytes) -> str:
        return hashlib.blake2b(raw, digest_size=16, key=_SALT[:64]).hexdigest()

    def get(self, key: str) -> Any:
        """The data parsed from these bytes before, or MISSING."""
        found = self._stored.get(key, MISSING)
        if found is not MISSING:
            self._used[key] = found
        return found

    def put(self, key: str, data: Any) -> None:
        """Keep data that JSON gives back exactly (yamlpos.Located.plain says so)."""
        self._used[key] = data

    def save(self) -> None:
        """Keep exactly the files of this run; nothing is written when that is what is stored."""
        if self._used.keys() == self._stored.keys():
            return
        try:
            from tutor.files import write_atomic

            blob = json.dumps({"format": FORMAT, "files": self._used}, separators=(",", ":")).encode()
            write_atomic(self.file, blob, durable=False)
        except (OSError, ValueError):
            pass  # a cache that cannot be written only costs the next run its speed
        self._stored = dict(self._used)
