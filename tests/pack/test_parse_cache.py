"""The parse cache (tutor.pack.parse_cache) changes how fast a pack loads, never what it reports.

Every error-class test of the loader runs again here with each load done three ways: without the
cache, with a cold cache (which fills it), and with the warm cache (lesson files come back as data,
positions are read only when a problem needs one). The three must report exactly the same problems,
and the warm load must really have come from the cache.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tests.pack.helpers as helpers
from tests.pack.helpers import GOOD_LESSON, write_pack
from tests.pack.test_author_errors import *  # noqa: F403 - the same tests, run through the cache
from tests.pack.test_loader_errors import *  # noqa: F403
from tutor.pack import parse_cache
from tutor.pack.loader import PackLoad, load_pack
from tutor.paths import builtin_pack_path


def _said(result: PackLoad) -> list[str]:
    return [str(p) for p in result.problems]


@pytest.fixture(autouse=True)
def _through_the_cache(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    def three_ways(root: Path | str, cache_dir: Path | None = None) -> PackLoad:
        cache = tmp_path_factory.mktemp("cache")
        plain = load_pack(root)
        cold = load_pack(root, cache_dir=cache)
        warm = load_pack(root, cache_dir=cache)
        assert _said(cold) == _said(plain)
        assert _said(warm) == _said(plain)
        return warm

    monkeypatch.setattr(helpers, "load_pack", three_ways)


def test_the_builtin_pack_comes_back_from_the_cache_unchanged(tmp_path: Path) -> None:
    root = builtin_pack_path()
    plain = load_pack(root)
    load_pack(root, cache_dir=tmp_path)
    cache = parse_cache.ParseCache.for_pack(tmp_path, root)
    files = sorted(root.rglob("*.yaml"))
    warm = load_pack(root, cache_dir=tmp_path)
    assert plain.ok and warm.ok and plain.pack is not None and warm.pack is not None
    assert [e.lesson for e in warm.pack.lessons] == [e.lesson for e in plain.pack.lessons]
    assert warm.pack.manifest == plain.pack.manifest
    # every file that is plain YAML data is in the cache (pack.yaml and lessons; no stray entries)
    stored = json.loads(cache.file.read_text())["files"]
    assert 0 < len(stored) <= len(files)
    assert len(stored) >= len(plain.pack.lessons)


def test_a_clean_cached_file_still_gets_exact_positions_for_a_problem_elsewhere(tmp_path: Path) -> None:
    """Lesson b is cached clean; deleting lesson a makes b's prerequisite an error, whose position is
    read from b's text then."""
    b = GOOD_LESSON.format(id="b").replace("track: http\n", "track: http\nprerequisites:\n  - a\n")
    root = write_pack(tmp_path / "pack", {"http/01.yaml": GOOD_LESSON.format(id="a"), "http/02.yaml": b})
    cache = tmp_path / "cache"
    assert load_pack(root, cache_dir=cache).errors == []
    (root / "http/01.yaml").unlink()
    warm = load_pack(root, cache_dir=cache)
    assert _said(warm) == _said(load_pack(root))
    assert any(p.startswith("http/02.yaml:5:5:") for p in _said(warm)), _said(warm)


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    root = write_pack(tmp_path / "pack", {"http/01.yaml": GOOD_LESSON.format(id="first")})
    cache = tmp_path / "cache"
    load_pack(root, cache_dir=cache)
    (root / "http/01.yaml").write_text(GOOD_LESSON.format(id="first").replace("A lesson", "Renamed"))
    warm = load_pack(root, cache_dir=cache)
    assert warm.pack is not None and warm.pack.lessons[0].lesson.title == "Renamed"


@pytest.mark.parametrize(
    ("extra", "why"),
    [("when: 2026-12-02\n", "a YAML date is not JSON"), ("200: ok\n", "a number as a key comes back as text")],
)
def test_data_json_would_change_is_not_cached(tmp_path: Path, extra: str, why: str) -> None:
    root = write_pack(tmp_path / "pack", {"http/01.yaml": extra + GOOD_LESSON.format(id="first")})
    cache = tmp_path / "cache"
    first = load_pack(root, cache_dir=cache)
    stored = json.loads(parse_cache.ParseCache.for_pack(cache, root).file.read_text())["files"]
    lesson_key = parse_cache.ParseCache.key((root / "http/01.yaml").read_bytes())
    manifest_key = parse_cache.ParseCache.key((root / "pack.yaml").read_bytes())
    assert lesson_key not in stored, why
    assert manifest_key in stored
    assert _said(load_pack(root, cache_dir=cache)) == _said(first)


def test_a_damaged_cache_is_ignored_and_rewritten(tmp_path: Path) -> None:
    root = write_pack(tmp_path / "pack", {"http/01.yaml": GOOD_LESSON.format(id="first")})
    cache = tmp_path / "cache"
    file = parse_cache.ParseCache.for_pack(cache, root).file
    file.parent.mkdir(parents=True)
    file.write_bytes(b'{"format": 1, "files": {"abc": ')  # cut short
    assert load_pack(root, cache_dir=cache).errors == []
    assert len(json.loads(file.read_text())["files"]) == 2  # pack.yaml and the lesson
    rewritten = parse_cache.ParseCache(file)  # and the next run reads it again
    lesson = rewritten.get(rewritten.key((root / "http/01.yaml").read_bytes()))
    assert isinstance(lesson, dict) and lesson["id"] == "first"
