"""Import hygiene: the domain never imports Textual, and cheap commands and the first screen stay cheap."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent

DOMAIN = [
    "tutor.pack.loader",
    "tutor.pack.index",
    "tutor.pack.models",
    "tutor.checks",
    "tutor.checks.choice",
    "tutor.checks.text",
    "tutor.checks.number",
    "tutor.progress",
    "tutor.session",
    "tutor.http.request",
    "tutor.http.curl",
    "tutor.http.response",
    "tutor.http.load",
    "tutor.http.history",
    "tutor.http.retired",
    "tutor.settings",
    "tutor.keymap",
    "tutor.sqlwork",
    "sandboxes",
]
HEAVY = ("textual", "fastapi", "uvicorn", "starlette", "httpx")


def modules_after(code: str) -> set[str]:
    probe = code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def top(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


@pytest.mark.parametrize("module", DOMAIN)
def test_the_domain_never_imports_textual(module: str) -> None:
    assert "textual" not in top(modules_after(f"import {module}"))


def test_the_progress_store_and_pack_index_stay_light() -> None:
    loaded = top(modules_after("import tutor.progress, tutor.pack.index"))
    assert not loaded & {"pydantic", "textual", "rich", "sqlite_utils", *HEAVY}


def test_the_first_screen_needs_no_pydantic_nor_server_stack() -> None:
    loaded = top(modules_after("from tutor.app import make_app\nimport tutor.app.app\nmake_app()"))
    assert "textual" in loaded
    assert not loaded & {"pydantic", "fastapi", "uvicorn", "starlette", "httpx", "markdown_it"}


def _entry_point(module: str, args: list[str], home: Path, setup: str = "", report: str = "sorted(sys.modules)") -> Any:
    """Run `module.main()` as `backend-tutor ARGS` in a fresh interpreter; what `report` says, as JSON."""
    code = (
        "import sys, json, os\n"
        + setup
        # `pack validate` and the app leave with os._exit (no teardown): let them end as an exit would
        + "def leave(status):\n    raise SystemExit(status)\n"
        "os._exit = leave\n"
        f"sys.argv = ['backend-tutor', *{args!r}]\n"
        f"from {module} import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps({report}))"
    )
    env = {**os.environ, "BACKEND_TUTOR_HOME": str(home)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env, timeout=60)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "args",
    [["--version"], ["pack", "validate"], ["pack", "info"], ["progress"]],
    ids=["version", "pack-validate", "pack-info", "progress"],
)
def test_cheap_commands_do_not_import_textual_or_the_server(args: list[str], tmp_path: Path) -> None:
    loaded = top(set(_entry_point("tutor.cli", args, tmp_path)))
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.parametrize("form", ["--pack", "--pack="])
def test_opening_a_pack_folder_skips_the_command_line_parser(form: str, tmp_path: Path) -> None:
    """`backend-tutor --pack FOLDER` is how a bootcamp's learner starts: it opens the app as the bare
    command does, without click. Anything the CLI must judge (a bare name, a .zip, a typo) goes to it."""
    pack = REPO / "tests" / "app" / "fixtures" / "pack"
    args = [form, str(pack)] if form == "--pack" else [f"--pack={pack}"]
    never_run = "import tutor.app\nopened = []\ntutor.app.run = lambda path, **kw: opened.append(str(path)) or 0\n"
    opened, modules = _entry_point("tutor.launch", args, tmp_path, never_run, "[opened, sorted(sys.modules)]")
    assert opened == [str(pack)]
    assert "click" not in top(set(modules))


@pytest.mark.parametrize("value", ["acme", "missing/folder", "lessons.zip"])
def test_anything_else_after_pack_goes_to_the_command_line(value: str, tmp_path: Path) -> None:
    from tutor.launch import _pack_folder

    assert _pack_folder(["--pack", value]) is None
    assert _pack_folder(["--pack", str(REPO / "lessons"), "pack", "validate"]) is None
