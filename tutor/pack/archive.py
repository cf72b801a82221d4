"""Packs handed out as a zip file: extracted, safely, into `$BACKEND_TUTOR_HOME/packs/`.

Nothing in an archive may land outside its own folder: absolute names, `..` parts, drive letters,
symlinks and device entries are refused, and so are archives that would unpack to more than
MAX_TOTAL_BYTES or MAX_FILES (a zip bomb). The folder is named by the archive's content hash, so
the same zip is unpacked once and a changed zip never mixes with an old copy.
"""

from __future__ import annotations

import hashlib
import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from tutor.files import scratch_prefix, sweep_leftovers

MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_FILES = 5000
MANIFEST = "pack.yaml"


class ArchiveError(Exception):
    """The archive cannot be used as a pack; the message says why."""


def _safe_name(name: str) -> PurePosixPath:
    normalised = name.replace("\\", "/")
    path = PurePosixPath(normalised)
    if not normalised or path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise ArchiveError(f"refusing '{name}': it would be written outside the pack folder")
    return path


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()[:16]


def extract_pack(archive: Path, packs_dir: Path) -> Path:
    """Unpack `archive` under `packs_dir` and return the folder that holds its pack.yaml."""
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"{archive.name} is not a readable zip file: {exc}") from None
    with bundle:
        members = bundle.infolist()
        if len(members) > MAX_FILES:
            raise ArchiveError(f"{archive.name} holds {len(members)} entries; a pack may hold at most {MAX_FILES}")
        total = 0
        for member in members:
            _safe_name(member.filename)
            kind = stat.S_IFMT(member.external_attr >> 16)  # 0 when the archiver stored no file type
            if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                raise ArchiveError(f"refusing '{member.filename}': only plain files and folders are allowed")
            total += member.file_size
            if total > MAX_TOTAL_BYTES:
                raise ArchiveError(f"{archive.name} unpacks to more than {MAX_TOTAL_BYTES // 1024 // 1024} MiB")
        target = packs_dir / f"{archive.stem}-{_digest(archive)}"
        if not target.is_dir():
            packs_dir.mkdir(parents=True, exist_ok=True)
            sweep_leftovers(packs_dir, "unpack")  # what an unpacking that was killed left behind
            staging = Path(tempfile.mkdtemp(prefix=scratch_prefix("unpack"), dir=packs_dir))
            try:
                for member in members:
                    _extract(bundle, member, staging, archive)
                staging.rename(target)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
    return _pack_root(target, archive)


def _extract(bundle: zipfile.ZipFile, member: zipfile.ZipInfo, staging: Path, archive: Path) -> None:
    relative = _safe_name(member.filename)
    destination = staging.joinpath(*relative.parts)
    if member.is_dir():
        destination.mkdir(parents=True, exist_ok=True)
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        with bundle.open(member) as source, destination.open("wb") as sink:
            for block in iter(lambda: source.read(1 << 20), b""):
                written += len(block)
                if written > member.file_size:  # a header that lies about the size
                    raise ArchiveError(f"'{member.filename}' is larger than its header says")
                sink.write(block)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        # a damaged download: a checksum that does not match, a cut-off or garbled member, an
        # encrypted member or a compression this Python cannot read
        raise ArchiveError(
            f"{archive.name} is damaged: '{member.filename}' cannot be read ({exc}); download it again"
        ) from None


def _pack_root(folder: Path, archive: Path) -> Path:
    if (folder / MANIFEST).is_file():
        return folder
    inner = [p for p in folder.iterdir() if p.is_dir() and (p / MANIFEST).is_file()]
    if len(inner) == 1:  # zipped as "my-pack/pack.yaml"
        return inner[0]
    raise ArchiveError(f"{archive.name} has no pack.yaml at its top (or in a single top folder)")


def resolve_pack_source(path: Path, packs_dir: Path) -> Path:
    """A pack folder as is; a .zip unpacked into `packs_dir`."""
    if path.is_file():
        if path.suffix.lower() != ".zip":
            raise ArchiveError(f"{path.name}: give a pack folder or a .zip of one")
        return extract_pack(path, packs_dir)
    return path
