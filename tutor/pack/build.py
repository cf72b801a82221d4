"""`pack build`: a pack folder -> one .zip a cohort installs, with a checksum.

What goes in: pack.yaml, the lesson files, and every other file of the pack folder except what a learner
does not need: version-control folders and other dot files, `__pycache__`/`*.pyc`, editor backups
(`*~`, `*.swp`, `*.swo`, `*.bak`, `#*#`, `.#*`), the editor schemas written by `pack schema --out`
(`schema/*.schema.json`), zips (an earlier build), and whatever `.packignore` lists (one glob per line,
matched against the '/'-separated path inside the pack).

Instructor `notes:`, solutions and wrong answers stay in the lesson files: the tutor shows a solution
(F7) and a wrong answer's feedback, `pack test` needs them, and the tutor never shows notes.

The zip is reproducible (sorted entries, fixed timestamps), holds `pack-manifest.json` (pack id,
version, each file's sha256) and its own sha256 is printed and written next to it as FILE.zip.sha256.
`pack install` checks every file against the manifest.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tutor import __version__
from tutor.files import scratch_prefix, sweep_leftovers, write_atomic
from tutor.pack.loader import Pack

BUILD_MANIFEST = "pack-manifest.json"
FIXED_TIME = (2020, 1, 1, 0, 0, 0)
ALWAYS_LEFT_OUT = (
    "__pycache__",
    "*.pyc",
    "*~",
    "*.swp",
    "*.swo",
    "*.bak",
    "#*#",
    ".#*",
    "*.zip",
    "*.zip.sha256",
)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class BuildResult:
    archive: Path
    sha256: str
    files: list[str]
    left_out: list[str]


def _ignore_patterns(root: Path) -> list[str]:
    path = root / ".packignore"
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def _left_out(rel: str, patterns: list[str]) -> bool:
    parts = rel.split("/")
    if any(part.startswith(".") for part in parts):
        return True
    if any(fnmatch.fnmatch(part, pattern) for part in parts for pattern in ALWAYS_LEFT_OUT):
        return True
    if len(parts) == 2 and parts[0] == "schema" and parts[1].endswith(".schema.json"):
        return True
    return rel == BUILD_MANIFEST or any(
        fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(rel, p.rstrip("/") + "/*") for p in patterns
    )


def select_files(root: Path) -> tuple[list[str], list[str]]:
    """(files that go in, files left out), '/'-separated paths relative to `root`, sorted."""
    patterns = _ignore_patterns(root)
    keep: list[str] = []
    drop: list[str] = []
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            drop.append(path.relative_to(root).as_posix())
            continue
        if not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        (drop if _left_out(rel, patterns) else keep).append(rel)
    return keep, drop


def build_zip(pack: Pack, output: Path) -> BuildResult:
    root = pack.root
    files, left_out = select_files(root)
    manifest = {
        "build_format": 1,
        "pack": {"id": pack.id, "title": pack.title, "version": pack.version},
        "built_with": f"backend-tutor {__version__}",
        "files": {rel: sha256_file(root / rel) for rel in files},
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    purpose = f"{output.name}.partial"
    sweep_leftovers(output.parent, purpose)  # the half-written zip of a build that was killed
    handle, name = tempfile.mkstemp(dir=output.parent, prefix=scratch_prefix(purpose))
    os.close(handle)
    partial = Path(name)
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            for rel in [*files, BUILD_MANIFEST]:
                info = zipfile.ZipInfo(rel, date_time=FIXED_TIME)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                if rel == BUILD_MANIFEST:
                    data = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
                else:
                    data = (root / rel).read_bytes()
                bundle.writestr(info, data)
        os.chmod(partial, 0o644)
        partial.replace(output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    checksum = sha256_file(output)
    write_atomic(output.with_name(output.name + ".sha256"), f"{checksum}  {output.name}\n")
    return BuildResult(output, checksum, files, left_out)
