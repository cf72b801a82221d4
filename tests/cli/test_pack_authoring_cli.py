"""The author's view on the command line: consequences marked, notes shown, a failing pack not built."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_pack_test_sql import LESSON
from tests.conftest import run_cli as cli
from tests.pack.helpers import write_pack

BROKEN = LESSON.replace(
    'solution: {sql: "DELETE FROM t WHERE id % 2 = 1"}', 'solution: {sql: "DELETE FROM t WHERE id < 3"}'
)
NOTED = BROKEN.replace(
    "  - id: still-fifty\n", "  - id: still-fifty\n    notes: This step only passes after the first one.\n"
)


def test_a_failure_after_a_failed_solution_is_marked_as_a_consequence(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "pack", {"databases/01.yaml": NOTED})
    result = cli("pack", "test", str(pack), home=tmp_path / "home")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    first = next(line for line in lines if "delete-odd: the solution was rejected" in line)
    assert "consequence" not in first
    later = next(line for line in lines if "still-fifty: the solution was rejected" in line)
    assert later.endswith(
        "[perhaps a consequence: the solution of step 'delete-odd' failed earlier, and a solution's effects "
        "carry forward; fix that one first]"
    )
    assert "    notes: This step only passes after the first one." in lines


def test_build_refuses_a_failing_pack_and_writes_nothing(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "pack", {"databases/01.yaml": BROKEN})
    target = tmp_path / "out.zip"
    result = cli("pack", "build", str(pack), "-o", str(target), home=tmp_path / "home")
    assert result.returncode == 1
    assert "refused: `pack test` failed" in result.stderr
    assert not target.exists()
    invalid = write_pack(
        tmp_path / "invalid", {"databases/01.yaml": LESSON.replace("title: Deleting rows", "titel: x")}
    )
    result = cli("pack", "build", str(invalid), "-o", str(target), home=tmp_path / "home")
    assert result.returncode == 1 and "refused: the pack does not validate (2 errors)" in result.stderr
    assert not target.exists()


def test_info_shows_notes_to_authors_and_the_runs_code_flag(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "pack", {"databases/01.yaml": NOTED})
    text = cli("pack", "info", str(pack), home=tmp_path / "home").stdout
    assert "      notes: This step only passes after the first one." in text
    doc = json.loads(cli("pack", "info", str(pack), "--json", home=tmp_path / "home").stdout)
    assert doc["pack"]["runs_code"] is False
    step = doc["tracks"][1]["lessons"][0]["steps"][1]
    assert step["notes"] == "This step only passes after the first one."


def test_build_is_reproducible(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "pack", {"databases/01.yaml": LESSON})
    first = cli("pack", "build", str(pack), "-o", str(tmp_path / "a.zip"), home=tmp_path / "home")
    second = cli("pack", "build", str(pack), "-o", str(tmp_path / "b.zip"), home=tmp_path / "home")
    assert first.returncode == 0 and second.returncode == 0, first.stdout + first.stderr
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    sha = [line for line in first.stdout.splitlines() if line.startswith("sha256 ")]
    assert sha and sha[0].split()[1] == (tmp_path / "a.zip.sha256").read_text().split()[0]
