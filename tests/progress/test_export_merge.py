"""A cohort's progress: `whoami`, `progress export` (JSON, CSV) and `progress merge`, against golden files.

Set UPDATE_GOLDEN=1 to rewrite the golden files (then read the diff before committing)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from tutor.cli import main_group
from tutor.progress import ProgressStore

PACK = str(Path(__file__).resolve().parents[1] / "app" / "fixtures" / "pack")
GOLDEN = Path(__file__).resolve().parent / "golden"
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; UPDATE_GOLDEN=1 after reading the diff"


def learner_home(tmp_path: Path, name: str, actions: list[tuple[str, str, str]], monkeypatch) -> Path:
    """A learner's home with `actions` (kind, lesson, step) at fixed times, one minute apart."""
    home = tmp_path / name
    clock = iter(T0 + 60 * i for i in range(1000))
    monkeypatch.setattr("tutor.progress.time.time", lambda: next(clock))
    with ProgressStore.open(home / "progress.db") as store:
        for kind, lesson, step in actions:
            if kind == "fail":
                store.record_attempt("test-pack", "1.0.0", lesson, step, passed=False)
            elif kind == "pass":
                evidence = {"evidence_format": 1, "lesson": lesson, "step": step, "action": {"answer": "as typed"}}
                store.record_attempt("test-pack", "1.0.0", lesson, step, passed=True, evidence=evidence)
            elif kind == "hint":
                store.record_hint("test-pack", "1.0.0", lesson, step)
            elif kind == "solution":
                store.record_solution_viewed("test-pack", "1.0.0", lesson, step)
            else:
                store.visit("test-pack", "1.0.0", lesson, step)
    monkeypatch.undo()
    return home


@pytest.fixture
def cohort(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    return {
        "Ada": learner_home(
            tmp_path,
            "ada",
            [
                ("pass", "first", "pick"),
                ("fail", "first", "type-it"),
                ("hint", "first", "type-it"),
                ("pass", "first", "type-it"),
                ("pass", "first", "count"),
            ],
            monkeypatch,
        ),
        "Grace": learner_home(
            tmp_path,
            "grace",
            [
                ("fail", "first", "pick"),
                ("pass", "first", "pick"),
                ("fail", "first", "type-it"),
                ("fail", "first", "type-it"),
                ("hint", "first", "type-it"),
                ("hint", "first", "type-it"),
                ("solution", "first", "type-it"),
            ],
            monkeypatch,
        ),
        "Linus": learner_home(
            tmp_path, "linus", [("pass", "first", "pick"), ("visit", "first", "type-it")], monkeypatch
        ),
    }


def run(home: Path, *args: str, input: str | None = None):
    result = CliRunner().invoke(
        main_group, list(args), env={"BACKEND_TUTOR_HOME": str(home), "COLUMNS": "100"}, input=input
    )
    return result


def test_whoami_sets_the_name_exports_carry(cohort: dict[str, Path]) -> None:
    home = cohort["Ada"]
    assert run(home, "whoami").exit_code == 1
    assert run(home, "progress", "export", "--pack", PACK).exit_code == 2  # not a terminal: no prompt
    assert run(home, "whoami", "Ada").output == "your exports now say: Ada\n"
    assert run(home, "whoami").output == "Ada\n"


def test_export_csv_and_json_golden(cohort: dict[str, Path]) -> None:
    home = cohort["Ada"]
    run(home, "whoami", "Ada")
    csv_export = run(home, "progress", "export", "--pack", PACK, "--format", "csv")
    assert csv_export.exit_code == 0, csv_export.output
    check_golden("ada.csv", csv_export.output)
    json_export = run(home, "progress", "export", "--pack", PACK, "--format", "json")
    check_golden("ada.json", json_export.output)
    legacy = run(home, "progress", "--pack", PACK, "--json")  # the older spelling keeps working
    assert legacy.exit_code == 0 and '"learner": "Ada"' in legacy.output


def test_merge_a_cohort_golden(cohort: dict[str, Path], tmp_path: Path) -> None:
    files = []
    for name, home in cohort.items():
        target = tmp_path / f"{name.lower()}.{'json' if name == 'Grace' else 'csv'}"  # a mix of formats
        fmt = "json" if name == "Grace" else "csv"
        result = run(home, "progress", "export", "--pack", PACK, "--format", fmt, "--name", name, "-o", str(target))
        assert result.exit_code == 0, result.output
        files.append(str(target))
    out = tmp_path / "cohort.csv"
    merged = run(cohort["Ada"], "progress", "merge", *files, "-o", str(out))
    assert merged.exit_code == 0, merged.output
    check_golden("merge-output.txt", merged.output.replace(str(tmp_path), "TMP"))
    check_golden("cohort.csv", out.read_text(encoding="utf-8"))
    check_golden("cohort-summary.csv", (tmp_path / "cohort-summary.csv").read_text(encoding="utf-8"))


def test_merge_reports_a_file_that_is_not_an_export(tmp_path: Path) -> None:
    bad = tmp_path / "notes.csv"
    bad.write_text("name,score\nada,3\n")
    broken = tmp_path / "broken.json"
    broken.write_text('{"progress_format": 1,\n "lessons": [}\n')
    result = run(tmp_path, "progress", "merge", str(bad), str(broken))
    assert result.exit_code == 1
    assert f"{bad}:1:1: not a progress export: no column learner, pack_id, lesson_id, step_id, status" in result.output
    assert f"{broken}:2:14: not valid JSON" in result.output
