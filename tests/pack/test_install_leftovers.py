"""Damaged zips, symbolic links, the built-in pack's id and killed installs and builds: each ends with a
clear message and leaves nothing behind. Real zips, real folders, real `backend-tutor` processes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.conftest import BUILTIN, REPO, run_cli
from tutor.pack.install import InstallError, install, installed
from tutor.paths import Home

GOOD = {
    "pack.yaml": "id: mini\ntitle: Mini\nversion: 0.1.0\ntracks:\n  - {id: basics, title: B}\n",
    "basics/01-a.yaml": "id: a\ntitle: A\ntrack: basics\nsteps:\n  - {id: s, title: S, text: t, "
    "check: {kind: text, accept: [y]}, solution: {answer: y}, wrong_answers: [{answer: n}]}\n",
}


def _folder(root: Path, files: dict[str, str] = GOOD) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _damaged_zip(tmp_path: Path) -> Path:
    """A zip whose pack.yaml's stored bytes were changed after it was made (a bad download)."""
    archive = tmp_path / "damaged.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as bundle:
        for name, text in GOOD.items():
            bundle.writestr(name, text)
    data = bytearray(archive.read_bytes())
    at = data.index(b"title: Mini")
    data[at : at + 5] = b"TITLE"
    archive.write_bytes(bytes(data))
    return archive


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) if folder.is_dir() else []


@pytest.mark.parametrize("command", [["pack", "validate"], ["pack", "install"], ["--pack"]])
def test_a_damaged_zip_is_named_as_damaged_without_a_traceback(
    tmp_path: Path, tutor_home: Path, command: list[str]
) -> None:
    archive = _damaged_zip(tmp_path)
    result = run_cli(*command, str(archive), home=tutor_home, timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr[-1500:]
    assert "damaged.zip is damaged: 'pack.yaml' cannot be read (Bad CRC-32" in result.stdout + result.stderr
    assert "download it again" in result.stdout + result.stderr
    for folder in (tutor_home / "packs", tutor_home / "cache" / "unpacked"):
        assert not folder.exists() or not list(folder.iterdir()), f"something was left in {folder}"


def test_installing_a_folder_leaves_out_symlinks_as_pack_build_does(tmp_path: Path, tutor_home: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "big").mkdir(parents=True)
    (outside / "big" / "blob.bin").write_bytes(b"\0" * 1_000_000)
    (outside / "creds.txt").write_text("AWS_SECRET=abc123\n")
    pack = _folder(tmp_path / "mini")
    (pack / "docs-link").symlink_to(outside / "big")
    (pack / "creds.txt").symlink_to(outside / "creds.txt")
    (pack / "notes.md").write_text("kept")

    installed_ = run_cli("pack", "install", str(pack), home=tutor_home)
    assert installed_.returncode == 0, installed_.stdout + installed_.stderr
    assert "left out (2), as pack build leaves them out: creds.txt, docs-link" in installed_.stdout
    target = tutor_home / "packs" / "mini"
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == [
        ".installed.json",
        "basics",
        "basics/01-a.yaml",
        "notes.md",
        "pack.yaml",
    ]
    built = run_cli("pack", "build", str(pack), "-o", str(tmp_path / "mini.zip"), home=tutor_home)
    assert "left out (2): creds.txt, docs-link" in built.stdout, built.stdout + built.stderr


def test_a_pack_that_needs_a_file_behind_a_symlink_says_it_was_left_out(tmp_path: Path) -> None:
    pack = _folder(tmp_path / "mini")
    manifest = pack / "pack.yaml"
    (tmp_path / "real.yaml").write_text(manifest.read_text())
    manifest.unlink()
    manifest.symlink_to(tmp_path / "real.yaml")
    with pytest.raises(InstallError, match=r"left out, as pack build leaves them out: pack.yaml"):
        install(pack, Home(tmp_path / "home"))
    assert _hidden(tmp_path / "home" / "packs") == []


def test_a_pack_with_the_built_in_packs_id_is_refused(tmp_path: Path, tutor_home: Path) -> None:
    builtin_id = next(
        line.split(":", 1)[1].strip()
        for line in (BUILTIN / "pack.yaml").read_text().splitlines()
        if line.startswith("id:")
    )
    pack = _folder(
        tmp_path / "impostor", {**GOOD, "pack.yaml": GOOD["pack.yaml"].replace("id: mini", f"id: {builtin_id}")}
    )
    result = run_cli("pack", "install", str(pack), home=tutor_home)
    assert result.returncode == 1
    assert f"'{builtin_id}' is the id of the pack that comes with backend-tutor" in result.stderr
    assert not (tutor_home / "packs" / builtin_id).exists()
    # one installed before this check is not offered beside the built-in pack
    (tutor_home / "packs" / builtin_id).mkdir(parents=True)
    for name, text in GOOD.items():
        target = tutor_home / "packs" / builtin_id / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.replace("id: mini", f"id: {builtin_id}"))
    assert [p.id for p in installed(Home(tutor_home))] == []


def test_an_install_killed_at_any_moment_leaves_the_old_pack_or_the_new_one_and_no_scratch(
    tmp_path: Path, tutor_home: Path, pack_copy: Path
) -> None:
    """kill -9 during `pack install` of a big pack, 6 times: the installed pack always validates, and the
    next install removes the scratch folders the killed ones left."""
    manifest = pack_copy / "pack.yaml"
    manifest.write_text(manifest.read_text().replace("id: backend-tutor-core", "id: bigc", 1))
    rng = random.Random(3)
    # kill at moments inside an install: a fraction of how long a whole one takes on this machine
    started = time.perf_counter()
    whole = run_cli("pack", "install", "--trust", "--force", str(pack_copy), home=tutor_home)
    assert whole.returncode == 0, whole.stderr
    took = time.perf_counter() - started
    killed = 0
    for _ in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tutor", "pack", "install", "--trust", "--force", str(pack_copy)],
            cwd=REPO,
            env={**os.environ, "BACKEND_TUTOR_HOME": str(tutor_home)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.1, 0.9) * took)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait()
        if (tutor_home / "packs" / "bigc").exists():
            check = run_cli("pack", "validate", str(tutor_home / "packs" / "bigc"), home=tutor_home)
            assert check.returncode == 0, check.stdout[-1500:]
    assert killed >= 1, "no install was killed half-way: the timing needs another look"
    final = run_cli("pack", "install", "--trust", "--force", str(pack_copy), home=tutor_home)
    assert final.returncode == 0, final.stdout + final.stderr
    assert _hidden(tutor_home / "packs") == [], "scratch of the killed installs is still there"


def test_a_database_build_killed_half_way_is_cleared_by_the_next_build(tmp_path: Path, tutor_home: Path) -> None:
    code = (
        "import sys\nfrom pathlib import Path\n"
        "from sandboxes.sql.build import ensure_template\n"
        "from tutor.pack.sandbox_sql import SqlSettings\n"
        "settings = SqlSettings.model_validate({'tables': [{'name': 'big', 'rows': 3000000, 'seed': 1,"
        " 'columns': [{'name': 'id', 'gen': 'sequence'}, {'name': 'w', 'gen': 'words', 'min': 3, 'max': 9}]}]})\n"
        "ensure_template(settings, pack_root=Path(sys.argv[1]), cache_dir=Path(sys.argv[2]),"
        " progress=lambda what, f: print(what, flush=True))\n"
    )
    cache = tutor_home / "cache"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path), str(cache)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    proc.stdout.readline()  # the build has started
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    leftovers = [p for p in cache.rglob(".building-*")]
    assert leftovers, "the killed build left its half-built file (else the test did not kill it mid-way)"

    from sandboxes.sql.build import ensure_template
    from tutor.pack.sandbox_sql import SqlSettings

    small = SqlSettings.model_validate({"sql": "CREATE TABLE t (x)"})
    ensure_template(small, pack_root=tmp_path, cache_dir=cache)
    assert not any(p.exists() for p in leftovers)


def test_a_pack_build_clears_the_half_written_zip_of_a_killed_one(tmp_path: Path, tutor_home: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dist = tmp_path / "dist"
    dist.mkdir()
    leftover = dist / f".mini.zip.partial-{int(gone.stdout)}-x1y2"
    leftover.write_bytes(b"PK half a zip")
    pack = _folder(tmp_path / "mini")
    built = run_cli("pack", "build", str(pack), "-o", str(dist / "mini.zip"), home=tutor_home)
    assert built.returncode == 0, built.stdout + built.stderr
    assert sorted(p.name for p in dist.iterdir()) == ["mini.zip", "mini.zip.sha256"]
