"""`pack test` and `pack build` ask before running a pack's code (`--trust` for CI), run it with a
throwaway home, and trust is remembered by what the pack holds, not by its name: real commands in
fresh interpreters, real homes on disk."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO
from tests.conftest import run_cli as cli
from tests.pack.helpers import GOOD_LESSON
from tutor.code import trust
from tutor.pack.loader import load_pack_or_raise
from tutor.paths import Home

FIXTURE = REPO / "tests" / "code" / "fixtures" / "buildpack"

LESSON = """id: double
title: Build double
track: http
build:
  starter: http/double/starter
  module: mod
  open: mod.py
  database: false
steps:
  - id: double
    title: Double it
    text: Make `double(x)` return twice `x`.
    check: {kind: code_tests, tests: http/double/test_double.py}
    hints: [Multiply by two.]
    solution: {files: http/double/right}
"""

# A pack's test file that reaches for the homes it is given: it must find throwaway ones.
TESTS = '''import os
from pathlib import Path

from mod import double


def test_double():
    """double(2) is 4."""
    Path(os.environ["BACKEND_TUTOR_HOME"], "trusted-packs.json").write_text('{"format": 2, "packs": {"x": ["y"]}}')
    Path(os.environ["HOME"], "touched-by-the-pack").write_text("here")
    assert double(2) == 4
'''


def code_pack(tmp_path: Path) -> Path:
    root = tmp_path / "pack"
    shutil.copytree(FIXTURE, root)
    (root / "http" / "02-double.yaml").write_text(LESSON)
    for name, body in (("starter", "def double(x):\n    return x\n"), ("right", "def double(x):\n    return 2 * x\n")):
        (root / "http" / "double" / name).mkdir(parents=True)
        (root / "http" / "double" / name / "mod.py").write_text(body)
    (root / "http" / "double" / "test_double.py").write_text(TESTS)
    (root / "http" / "03-quiz.yaml").write_text(GOOD_LESSON.format(id="quiz"))
    return root


def homes(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The caller's tutor home (with a trust record to protect) and their HOME."""
    tutor_home, user_home = tmp_path / "tutor-home", tmp_path / "user-home"
    tutor_home.mkdir()
    user_home.mkdir()
    (tutor_home / "trusted-packs.json").write_text('{"format": 2, "packs": {}}')
    return tutor_home, {"HOME": str(user_home)}


def test_pack_test_and_build_refuse_to_run_code_unasked(tmp_path: Path) -> None:
    pack = code_pack(tmp_path)
    tutor_home, env = homes(tmp_path)
    tested = cli("pack", "test", str(pack), home=tutor_home, env=env)
    assert tested.returncode == 1
    assert "not run: build-fixture runs Python code from its author" in tested.stderr
    assert "--trust" in tested.stderr
    assert "passed" not in tested.stdout  # nothing was replayed
    built = cli("pack", "build", str(pack), "-o", str(tmp_path / "out.zip"), home=tutor_home, env=env)
    assert built.returncode == 1 and "not run:" in built.stderr
    assert not (tmp_path / "out.zip").exists()


def test_with_trust_the_code_runs_in_a_throwaway_home(tmp_path: Path) -> None:
    pack = code_pack(tmp_path)
    tutor_home, env = homes(tmp_path)
    before = (tutor_home / "trusted-packs.json").read_text()
    tested = cli("pack", "test", str(pack), "--trust", home=tutor_home, env=env)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.strip().endswith("6 passed, 0 failed")
    assert (tutor_home / "trusted-packs.json").read_text() == before
    assert not (Path(env["HOME"]) / "touched-by-the-pack").exists()
    built = cli("pack", "build", str(pack), "--trust", "-o", str(tmp_path / "out.zip"), home=tutor_home, env=env)
    assert built.returncode == 0, built.stdout + built.stderr
    assert (tmp_path / "out.zip").is_file()
    assert (tutor_home / "trusted-packs.json").read_text() == before
    # a lesson that runs no code is tested without asking
    plain = cli("pack", "test", str(pack), "--lesson", "quiz", home=tutor_home, env=env)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip().endswith("2 passed, 0 failed")


def _answer_in_a_terminal(pack: Path, tutor_home: Path, env: dict[str, str], answer: str) -> tuple[int, str]:
    """`pack test` with a terminal on stdin (a pty), typing `answer` at its question."""
    main, side = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "tutor", "pack", "test", str(pack)],
        stdin=side,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env={**os.environ, **env, "BACKEND_TUTOR_HOME": str(tutor_home)},
    )
    os.close(side)
    try:
        time.sleep(1.5)  # let it reach the question
        os.write(main, answer.encode() + b"\n")
        out, err = process.communicate(timeout=300)
    finally:
        os.close(main)
        if process.poll() is None:
            process.kill()
    return process.returncode, out.decode() + err.decode()


def test_in_a_terminal_it_asks_and_remembers_a_yes_for_this_content(tmp_path: Path) -> None:
    pack = code_pack(tmp_path)
    tutor_home, env = homes(tmp_path)
    code, text = _answer_in_a_terminal(pack, tutor_home, env, "n")
    assert code == 1 and "Run this pack's code?" in text and "you chose not to run" in text
    code, text = _answer_in_a_terminal(pack, tutor_home, env, "y")
    assert code == 0, text
    assert "6 passed, 0 failed" in text
    again = cli("pack", "test", str(pack), home=tutor_home, env=env)  # no terminal now: remembered
    assert again.returncode == 0, again.stderr
    (pack / "http" / "double" / "right" / "mod.py").write_text("def double(x):\n    return x + x\n")
    changed = cli("pack", "test", str(pack), home=tutor_home, env=env)
    assert changed.returncode == 1 and "not run:" in changed.stderr  # changed code asks again


def test_trust_follows_the_content_not_the_id_and_version(tmp_path: Path) -> None:
    pack_folder = code_pack(tmp_path)
    home = Home(tmp_path / "tutor-home").ensure()
    installed = cli("pack", "install", str(pack_folder), "--trust", home=home.root)
    assert installed.returncode == 0, installed.stderr
    assert trust.is_trusted(home, load_pack_or_raise(home.packs / "build-fixture"))
    assert trust.is_trusted(home, load_pack_or_raise(pack_folder))  # the folder it came from: same content

    lookalike = tmp_path / "lookalike"
    shutil.copytree(pack_folder, lookalike)
    (lookalike / "http" / "double" / "test_double.py").write_text(TESTS.replace("assert double", "assert 1 or double"))
    assert load_pack_or_raise(lookalike).version == load_pack_or_raise(pack_folder).version
    assert not trust.is_trusted(home, load_pack_or_raise(lookalike))

    # what cannot change what runs does not ask again: the README, a lesson that runs no code
    (pack_folder / "README.md").write_text("# notes\n")
    quiz = pack_folder / "http" / "03-quiz.yaml"
    quiz.write_text(quiz.read_text().replace("title: A lesson", "title: A quiz"))
    assert trust.is_trusted(home, load_pack_or_raise(pack_folder))
