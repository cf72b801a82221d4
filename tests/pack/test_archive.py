"""A pack handed out as a zip unpacks inside its own folder, or not at all."""

from __future__ import annotations

import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import BUILTIN, REPO
from tutor.pack.archive import ArchiveError, extract_pack
from tutor.pack.loader import load_pack


def zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w") as bundle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                bundle.write(path, prefix + path.relative_to(folder).as_posix())
    return target


def test_zipped_pack_unpacks_and_validates(tmp_path: Path) -> None:
    archive = zip_folder(BUILTIN, tmp_path / "course.zip", prefix="course/")
    root = extract_pack(archive, tmp_path / "packs")
    assert root.name == "course"
    assert load_pack(root).ok
    assert extract_pack(archive, tmp_path / "packs") == root  # the same zip is unpacked once


@pytest.mark.parametrize("name", ["../evil.yaml", "/etc/evil.yaml", "a/../../evil.yaml", "C:/evil.yaml", "..\\evil"])
def test_entries_that_escape_are_refused(tmp_path: Path, name: str) -> None:
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("pack.yaml", "id: x\n")
        bundle.writestr(name, "boom")
    with pytest.raises(ArchiveError, match="outside the pack folder"):
        extract_pack(archive, tmp_path / "packs")
    assert not (tmp_path / "evil.yaml").exists()
    assert not list((tmp_path / "packs").glob("bad-*")) if (tmp_path / "packs").exists() else True


def test_symlink_entries_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        info = zipfile.ZipInfo("pack.yaml")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        bundle.writestr(info, "/etc/passwd")
    with pytest.raises(ArchiveError, match="only plain files"):
        extract_pack(archive, tmp_path / "packs")


def test_zip_bomb_is_refused_before_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tutor.pack.archive.MAX_TOTAL_BYTES", 1024 * 1024)
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("pack.yaml", b"0" * (2 * 1024 * 1024))
    with pytest.raises(ArchiveError, match="unpacks to more than 1 MiB"):
        extract_pack(archive, tmp_path / "packs")


def test_not_a_zip_and_no_manifest(tmp_path: Path) -> None:
    fake = tmp_path / "fake.zip"
    fake.write_text("hello")
    with pytest.raises(ArchiveError, match="not a readable zip"):
        extract_pack(fake, tmp_path / "packs")
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as bundle:
        bundle.writestr("notes.txt", "x")
    with pytest.raises(ArchiveError, match=r"no pack\.yaml"):
        extract_pack(empty, tmp_path / "packs")


def test_cli_validates_a_zip_and_reports_a_bad_one(tmp_path: Path) -> None:
    archive = zip_folder(BUILTIN, tmp_path / "course.zip")
    ok = subprocess.run(
        [sys.executable, "-m", "tutor", "pack", "validate", str(archive)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as bundle:
        bundle.writestr("../x.yaml", "x")
    refused = subprocess.run(
        [sys.executable, "-m", "tutor", "pack", "validate", str(bad)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "outside the pack folder" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_every_pack_option_takes_a_zip(tmp_path: Path) -> None:
    """--pack is resolved in the shared option, so commands beyond `pack` unpack a zip too."""
    import os

    archive = zip_folder(BUILTIN, tmp_path / "course.zip")
    env = {**os.environ, "BACKEND_TUTOR_HOME": str(tmp_path / "home")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tutor", *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=120
        )

    built = run("sandbox", "sql", "update-safely", "--pack", str(archive))
    assert built.returncode == 0, built.stdout + built.stderr
    assert Path(built.stdout.splitlines()[-1]).is_file()
    progress = run("progress", "--pack", str(archive), "--json")
    assert progress.returncode == 0, progress.stderr
    assert '"id": "backend-tutor-core"' in progress.stdout
