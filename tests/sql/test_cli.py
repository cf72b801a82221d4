"""`backend-tutor sandbox sql`: builds or reuses a lesson's database and prints a fresh copy's path last."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import yaml

from tests.conftest import run_cli

PACK_YAML = {
    "format": 1, "id": "t", "title": "T", "version": "1.0.0",
    "tracks": [{"id": "databases", "title": "Databases"}],
}  # fmt: skip
LESSON = {
    "id": "tiny", "title": "Tiny", "track": "databases",
    "sandboxes": {"sql": {"tables": [
        {"name": "t", "rows": 100, "columns": [{"name": "a", "gen": "int", "min": 1, "max": 9}]},
    ]}},
    "steps": [{"id": "s", "title": "S", "text": "x", "check": {"kind": "sql_schema", "tables": ["t"]},
               "solution": {"sql": "SELECT 1"}}],
}  # fmt: skip


def make_pack(root: Path) -> Path:
    (root / "databases").mkdir(parents=True)
    (root / "pack.yaml").write_text(yaml.safe_dump(PACK_YAML), encoding="utf-8")
    (root / "databases" / "tiny.yaml").write_text(yaml.safe_dump(LESSON), encoding="utf-8")
    return root


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, stdin=stdin, timeout=60)


def test_prints_a_fresh_copy_path_last(tmp_path: Path, tutor_home: Path) -> None:
    pack = make_pack(tmp_path / "pack")
    first = cli("sandbox", "sql", "tiny", "--pack", str(pack))
    assert first.returncode == 0, first.stderr
    path = Path(first.stdout.strip().splitlines()[-1])
    assert path.is_file() and path.is_relative_to(tutor_home / "sessions")
    assert sqlite3.connect(path).execute("SELECT count(*) FROM t").fetchone() == (100,)
    again = cli("sandbox", "sql", "tiny", "--pack", str(pack))
    assert "cached" in again.stderr and again.stdout.strip().splitlines()[-1] == str(path)


def test_shell_runs_guarded_sql(tmp_path: Path) -> None:
    pack = make_pack(tmp_path / "pack")
    out = cli(
        "sandbox",
        "sql",
        "tiny",
        "--pack",
        str(pack),
        "--shell",
        stdin="SELECT count(*) AS n FROM t;\nATTACH 'x' AS y;\n",
    )
    assert out.returncode == 0, out.stderr
    assert "100" in out.stdout and "not authorized" in out.stdout
    assert out.stdout.strip().splitlines()[-1].endswith("shell.db")


def test_unknown_lesson(tmp_path: Path) -> None:
    out = cli("sandbox", "sql", "nope", "--pack", str(make_pack(tmp_path / "pack")))
    assert out.returncode != 0 and "no lesson 'nope'" in out.stderr and "tiny" in out.stderr
