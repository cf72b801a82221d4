"""A lesson whose first steps are done in the workbenches and whose last step checks the learner's code:
the workspace panel and Ctrl+O's editor belong to the code step only."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tutor.app.screens.lesson import LessonScreen
from tutor.app.widgets.build_panel import BuildPanel

pytestmark = pytest.mark.anyio

LESSON = """
id: mixed
title: Mixed
track: ops
build: {starter: ops/01-mixed/starter, module: app, database: false}
steps:
  - id: predict
    title: Predict
    text: Pick one.
    check: {kind: choice, options: [{id: a, text: A}, {id: b, text: B}], correct: a}
    solution: {answer: a}
    wrong_answers: [{answer: b}]
  - id: build
    title: Build
    text: Write it.
    check:
      kind: code_http
      steps: [{request: {method: GET, path: /ok}, expect: {status: 200}}]
    solution: {files: ops/01-mixed/reference}
"""

APP = """
from fastapi import FastAPI
app = FastAPI()
"""


def mixed_pack(root: Path) -> Path:
    (root / "ops" / "01-mixed" / "starter").mkdir(parents=True)
    (root / "ops" / "01-mixed" / "reference").mkdir()
    pack = "format: 1\nid: mixed-pack\ntitle: Mixed\nversion: 1.0.0\ntracks: [{id: ops, title: Ops}]\n"
    (root / "pack.yaml").write_text(pack)
    (root / "ops" / "01-mixed.yaml").write_text(textwrap.dedent(LESSON))
    (root / "ops" / "01-mixed" / "starter" / "app.py").write_text(textwrap.dedent(APP))
    (root / "ops" / "01-mixed" / "reference" / "app.py").write_text(
        textwrap.dedent(APP) + '\n@app.get("/ok")\ndef ok():\n    return {}\n'
    )
    return root


async def test_the_workspace_panel_and_the_editor_key_belong_to_code_steps(app_factory, settle, tmp_path) -> None:
    app = app_factory(mixed_pack(tmp_path / "pack"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_lesson("mixed")
        panel = None
        for _ in range(200):  # the session starts in a worker; the workspace watcher then runs until the end
            await pilot.pause(0.05)
            screen = app.screen
            if isinstance(screen, LessonScreen) and screen.session_ready:
                panel = screen.query_one(BuildPanel)
                if "Your code" in str(panel.query_one("#build-where").render()):  # the workspace is shown
                    break
        screen = app.screen
        assert isinstance(screen, LessonScreen) and screen.step is not None and screen.step.id == "predict"
        assert panel is not None
        await pilot.pause(0.1)
        assert not panel.display  # "Your code ... passes" would say nothing about a choice
        assert screen.check_action("focus_answer", ()) is not False
        assert screen.check_action("open_editor", ()) is False
        await screen.go_to(1)
        await pilot.pause(0.1)
        assert panel.display
        assert screen.check_action("open_editor", ()) is not False
        assert screen.check_action("focus_answer", ()) is False


async def test_an_editor_that_does_not_exist_is_named_and_the_app_keeps_its_screen(
    app_factory, settle, tmp_path, monkeypatch
) -> None:
    """EDITOR=nano on a machine without nano: the terminal was handed to a program that never started, and
    the learner was left on a blank screen. Now nothing is suspended and the notice names the program."""
    monkeypatch.setenv("EDITOR", "no-such-editor-here --wait")
    monkeypatch.delenv("VISUAL", raising=False)
    app = app_factory(mixed_pack(tmp_path / "pack"))
    suspended: list[bool] = []

    def suspend(self: object) -> None:
        suspended.append(True)
        raise AssertionError("the terminal was handed over")

    monkeypatch.setattr(type(app), "suspend", suspend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_lesson("mixed")
        for _ in range(200):
            await pilot.pause(0.05)
            screen = app.screen
            if isinstance(screen, LessonScreen) and screen.session_ready:
                break
        screen = app.screen
        assert isinstance(screen, LessonScreen)
        await screen.go_to(1)
        await pilot.pause(0.1)
        screen.action_open_editor()
        await pilot.pause(0.1)
        assert suspended == []
        notices = [n.message for n in app._notifications]
        assert any("no-such-editor-here" in m and "no such program" in m for m in notices), notices
