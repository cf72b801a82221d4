"""The pack format for build-it lessons: files are validated with FILE:LINE:COL, and `pack test`
replays starter, wrong and reference files through the real checks."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.pack.helpers import problems, write_pack
from tutor.pack.loader import load_pack_or_raise
from tutor.packtest import run_pack_test

LESSON = """\
id: build-hello
title: Build hello
track: http
build:
  starter: http/hello/starter
steps:
  - id: hello
    title: Hello
    text: Say hello.
    check:
      kind: code_http
      steps:
        - request: {method: GET, path: /hello}
          expect: {status: 200, json: {hello: world}}
    hints: [Return a dict.]
    solution:
      files: http/hello/right
    wrong_answers:
      - files: http/hello/wrong
        feedback: Say it to the world.
  - id: tests
    title: Tests
    text: Pass the tests.
    check:
      kind: code_tests
      tests: http/hello/test_hello.py
    hints: [Add two numbers.]
    solution:
      files: http/hello/right
    wrong_answers:
      - files: http/hello/wrong
"""

STARTER = "from fastapi import FastAPI\napp = FastAPI()\n\ndef add(a, b):\n    return 0\n"
RIGHT = (
    STARTER.replace("return 0", "return a + b") + "\n@app.get('/hello')\ndef hello():\n    return {'hello': 'world'}\n"
)
WRONG = (
    STARTER.replace("return 0", "return a - b") + "\n@app.get('/hello')\ndef hello():\n    return {'hello': 'you'}\n"
)
TESTS = '''
import app

def test_adds():
    """add(2, 3) should be 5."""
    assert app.add(2, 3) == 5
'''


def build_pack(tmp_path: Path, lesson: str = LESSON, starter: str = STARTER) -> Path:
    root = write_pack(tmp_path, {"http/01-build.yaml": lesson})
    for name, text in (("starter", starter), ("right", RIGHT), ("wrong", WRONG)):
        (root / "http" / "hello" / name).mkdir(parents=True)
        (root / "http" / "hello" / name / "app.py").write_text(text)
    (root / "http" / "hello" / "test_hello.py").write_text(textwrap.dedent(TESTS))
    return root


def test_a_build_pack_is_valid(tmp_path: Path) -> None:
    assert problems(build_pack(tmp_path)) == []


def test_missing_files_are_reported_with_their_place(tmp_path: Path) -> None:
    lesson = (
        LESSON.replace("files: http/hello/wrong\n        feedback", "files: http/hello/gone\n        feedback")
        .replace("tests: http/hello/test_hello.py", "tests: http/hello/test_gone.py")
        .replace("starter: http/hello/starter", "starter: http/hello/starter\n  open: main.py")
    )
    found = problems(build_pack(tmp_path, lesson))
    assert found == [
        "http/01-build.yaml:6:9: the starter folder 'http/hello/starter' has no 'main.py'",
        "http/01-build.yaml:20:16: folder not found: 'http/hello/gone' (paths are relative to the pack folder)",
        "http/01-build.yaml:27:14: file not found: 'http/hello/test_gone.py' (paths are relative to the pack folder)",
    ]


def test_code_checks_need_a_workspace(tmp_path: Path) -> None:
    lesson = LESSON.replace("build:\n  starter: http/hello/starter\n", "")
    found = problems(build_pack(tmp_path, lesson))
    assert "http/01-build.yaml:9:13: check kind 'code_http' runs the learner's code" in found[0]
    assert any("the solution gives files, but the lesson has no `build:` workspace" in p for p in found)


def test_pack_test_replays_starter_wrong_and_right_files(tmp_path: Path) -> None:
    report = run_pack_test(load_pack_or_raise(build_pack(tmp_path)))
    assert [(c.step, c.case, c.passed) for c in report.cases if c.severity == "case"] == [
        ("hello", "the starter files", True),
        ("hello", "wrong answer 1", True),
        ("hello", "solution", True),
        ("tests", "the starter files", True),
        ("tests", "wrong answer 1", True),
        ("tests", "solution", True),
    ]


def test_pack_test_fails_a_starter_that_already_passes(tmp_path: Path) -> None:
    report = run_pack_test(load_pack_or_raise(build_pack(tmp_path, starter=RIGHT)))
    starters = [c for c in report.cases if c.case == "the starter files"]
    assert [c.passed for c in starters] == [False, False]
    assert "already pass" in starters[0].line_text()
