"""`backend-tutor pack ...` end to end, as a subprocess: output, exit codes, JSON shape."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import BUILTIN, REPO


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tutor", *args], capture_output=True, text=True, cwd=cwd or REPO, timeout=60
    )


def test_version() -> None:
    from tutor import __version__

    result = run("--version")
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_validate_builtin_exits_0() -> None:
    result = run("pack", "validate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("ok: backend-tutor-core ")
    assert "Traceback" not in result.stderr


def test_validate_broken_pack_exits_1_with_every_error(pack_copy: Path) -> None:
    lesson = pack_copy / "http" / "01-status-codes.yaml"
    text = lesson.read_text(encoding="utf-8")
    minutes_line = next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith("minutes: "))
    text = re.sub(r"(?m)^minutes: \d+", "minutes: eight", text).replace("kind: number", "kind: numbr")
    lesson.write_text(text + "stray_key: 1\n", encoding="utf-8")
    (pack_copy / "http" / "99-syntax.yaml").write_text("id: [\n", encoding="utf-8")
    result = run("pack", "validate", str(pack_copy))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stdout.splitlines() if "warning" not in line]
    assert len(lines) == 4
    assert lines[0].startswith(f"http/01-status-codes.yaml:{minutes_line}:10: input should be a valid integer")
    assert any(
        line.startswith("http/01-status-codes.yaml:") and "unknown kind 'numbr' (did you mean 'number'?)" in line
        for line in lines
    )
    assert any("unknown key 'stray_key'" in line for line in lines)
    assert lines[-1].startswith("http/99-syntax.yaml:2:1: YAML syntax error")
    assert "invalid: 4 errors" in result.stderr


def test_validate_usage_error_exits_2(tmp_path: Path) -> None:
    assert run("pack", "validate", str(tmp_path / "nope")).returncode == 2
    assert run("pack", "validate", "--bogus").returncode == 2
    assert run("pack", "frobnicate").returncode == 2


def test_validate_from_another_directory(tmp_path: Path) -> None:
    result = run("pack", "validate", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_info_json_is_stable_and_complete() -> None:
    result = run("pack", "info", "--json")
    assert result.returncode == 0
    doc = json.loads(result.stdout)
    assert doc["info_format"] == 1
    assert doc["valid"] is True
    assert doc["pack"]["id"] == "backend-tutor-core"
    assert [t["id"] for t in doc["tracks"]][:1] == ["http"]
    lesson = next(lesson for t in doc["tracks"] for lesson in t["lessons"] if lesson["id"] == "status-codes")
    assert lesson["file"] == "http/01-status-codes.yaml"
    assert {s["id"] for s in lesson["steps"]} >= {"classes", "auth-codes"}
    assert set(lesson["steps"][0]) == {"id", "title", "check_kinds", "hints", "wrong_answers", "solution", "notes"}
    assert doc["totals"]["lessons"] == sum(len(t["lessons"]) for t in doc["tracks"])
    assert doc["totals"]["check_kinds"]["choice"] >= 2


def test_info_text_lists_tracks_and_lessons() -> None:
    result = run("pack", "info", str(BUILTIN))
    assert result.returncode == 0
    assert "HTTP & APIs [http]" in result.stdout
    assert "status-codes: Status codes say what happened" in result.stdout


def test_info_on_broken_pack_exits_1(pack_copy: Path) -> None:
    (pack_copy / "http" / "99.yaml").write_text("id: [\n", encoding="utf-8")
    result = run("pack", "info", "--json", str(pack_copy))
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert doc["valid"] is False
    assert doc["errors"][0].startswith("http/99.yaml:2:1:")


def test_schema_prints_both_and_writes_files(tmp_path: Path) -> None:
    result = run("pack", "schema")
    assert result.returncode == 0
    doc = json.loads(result.stdout)
    assert set(doc) == {"lesson", "pack"}
    assert "steps" in doc["lesson"]["properties"]
    lesson_only = json.loads(run("pack", "schema", "lesson").stdout)
    assert lesson_only["title"] == "backend-tutor lesson"
    assert run("pack", "schema", "--out", str(tmp_path / "s")).returncode == 0
    assert (tmp_path / "s" / "pack.schema.json").is_file()
