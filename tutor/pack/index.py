"""A fast, tolerant reader of a pack's outline for the course map: no pydantic, no validation.

The course map is the first screen and must draw in about the time a bare Textual app takes, so it
reads only what it shows (pack id/title/version, tracks, and per lesson its id, title, track, minutes,
prerequisites and step ids/titles) with PyYAML's C loader. Full validation (`tutor.pack.loader.load_pack`)
runs afterwards, off the UI thread. A broken file never raises here: it is listed in `problems` and the
rest of the pack is still read.

    index = read_index(path)
    index.title, [t.title for t in index.tracks], index.lessons_in("http")
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutor.pack.parse_cache import ParseCache

MANIFEST = "pack.yaml"
CACHE_FORMAT = 2  # 2: lessons and the pack carry their `renamed` maps
MAX_YAML_BYTES = 1024 * 1024  # the loader's cap (tutor.pack.loader.MAX_YAML_BYTES); kept equal by a test
LESSON_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class StepOutline:
    id: str
    title: str


@dataclass(frozen=True)
class LessonOutline:
    id: str
    title: str
    track: str
    path: str  # relative to the pack root, '/'-separated
    summary: str = ""
    minutes: int | None = None
    prerequisites: tuple[str, ...] = ()
    steps: tuple[StepOutline, ...] = ()
    sandboxes: tuple[str, ...] = ()  # "sql", "api"
    renamed: dict[str, str] = field(default_factory=dict)  # old step id -> new, as the lesson declares

    @property
    def step_ids(self) -> list[str]:
        return [s.id for s in self.steps]


@dataclass(frozen=True)
class TrackOutline:
    id: str
    title: str
    description: str = ""


@dataclass
class PackIndex:
    root: Path
    id: str
    title: str
    version: str
    tracks: list[TrackOutline] = field(default_factory=list)
    lessons: list[LessonOutline] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "file: message", for files that could not be read
    renamed: dict[str, str] = field(default_factory=dict)  # old lesson id -> new, as pack.yaml declares

    @property
    def renamed_steps(self) -> dict[str, dict[str, str]]:
        """lesson id -> (old step id -> new), for the lessons that declare any."""
        return {lesson.id: lesson.renamed for lesson in self.lessons if lesson.renamed}

    def lessons_in(self, track_id: str) -> list[LessonOutline]:
        return [lesson for lesson in self.lessons if lesson.track == track_id]

    def lesson(self, lesson_id: str) -> LessonOutline | None:
        for lesson in self.lessons:
            if lesson.id == lesson_id:
                return lesson
        return None


def _read(path: Path, parsed: ParseCache | None = None) -> Any:
    """The YAML data of `path`; raises ValueError with a short reason when it cannot be read. `parsed`
    gives the data of files a validation read before."""
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise ValueError(f"the file is bigger than {MAX_YAML_BYTES // 1024} KiB")
        raw = path.read_bytes()
        if parsed is not None:
            from tutor.pack.parse_cache import MISSING

            data = parsed.get(parsed.key(raw))
            if data is not MISSING:
                return data
        text = raw.decode("utf-8-sig")
    except OSError as exc:
        raise ValueError(f"cannot read the file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError("the file is not UTF-8 text") from None
    import yaml  # only on a cache miss: the first screen usually reads the cached outline

    # libyaml's safe loader with yamlpos's quicker tag resolver: a 1,000-lesson pack's outline took
    # 2.0 s with PyYAML's own resolver, 1.4 s with this one
    from tutor.pack.yamlpos import QuickSafeLoader

    try:
        return yaml.load(text, Loader=QuickSafeLoader)  # noqa: S506 - the safe loader, a quicker resolver
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValueError(f"not valid YAML{where}") from None


def _text(value: Any, default: str = "") -> str:
    return value.strip() if isinstance(value, str) and value.strip() else default


def _renamed(value: Any) -> dict[str, str]:
    """A `renamed` map: old id -> new id, text to text; anything else in it is ignored (the full
    validation reports it)."""
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def _lesson(rel: str, folder: str, data: Any) -> LessonOutline | None:
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return None
    steps_raw = data.get("steps")
    steps = tuple(
        StepOutline(str(s["id"]), _text(s.get("title"), str(s["id"])))
        for s in (steps_raw if isinstance(steps_raw, list) else [])
        if isinstance(s, dict) and isinstance(s.get("id"), str)
    )
    prereqs = data.get("prerequisites")
    minutes = data.get("minutes")
    sandboxes = data.get("sandboxes")
    return LessonOutline(
        id=data["id"],
        title=_text(data.get("title"), data["id"]),
        track=_text(data.get("track"), folder),
        path=rel,
        summary=_text(data.get("summary")),
        minutes=minutes if isinstance(minutes, int) and not isinstance(minutes, bool) else None,
        prerequisites=tuple(p for p in prereqs if isinstance(p, str)) if isinstance(prereqs, list) else (),
        steps=steps,
        sandboxes=tuple(k for k in ("sql", "api") if isinstance(sandboxes, dict) and sandboxes.get(k)),
        renamed=_renamed(data.get("renamed")),
    )


def _signature(root: Path) -> list[list[Any]]:
    """What the outline depends on: every YAML file one folder deep, with its size and mtime. (os.scandir:
    with pathlib this took 22 ms of a 1,000-lesson pack's first screen.)"""
    found: list[list[Any]] = []
    try:
        manifest = os.stat(root / MANIFEST)
        found.append([MANIFEST, manifest.st_size, manifest.st_mtime_ns])
    except OSError:
        pass
    try:
        folders = [e for e in os.scandir(root) if e.is_dir()]
    except OSError:
        return found
    for folder in folders:
        try:
            entries = list(os.scandir(folder.path))
        except OSError:
            continue
        for entry in entries:
            if entry.name.endswith(LESSON_SUFFIXES):
                try:
                    stat = entry.stat()
                except OSError:
                    continue
                found.append([f"{folder.name}/{entry.name}", stat.st_size, stat.st_mtime_ns])
    return sorted(found)


def _from_json(root: Path, doc: dict[str, Any]) -> PackIndex:
    return PackIndex(
        root=root,
        id=doc["id"],
        title=doc["title"],
        version=doc["version"],
        tracks=[TrackOutline(**t) for t in doc["tracks"]],
        lessons=[
            LessonOutline(
                **{k: v for k, v in lesson.items() if k not in ("prerequisites", "steps", "sandboxes")},
                prerequisites=tuple(lesson["prerequisites"]),
                steps=tuple(StepOutline(**s) for s in lesson["steps"]),
                sandboxes=tuple(lesson["sandboxes"]),
            )
            for lesson in doc["lessons"]
        ],
        problems=list(doc["problems"]),
        renamed=dict(doc["renamed"]),
    )


def read_index(root: Path | str, cache_dir: Path | None = None) -> PackIndex:
    """The outline of the pack at `root`. Never raises for a bad pack.

    With `cache_dir`, the outline is kept there as JSON keyed by the pack's path and every YAML file's
    size and mtime, so the first screen of a later start reads one small JSON file and never imports
    yaml; any change to a file (or a file added or removed) reads the pack again."""
    import json

    root = Path(root)
    cache_file: Path | None = None
    signature: list[list[Any]] = []
    if cache_dir is not None:
        import hashlib

        key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
        cache_file = cache_dir / f"outline-{key}.json"
        signature = _signature(root)
        try:
            cached = json.loads(cache_file.read_text(encoding="utf-8"))
            if cached.get("format") == CACHE_FORMAT and cached.get("signature") == signature:
                return _from_json(root, cached["index"])
        except (OSError, ValueError, KeyError, TypeError):
            pass  # no cache yet, or an unreadable one: read the pack
    parsed = None
    if cache_dir is not None:  # a pack validated before: its files' data is in the parse cache
        from tutor.pack.parse_cache import ParseCache

        parsed = ParseCache.for_pack(cache_dir, root)
    index = _read_index(root, parsed)
    if cache_file is not None:
        from dataclasses import asdict

        doc = {k: v for k, v in asdict(index).items() if k != "root"}
        try:
            from tutor.files import write_atomic

            doc_text = json.dumps({"format": CACHE_FORMAT, "signature": signature, "index": doc})
            write_atomic(cache_file, doc_text, durable=False)
        except OSError:
            pass  # a read-only state folder only costs the next start a re-read
    return index


def _read_index(root: Path, parsed: ParseCache | None = None) -> PackIndex:
    index = PackIndex(root=root, id=root.name or "pack", title=root.name or "Lesson pack", version="?")
    try:
        manifest = _read(root / MANIFEST, parsed)
    except ValueError as exc:
        index.problems.append(f"{MANIFEST}: {exc}")
        manifest = None
    if isinstance(manifest, dict):
        index.renamed = _renamed(manifest.get("renamed"))
        index.id = _text(manifest.get("id"), index.id)
        index.title = _text(manifest.get("title"), index.title)
        version = manifest.get("version")
        index.version = str(version) if isinstance(version, str | int | float) else "?"
        tracks = manifest.get("tracks")
        seen: set[str] = set()
        for track in tracks if isinstance(tracks, list) else []:
            if isinstance(track, dict) and isinstance(track.get("id"), str) and track["id"] not in seen:
                seen.add(track["id"])
                index.tracks.append(
                    TrackOutline(track["id"], _text(track.get("title"), track["id"]), _text(track.get("description")))
                )
    elif manifest is not None:
        index.problems.append(f"{MANIFEST}: expected a mapping of keys at the top of the file")
    ids: set[str] = set()
    for track in index.tracks:
        folder = root / track.id
        try:
            files = sorted(p for p in folder.iterdir() if p.suffix in LESSON_SUFFIXES and p.is_file())
        except OSError:
            continue
        for path in files:
            rel = f"{track.id}/{path.name}"
            try:
                lesson = _lesson(rel, track.id, _read(path, parsed))
            except ValueError as exc:
                index.problems.append(f"{rel}: {exc}")
                continue
            if lesson is None:
                index.problems.append(f"{rel}: no lesson id")
                continue
            if lesson.id in ids:
                continue
            ids.add(lesson.id)
            index.lessons.append(lesson if lesson.track == track.id else _with_track(lesson, track.id))
    return index


def _with_track(lesson: LessonOutline, track: str) -> LessonOutline:
    from dataclasses import replace

    return replace(lesson, track=track)
