"""The wheel carries the built-in pack, and an installed (non-editable) tutor finds it from anywhere."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO


def test_wheel_ships_the_builtin_pack_and_works_installed(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(dist)],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = dist.glob("backend_tutor-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "tutor/_builtin_lessons/pack.yaml" in names
    assert "tutor/_builtin_lessons/http/01-status-codes.yaml" in names
    assert "sandboxes/__init__.py" in names
    assert not any(name.startswith(("tests/", "lessons/")) for name in names)

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run(
        [sys.executable, "-c", "import tutor; print(tutor.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip().startswith(str(target))
    result = subprocess.run(
        [sys.executable, "-m", "tutor", "pack", "validate"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok: backend-tutor-core" in result.stdout
