"""The course map's outline is cached as JSON and read again whenever a pack file changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.pack.helpers import GOOD_LESSON, write_pack
from tutor.pack import index as index_module
from tutor.pack.index import read_index


def test_cached_outline_is_used_until_a_file_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_pack(tmp_path / "pack", {"http/01.yaml": GOOD_LESSON.format(id="first")})
    cache = tmp_path / "cache"
    fresh = read_index(root, cache_dir=cache)
    assert [lesson.id for lesson in fresh.lessons] == ["first"]

    def no_reading(root: Path) -> None:
        raise AssertionError("the pack was read again although nothing changed")

    monkeypatch.setattr(index_module, "_read_index", no_reading)
    cached = read_index(root, cache_dir=cache)
    assert cached == fresh  # the same outline, dataclass for dataclass

    monkeypatch.undo()
    lesson = root / "http" / "01.yaml"
    lesson.write_text(GOOD_LESSON.format(id="renamed"), encoding="utf-8")
    os.utime(lesson, ns=(1, 1))  # a different mtime even on a coarse clock
    assert [lesson.id for lesson in read_index(root, cache_dir=cache).lessons] == ["renamed"]
    (root / "http" / "02.yaml").write_text(GOOD_LESSON.format(id="second"), encoding="utf-8")
    assert [lesson.id for lesson in read_index(root, cache_dir=cache).lessons] == ["renamed", "second"]


def test_a_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    root = write_pack(tmp_path / "pack", {"http/01.yaml": GOOD_LESSON.format(id="first")})
    cache = tmp_path / "cache"
    read_index(root, cache_dir=cache)
    for file in cache.iterdir():
        file.write_text("{not json", encoding="utf-8")
    assert [lesson.id for lesson in read_index(root, cache_dir=cache).lessons] == ["first"]


def test_a_validated_pack_opens_from_the_parse_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An author validates, then opens the pack: the outline comes from the data the validation
    parsed (tutor.pack.parse_cache), not from reading the YAML again, and is the same outline."""
    import yaml

    from tutor.pack.loader import load_pack

    root = write_pack(
        tmp_path / "pack", {"http/01.yaml": GOOD_LESSON.format(id="first"), "http/02.yaml": GOOD_LESSON.format(id="b")}
    )
    cache = tmp_path / "cache"
    reference = read_index(root)  # no cache: read from the YAML
    assert load_pack(root, cache_dir=cache).errors == []

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("the YAML was parsed again")

    monkeypatch.setattr(yaml, "load", no_parsing)
    assert read_index(root, cache_dir=cache) == reference
