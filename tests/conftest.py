"""Fixtures shared by every test: a throwaway BACKEND_TUTOR_HOME and the built-in pack."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BUILTIN = REPO / "lessons"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The built-in lessons' `pack test`s first, the longest first (the same order on every worker),
    so the test workers do not end the run with a long lesson left for one of them."""
    lessons = [item for item in items if item.name.startswith("test_builtin_pack_passes[")]
    if not lessons:
        return
    chosen = set(lessons)
    items[:] = lessons + [item for item in items if item not in chosen]  # builtin_lessons() is longest first


@pytest.fixture(autouse=True)
def tutor_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty state folder; no test sees a learner's real progress."""
    home = tmp_path_factory.mktemp("tutor-home")
    monkeypatch.setenv("BACKEND_TUTOR_HOME", str(home))
    monkeypatch.delenv("NO_COLOR", raising=False)
    return home


@pytest.fixture
def fixed_paths_lock():
    """Held by tests that need a fixed folder or port (a screenshot shows the path): two test runs on one
    machine (two clones, two branches) take turns at those instead of deleting each other's files."""
    import fcntl

    with open(Path(tempfile.gettempdir()) / "backend-tutor-tests-fixed-paths.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture
def pack_copy(tmp_path: Path) -> Path:
    """A writable copy of the built-in pack, to break on purpose."""
    target = tmp_path / "pack"
    shutil.copytree(BUILTIN, target)
    return target


def env_without_home() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "BACKEND_TUTOR_HOME"}


def run_cli(
    *args: str,
    home: Path | None = None,
    cwd: Path = REPO,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """`backend-tutor ARGS` as a learner or an author runs it: a fresh interpreter (`python -m tutor`),
    output captured. `home` is its BACKEND_TUTOR_HOME (default: the test's own, from `tutor_home`)."""
    return subprocess.run(
        [sys.executable, "-m", "tutor", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, **({"BACKEND_TUTOR_HOME": str(home)} if home is not None else {}), **(env or {})},
        check=False,
    )
