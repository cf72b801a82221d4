"""tutor.files: atomic rewrites that survive kill -9, damaged files set aside, leftovers of killed runs swept."""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tutor.files import read_json, scratch_prefix, set_aside, sweep_leftovers, write_atomic

REPO = Path(__file__).resolve().parent.parent

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from tutor.files import write_atomic

    target = Path(sys.argv[1])
    size = int(sys.argv[2])
    i = 0
    while True:
        letter = b"ab"[i % 2 : i % 2 + 1]
        write_atomic(target, letter * size)
        print(i, flush=True)
        i += 1
    """
)


def _uniform(data: bytes) -> bool:
    return len(data) > 0 and data == data[:1] * len(data)


def test_a_writer_killed_at_any_moment_leaves_the_old_file_or_the_new_one(tmp_path: Path) -> None:
    """kill -9 in the middle of rewriting a 4 MB file, 12 times at random moments: the file is always one
    whole version, and the next write clears the temporary file the killed one left."""
    target = tmp_path / "state.bin"
    size = 4 * 1024 * 1024
    rng = random.Random(7)
    for _ in range(12):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target), str(size)], stdout=subprocess.PIPE, text=True, cwd=REPO
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "0"  # one whole write is on disk
        time.sleep(rng.uniform(0.0, 0.15))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        data = target.read_bytes()
        assert len(data) == size and _uniform(data), "a reader saw half a file"
    write_atomic(target, b"done")
    assert target.read_bytes() == b"done"
    assert [p.name for p in tmp_path.iterdir()] == ["state.bin"], "a killed write left its temporary file"


def test_text_is_written_as_utf8_and_the_folder_is_made(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "notes.txt"
    write_atomic(target, "Café ☕\n")
    assert target.read_bytes() == "Café ☕\n".encode()


def test_a_rewrite_keeps_the_file_permissions(tmp_path: Path) -> None:
    target = tmp_path / "private.json"
    target.write_text("{}")
    target.chmod(0o600)
    write_atomic(target, "{}\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    fresh = tmp_path / "fresh.json"
    write_atomic(fresh, "{}")
    assert stat.S_IMODE(fresh.stat().st_mode) & 0o044 == 0o044 & ~_umask()  # an ordinary file, not mkstemp's 0600


def _umask() -> int:
    value = os.umask(0o022)
    os.umask(value)
    return value


def test_a_failed_write_leaves_the_old_content_and_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "keep.txt"
    target.write_text("old")
    with pytest.raises(TypeError):
        write_atomic(target, 12345)  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"theme": "Caf' + b"\xc3", "not UTF-8 text at byte 14"),
        (b'{"theme": ', "not valid JSON at line 1, column 11"),
        (b"[1, 2]", "expected a JSON dict, found list"),
    ],
)
def test_a_damaged_json_file_is_set_aside_with_a_one_line_notice(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(content)
    result = read_json(path, what="your settings")
    assert result.data is None
    assert result.notice is not None and "\n" not in result.notice
    assert result.notice.startswith(f"your settings was damaged ({reason}); it was set aside as settings.json.damaged-")
    assert not path.exists()
    (kept,) = tmp_path.glob("settings.json.damaged-*")
    assert kept.read_bytes() == content, "the damaged file is kept as it was"
    assert read_json(path).data is None and read_json(path).notice is None  # missing now: no second notice


def test_a_good_json_file_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    write_atomic(path, json.dumps({"theme": "nord"}))
    assert read_json(path).data == {"theme": "nord"} and read_json(path).notice is None


def test_set_aside_never_overwrites_an_earlier_copy(tmp_path: Path) -> None:
    first = tmp_path / "progress.db"
    names = []
    for n in range(3):
        first.write_text(str(n))
        Path(f"{first}-wal").write_text(f"wal{n}")
        names.append(set_aside(first, sidecars=("-wal", "-shm")))
    assert len(set(names)) == 3
    assert [p.read_text() for p in names] == ["0", "1", "2"]
    assert [Path(f"{p}-wal").read_text() for p in names] == ["wal0", "wal1", "wal2"]


def test_sweep_removes_the_scratch_of_dead_processes_only(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    mine = tmp_path / f"{scratch_prefix('install')}abc"
    mine.mkdir()
    gone = tmp_path / f".install-{dead_pid}-xyz"
    gone.mkdir()
    (gone / "pack.yaml").write_text("id: x")
    gone_file = tmp_path / f".install-{dead_pid}-file"
    gone_file.write_text("x")
    old_style = tmp_path / ".install-k2j3h4"  # made before names carried a process id
    old_style.mkdir()
    os.utime(old_style, (time.time() - 7200, time.time() - 7200))
    recent_old_style = tmp_path / ".install-q9w8e7"
    recent_old_style.mkdir()
    other = tmp_path / ".unpack-1-abc"
    other.mkdir()
    removed = sweep_leftovers(tmp_path, "install")
    assert sorted(p.name for p in removed) == sorted([gone.name, gone_file.name, old_style.name])
    assert mine.is_dir() and recent_old_style.is_dir() and other.is_dir()


# Files written in place, each with why that is safe: everything else the tutor writes goes through
# tutor.files.write_atomic, so a kill mid-write never leaves half a file where the tutor reads it.
WRITTEN_IN_PLACE = {
    "tutor/files.py": "the helper itself writes its temporary file",
    "tutor/pack/install.py": "the install record, in a scratch folder that is renamed into place whole",
    "tutor/pack/archive.py": "unpacked members, in a scratch folder that is renamed into place whole",
    "tutor/pack/scaffold.py": "`pack new` writes a new folder once; nothing reads it half-made",
    "tutor/verify.py": "a learner's recorded files, into a scratch folder that is laid into the workspace whole",
    "tutor/checks/code_own_tests.py": "a pytest.ini into the throwaway copy the learner's tests run in, made anew "
    "for every run and deleted after it",
    "sandboxes/api/logs.py": "the request log is appended to, one whole line per write, never rewritten: "
    "a reader tailing it sees lines added, and a kill loses at most the last line",
}


def test_every_file_the_tutor_rewrites_goes_through_write_atomic() -> None:
    import re

    pattern = re.compile(r"\.write_text\(|\.write_bytes\(|open\([^)]*[\"'][wa]b?\+?[\"']")
    found = set()
    for folder in ("tutor", "sandboxes"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if pattern.search(path.read_text(encoding="utf-8")):
                found.add(path.relative_to(REPO).as_posix())
    assert found - WRITTEN_IN_PLACE.keys() == set(), "write these through tutor.files.write_atomic"
