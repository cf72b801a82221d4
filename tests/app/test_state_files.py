"""State files in the app: a damaged one never stops a lesson from opening (it is set aside with a
one-line notice), and a lesson another tutor has open says which process has it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import OptionList

from tutor.app.screens.lesson import LessonScreen
from tutor.app.widgets.sql_workbench import SqlWorkbench

pytestmark = pytest.mark.anyio
SIZE = (120, 40)


def notices(app: Any) -> list[str]:
    return [n.message for n in app._notifications]


async def test_a_history_file_cut_inside_a_character_is_set_aside_and_the_lesson_opens(
    app_factory: Any, settle: Any, tutor_home: Path
) -> None:
    folder = tutor_home / "sessions" / "make-table"
    folder.mkdir(parents=True)
    good = "".join(json.dumps({"sql": q, "at": 1}) + "\n" for q in ("SELECT 1", "SELECT 2"))
    damaged = good.encode() + b'{"sql": "SELECT * FROM books WHERE title = \'Caf\xc3'
    (folder / "history.jsonl").write_bytes(damaged)

    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_lesson("make-table")
        await settle(pilot)
        assert isinstance(app.screen, LessonScreen)
        workbench = app.screen.query_one(SqlWorkbench)
        history = workbench.query_one("#sql-history", OptionList)
        assert [str(history.get_option_at_index(i).prompt) for i in range(history.option_count)] == [
            "SELECT 2",
            "SELECT 1",
        ]
        (notice,) = [n for n in notices(app) if "query history" in n]
        assert "\n" not in notice
        assert "set aside as history.jsonl.damaged-" in notice and "2 queries that could be read" in notice

    (kept,) = folder.glob("history.jsonl.damaged-*")
    assert kept.read_bytes() == damaged
    assert (folder / "history.jsonl").read_text(encoding="utf-8").count("\n") == 2


async def test_a_lesson_open_in_another_tutor_says_which_process_has_it(
    app_factory: Any, settle: Any, tutor_home: Path
) -> None:
    import subprocess
    import sys

    from textual.widgets import Static

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from tutor.locks import LessonLock; "
            "LessonLock.acquire(Path(sys.argv[1])); print('held', flush=True); sys.stdin.readline()",
            str(tutor_home / "sessions" / "make-table"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        app = app_factory()
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.open_lesson("make-table")
            await settle(pilot)
            shown = " ".join(str(s.render()) for s in app.screen.query(".workbench-error").results(Static))
            assert f"open in another backend-tutor (process {holder.pid}, since" in shown
            assert "LessonInUse" not in shown
            # the editors mounted early are hidden: a query typed there could never run
            assert not app.screen.query_one("#workbench-body").display
            assert "Press F12 (or Ctrl+P, Restart) when it is closed there." in shown  # the key in force
            holder.kill()  # the other tutor closes the lesson: the restart key opens it here
            holder.wait()
            await pilot.press("f12")
            for _ in range(100):
                await settle(pilot)
                if app.screen.query_one("#workbench-body").display:
                    break
                await pilot.pause(0.1)
            assert app.screen.query_one("#workbench-body").display, "F12 after the other tutor let go starts it"
            assert app.screen.query(SqlWorkbench)
    finally:
        holder.kill()
        holder.wait()
