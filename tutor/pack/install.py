"""Installed packs: `$BACKEND_TUTOR_HOME/packs/<pack id>/`, plus packs published as Python wheels.

    install(source, home, trust=False) -> InstallReport     # a folder or a .zip; validated first
    installed(home) -> [InstalledPack]                      # folders in packs/, then wheel packs
    find(pack_id, home) -> InstalledPack | None
    remove(pack_id, home)                                   # progress is kept

A wheel publishes a pack through the entry point group `backend_tutor.packs`: the entry point names a
module (whose folder holds pack.yaml), or an object that is a path or a function returning one:

    [project.entry-points."backend_tutor.packs"]
    acme-bootcamp = "acme_pack"

Installing a new version of an installed pack replaces the folder atomically and moves the learner's
progress along the pack's `renamed` ids (pack.yaml for lessons, each lesson file for steps). Progress
of lessons and steps that are gone is kept, unshown, so a later version that brings them back finds it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutor.pack.wheel_check import ENTRY_POINT_GROUP

if TYPE_CHECKING:  # the loader (pydantic) is imported only when a pack is installed: starting stays cheap
    from tutor.pack.index import PackIndex
    from tutor.pack.loader import Pack
    from tutor.paths import Home

INSTALL_RECORD = ".installed.json"
# Both run Python the pack wrote: code_tests its test files, code_http the starter files the learner's
# app grows from (an untouched starter runs as the pack wrote it). tutor.pack.checks.CODE_KINDS, without
# importing pydantic.
CODE_KINDS = frozenset({"code_http", "code_tests", "code_own_tests"})


class InstallError(Exception):
    """The pack cannot be installed; the message says why (and `problems` lists pack errors)."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


@dataclass(frozen=True)
class InstalledPack:
    id: str
    title: str
    version: str
    root: Path
    source: str  # "installed", "wheel <distribution>" or "built-in"
    runs_code: bool = False


@dataclass
class InstallReport:
    pack: InstalledPack
    previous_version: str | None
    moved: list[tuple[str, str]] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)  # lesson or lesson/step ids with progress, gone now
    left_out: list[str] = field(default_factory=list)  # files of the folder not installed (as pack build)


def runs_code(pack: Pack) -> bool:
    """True when any lesson runs Python from the pack on the learner's machine: a build-it lesson, or a
    step checked by `code_http` or `code_tests` (the one rule, `tutor.code.trust.runs_code`)."""
    from tutor.code.trust import runs_code as pack_runs_code

    return pack_runs_code(pack)


def runs_code_raw(root: Path) -> bool:
    """The same answer from the raw YAML, without validating (for listings and the picker)."""
    import yaml

    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in sorted(root.glob("*/*.y*ml")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if not any(kind in text for kind in CODE_KINDS) and "build" not in text:
            continue
        try:
            data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
        except yaml.YAMLError:
            continue
        if (isinstance(data, dict) and data.get("build") is not None) or _mentions_code_kind(data):
            return True
    return False


def _mentions_code_kind(node: Any) -> bool:
    if isinstance(node, dict):
        if node.get("kind") in CODE_KINDS:
            return True
        return any(_mentions_code_kind(value) for value in node.values())
    if isinstance(node, list):
        return any(_mentions_code_kind(value) for value in node)
    return False


def _outline(root: Path, source: str) -> InstalledPack | None:
    import yaml

    try:
        data = yaml.safe_load((root / "pack.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return None
    return InstalledPack(
        id=data["id"],
        title=str(data.get("title") or data["id"]),
        version=str(data.get("version") or "?"),
        root=root,
        source=source,
        runs_code=runs_code_raw(root),
    )


def wheel_packs() -> list[InstalledPack]:
    """Packs published by installed distributions through the `backend_tutor.packs` entry point group."""
    from importlib.metadata import entry_points

    found: list[InstalledPack] = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            target: Any = point.load()
        except Exception:  # noqa: S112 - a broken third-party package must not stop the listing
            continue
        if callable(target) and not isinstance(target, type):
            try:
                target = target()
            except Exception:  # noqa: S112
                continue
        if hasattr(target, "__file__") and target.__file__:
            target = Path(target.__file__).parent
        if not isinstance(target, str | os.PathLike):
            continue
        root = Path(target)
        dist = getattr(point, "dist", None)
        name = getattr(dist, "name", None) or point.value.split(":")[0]
        outline = _outline(root, f"wheel {name}") if (root / "pack.yaml").is_file() else None
        if outline is not None:
            found.append(outline)
    return found


def installed(home: Home) -> list[InstalledPack]:
    """Installed packs (sorted by id), then wheel packs whose id no installed folder uses."""
    result: list[InstalledPack] = []
    if home.packs.is_dir():
        for folder in sorted(home.packs.iterdir()):
            if folder.name.startswith(".") or not (folder / "pack.yaml").is_file():
                continue
            outline = _outline(folder, "installed")
            if outline is not None:
                result.append(outline)
    ids = {p.id for p in result}
    result.extend(p for p in wheel_packs() if p.id not in ids)
    reserved = builtin_id()  # a pack with the built-in pack's id would share its progress: not offered
    return [p for p in result if p.id != reserved]


def find(pack_id: str, home: Home) -> InstalledPack | None:
    for entry in installed(home):
        if entry.id == pack_id:
            return entry
    from tutor.paths import builtin_pack_path

    builtin = _outline(builtin_pack_path(), "built-in")
    if builtin is not None and builtin.id == pack_id:
        return builtin
    return None


def follow_renames(outline: PackIndex, home: Home) -> list[tuple[str, str]]:
    """Move progress along the renames the pack declares (its outline carries them; cheap, idempotent:
    done on install, and by the app on every open)."""
    if not outline.renamed and not outline.renamed_steps:
        return []
    from tutor.progress import ProgressError, ProgressStore

    try:
        with ProgressStore.open(home.progress_db) as store:
            return store.apply_renames(outline.id, outline.renamed, outline.renamed_steps)
    except ProgressError:
        return []


def _verify_checksums(root: Path) -> None:
    """A built pack carries pack-manifest.json with each file's sha256: refuse a pack changed after the build."""
    from tutor.pack.build import BUILD_MANIFEST, sha256_file

    record = root / BUILD_MANIFEST
    if not record.is_file():
        return
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
        files: dict[str, str] = data["files"]
    except (OSError, ValueError, KeyError, TypeError):
        raise InstallError(f"{BUILD_MANIFEST} is not readable: the archive is damaged") from None
    for rel, digest in files.items():
        path = (root / rel).resolve()
        if not path.is_relative_to(root.resolve()) or not path.is_file():
            raise InstallError(f"{rel} is listed in {BUILD_MANIFEST} but missing: the archive is damaged")
        if sha256_file(path) != digest:
            raise InstallError(f"{rel} changed after the pack was built (its sha256 does not match)")


def builtin_id() -> str | None:
    """The id of the pack that ships with the tutor (its progress is kept under that id)."""
    from tutor.paths import builtin_pack_path

    outline = _outline(builtin_pack_path(), "built-in")
    return outline.id if outline is not None else None


def _stage(root: Path, staged: Path) -> list[str]:
    """Copy the pack at `root` into `staged` as `pack build` would put it in a zip: symbolic links (and
    what they point to), dot files, editor backups and what `.packignore` lists stay out, so a pack
    installed from a folder is the pack its author would hand out. Returns what was left out."""
    from tutor.pack.build import BUILD_MANIFEST, select_files

    files, left_out = select_files(root)
    if (root / BUILD_MANIFEST).is_file() and not (root / BUILD_MANIFEST).is_symlink():
        files.append(BUILD_MANIFEST)  # a built zip's checksums, checked before staging: kept with the pack
    staged.mkdir()
    for rel in files:
        target = staged / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / rel, target, follow_symlinks=False)
    return [rel for rel in left_out if rel != BUILD_MANIFEST]


def install(source: Path, home: Home, *, trust: bool = False, force: bool = False) -> InstallReport:
    """Validate the pack at `source` (a folder or a .zip) and install it as packs/<id>/.

    Killed half-way, it leaves a `.install-<pid>-*` folder that the next install removes; the installed
    pack is replaced by a rename, so it is the old version or the new one, never a mix."""
    from tutor.files import scratch_prefix, sweep_leftovers
    from tutor.pack.archive import ArchiveError, extract_pack
    from tutor.pack.loader import load_pack
    from tutor.pack.models import version_tuple

    home.packs.mkdir(parents=True, exist_ok=True)
    for purpose in ("install", "remove"):
        sweep_leftovers(home.packs, purpose)
    scratch = Path(tempfile.mkdtemp(prefix=scratch_prefix("install"), dir=home.packs))
    try:
        if source.is_file():
            try:
                root = extract_pack(source, scratch)
            except ArchiveError as exc:
                raise InstallError(str(exc)) from None
            _verify_checksums(root)
        elif (source / "pack.yaml").is_file():
            root = source
        else:
            raise InstallError(f"{source}: give a pack folder (with pack.yaml) or a .zip of one")
        staged = scratch / "staged"
        left_out = _stage(root, staged)
        result = load_pack(staged)  # what is validated is exactly what is installed
        if not result.ok or result.pack is None:
            why = "the pack does not validate; nothing was installed"
            if left_out:
                why += f" (left out, as pack build leaves them out: {', '.join(left_out)})"
            raise InstallError(why, [str(p) for p in result.errors or result.problems])
        pack = result.pack
        reserved = builtin_id()
        if pack.id == reserved and root.resolve() != _builtin_root().resolve():
            raise InstallError(
                f"'{pack.id}' is the id of the pack that comes with backend-tutor; progress is kept per pack id, "
                "so the two would share it. Give this pack its own id in pack.yaml"
            )
        code = runs_code(pack)
        if code and not trust:
            raise InstallError(
                f"{pack.id} runs Python code from the pack on this machine (build-it lessons); "
                "install it only from an author you trust, with --trust"
            )
        target = home.packs / pack.id
        previous = _outline(target, "installed") if (target / "pack.yaml").is_file() else None
        if previous is not None and not force and version_tuple(pack.version) < version_tuple(previous.version):
            raise InstallError(
                f"{pack.id} {previous.version} is installed, which is newer than {pack.version}; "
                "use --force to install the older version"
            )
        (staged / INSTALL_RECORD).write_text(
            json.dumps(
                {"id": pack.id, "version": pack.version, "source": str(source), "installed_at": int(time.time())},
                indent=2,
            ),
            encoding="utf-8",
        )
        old = scratch / "previous"
        if target.exists():
            target.rename(old)
        staged.rename(target)
        pack = replace(pack, root=target)
        # The course map's outline, read now, once: the learner's first open of a big pack then reads one
        # small JSON file instead of every lesson (1.9 s for 1,000 lessons on these machines). It also
        # carries the renames the progress follows.
        from tutor.pack.index import read_index

        outline = read_index(target, cache_dir=home.cache)
        if code:  # the learner said yes on the command line: the app does not ask again for this version
            from tutor.code.trust import trust as record_trust

            record_trust(home, pack)
        moved = follow_renames(outline, home)
        hidden = _hidden_progress(pack, home)
        entry = InstalledPack(pack.id, pack.title, pack.version, target, "installed", code)
        return InstallReport(entry, previous.version if previous else None, moved, hidden, left_out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _builtin_root() -> Path:
    from tutor.paths import builtin_pack_path

    return builtin_pack_path()


def _hidden_progress(pack: Pack, home: Home) -> list[str]:
    from tutor.progress import ProgressError, ProgressStore

    try:
        with ProgressStore.open(home.progress_db) as store:
            recorded = store.pack_steps(pack.id)
    except ProgressError:
        return []
    hidden: list[str] = []
    for lesson_id, steps in sorted(recorded.items()):
        lesson = pack.lesson(lesson_id)
        if lesson is None:
            hidden.append(lesson_id)
            continue
        current = {s.id for s in lesson.steps}
        hidden.extend(f"{lesson_id}/{s}" for s in sorted(steps) if s not in current)
    return hidden


def remove(pack_id: str, home: Home) -> Path:
    target = home.packs / pack_id
    if not (target / "pack.yaml").is_file() or pack_id.startswith("."):
        known = ", ".join(p.id for p in installed(home) if p.source == "installed") or "none"
        raise InstallError(f"no installed pack '{pack_id}' (installed: {known})")
    from tutor.files import scratch_prefix

    trash = Path(tempfile.mkdtemp(prefix=scratch_prefix("remove"), dir=home.packs))
    target.rename(trash / pack_id)
    shutil.rmtree(trash, ignore_errors=True)
    return target
