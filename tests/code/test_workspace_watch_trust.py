"""The learner's workspace survives restarts and pack upgrades, reset keeps a backup, a save is seen,
and a pack that runs code is asked about again whenever its code changes."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from tutor.code import trust
from tutor.code.watch import watch
from tutor.code.workspace import Workspace
from tutor.pack.loader import load_pack_or_raise
from tutor.paths import Home


def starter(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "starter"
    shutil.rmtree(folder, ignore_errors=True)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def test_an_edited_file_survives_a_restart_and_a_pack_upgrade(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workspace(root, starter(tmp_path, {"app.py": "v1\n"})).prepare()
    (root / "app.py").write_text("my work\n")
    assert Workspace(root, tmp_path / "starter").edited() == ["app.py"]
    # the tutor restarts, and the pack's next version changes app.py and adds a file
    upgraded = starter(tmp_path, {"app.py": "v2\n", "models.py": "new\n"})
    added = Workspace(root, upgraded).prepare()
    assert added == ["models.py"]
    assert (root / "app.py").read_text() == "my work\n"
    assert (root / "models.py").read_text() == "new\n"


def test_reset_keeps_a_backup_and_brings_the_starter_back(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    workspace = Workspace(root, starter(tmp_path, {"app.py": "starter\n"}))
    workspace.prepare()
    (root / "app.py").write_text("my work\n")
    (root / "notes.txt").write_text("mine\n")
    backup = workspace.reset()
    assert backup is not None and backup.parent == root / ".backups"
    assert (backup / "app.py").read_text() == "my work\n"
    assert (backup / "notes.txt").read_text() == "mine\n"
    assert (root / "app.py").read_text() == "starter\n"
    assert not (root / "notes.txt").exists()
    assert workspace.edited() == []


def test_a_save_is_seen_and_bookkeeping_is_not(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    workspace = Workspace(root, starter(tmp_path, {"app.py": "x = 1\n"}))
    workspace.prepare()
    saves: list[list[str]] = []
    stop = threading.Event()
    thread = threading.Thread(target=watch, args=(root, saves.append, stop), daemon=True)
    thread.start()
    try:
        time.sleep(0.3)
        workspace.backup()  # the tutor's own files: not a save
        (root / ".app.py.swp").write_text("editor swap")
        time.sleep(0.5)
        assert saves == []
        (root / "app.py").write_text("x = 2\n")
        deadline = time.monotonic() + 5
        while not saves and time.monotonic() < deadline:
            time.sleep(0.02)
        assert saves and saves[0] == ["app.py"]
    finally:
        stop.set()
        thread.join(timeout=5)


def test_the_builtin_pack_runs_code_and_is_trusted(tutor_home: Path) -> None:
    from tests.conftest import BUILTIN

    pack = load_pack_or_raise(BUILTIN)
    assert trust.runs_code(pack)
    assert trust.is_trusted(Home(tutor_home), pack)


def test_another_pack_is_asked_about_again_when_its_code_changes(tmp_path: Path, tutor_home: Path) -> None:
    from tests.conftest import BUILTIN

    copy = tmp_path / "pack"
    shutil.copytree(BUILTIN, copy)
    home = Home(tutor_home)
    pack = load_pack_or_raise(copy)
    assert not trust.is_trusted(home, pack)
    trust.trust(home, pack)
    assert trust.is_trusted(home, load_pack_or_raise(copy))
    starter = copy / "http" / "07-build-cursor-pagination" / "starter" / "app.py"
    original = starter.read_text()
    starter.write_text(original + "\nimport os  # same id, same version, new code\n")
    assert not trust.is_trusted(home, load_pack_or_raise(copy))
    starter.write_text(original)
    assert trust.is_trusted(home, load_pack_or_raise(copy))
    manifest = copy / "pack.yaml"
    manifest.write_text(manifest.read_text().replace("\nversion: 0.1.0", "\nversion: 0.2.0"))
    assert not trust.is_trusted(home, load_pack_or_raise(copy))
