"""`progress merge` with a roster, a due date, the pack's points and a Canvas gradebook."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path
from typing import Any

from tests.progress.classroom import FIXTURE, cli, step_of, write


def _cohort(ada: dict[str, Any], tmp_path: Path) -> list[Path]:
    grace = copy.deepcopy(ada["document"])
    grace["learner"] = "Grace Hopper"  # a copy of Ada's work under another name: its digests say so
    return [
        ada["path"],
        write(grace, tmp_path / "grace.json"),
        write(_only_concepts(ada["document"], "linus"), tmp_path / "linus.json"),
    ]


def _only_concepts(document: dict[str, Any], name: str) -> dict[str, Any]:
    """An honest export of someone who did only the concepts lesson: Ada's record, digests made for `name`."""
    from tests.progress.classroom import seal

    mine = copy.deepcopy(document)
    mine["learner"] = name
    for lesson in mine["lessons"]:
        for step in lesson["steps"]:
            if lesson["id"] != "concepts":
                ident = step["id"]
                step.clear()
                step.update({"id": ident, "status": "not_started"})
            elif "digest" in step:
                seal(mine, lesson["id"], step["id"])
    return mine


def test_roster_due_date_points_and_canvas(ada: dict[str, Any], tmp_path: Path) -> None:
    files = _cohort(ada, tmp_path)
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "name,email,id,section\nAda,ada@example.org,s-1,A\nLinus,linus@example.org,s-2,B\nMargaret,m@example.org,s-3,A\n"
    )
    completed = step_of(ada["document"], "tokens", "refresh")["completed_at"]
    due = completed[:10]  # the day Ada did it: nothing late
    out = tmp_path / "cohort.csv"
    result = cli(
        ada["home"],
        "progress",
        "merge",
        *map(str, files),
        "--pack",
        str(FIXTURE),
        "--roster",
        str(roster),
        "--due",
        due,
        "--points",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert "Missing (on the roster, no export): Margaret" in result.output
    assert "Not on the roster: Grace Hopper" in result.output
    assert "Late" not in result.output
    assert "Points: Ada 7/8, Grace Hopper 0/8, linus 3/8" in result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    grace = [r for r in rows if r["learner"] == "Grace Hopper" and r["status"] == "passed"]
    assert grace and all("digest does not match" in r["suspect"] and r["points"] == "0" for r in grace)
    assert {r["roster"] for r in grace} == {"not on the roster"}
    type_it = next(r for r in rows if r["learner"] == "Ada" and r["step_id"] == "type-it")
    assert (type_it["points"], type_it["suspect"], type_it["late"]) == ("2", "", "")

    early = cli(ada["home"], "progress", "merge", *map(str, files), "--due", "2020-01-01", "-o", str(out))
    assert "Late (completed after 2020-01-01T23:59" in early.output and "Ada" in early.output
    ada_rows = [r for r in csv.DictReader(io.StringIO(out.read_text())) if r["learner"] == "Ada"]
    assert {r["late"] for r in ada_rows if r["status"] == "passed"} == {"late"}

    canvas = tmp_path / "canvas.csv"
    result = cli(
        ada["home"],
        "progress",
        "merge",
        *map(str, files),
        "--pack",
        str(FIXTURE),
        "--roster",
        str(roster),
        "--points",
        "--format",
        "canvas",
        "-o",
        str(canvas),
    )
    assert result.exit_code == 0, result.output
    lines = list(csv.reader(io.StringIO(canvas.read_text())))
    assert lines[0] == [
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Section",
        "Concepts (backend-tutor)",
        "Move stock in one transaction (backend-tutor)",
        "Tokens that expire and refresh (backend-tutor)",
        "Build hello (backend-tutor)",
    ]
    assert lines[1] == ["Points Possible", "", "", "", "", "4", "1", "2", "1"]
    assert lines[2] == ["Ada", "", "s-1", "ada@example.org", "A", "3", "1", "2", "1"]
    assert lines[3] == ["Linus", "", "s-2", "linus@example.org", "B", "3", "0", "0", "0"]
    assert lines[4] == ["Margaret", "", "s-3", "m@example.org", "A", "0", "0", "0", "0"]
    assert lines[5] == ["Grace Hopper", "", "", "", "", "0", "0", "0", "0"]


def test_a_roster_without_names_and_a_bad_due_date_are_refused(tmp_path: Path) -> None:
    export = tmp_path / "e.json"
    export.write_text(json.dumps({"progress_format": 1, "learner": "x", "pack": {"id": "p"}, "lessons": []}))
    roster = tmp_path / "roster.csv"
    roster.write_text("email\na@b.c\n")
    result = cli(tmp_path, "progress", "merge", str(export), "--roster", str(roster))
    assert result.exit_code == 1 and f"{roster}:1:1: a roster needs a header with a `name` column" in result.output
    result = cli(tmp_path, "progress", "merge", str(export), "--due", "next friday")
    assert result.exit_code == 1 and "--due 'next friday': give a date (2027-01-15)" in result.output


def test_the_instructors_guide_lists_every_column_the_tutor_writes() -> None:
    """docs/instructors.md is what an instructor maps their gradebook from: it must name every column of
    the export CSV, the merge's additions, the Canvas file and verify's gradebook CSV, in order."""
    from tutor.gradebook import CANVAS_FIXED, MERGE_COLUMNS
    from tutor.progress_export import COLUMNS
    from tutor.verify import GRADEBOOK_COLUMNS

    guide = " ".join((Path(__file__).resolve().parents[2] / "docs" / "instructors.md").read_text().split())
    assert ", ".join(COLUMNS) in guide
    assert ", ".join(f"`{c}`" for c in MERGE_COLUMNS[:-1]) + f" and `{MERGE_COLUMNS[-1]}`" in guide
    assert ", ".join(f"`{c}`" for c in CANVAS_FIXED[:-1]) in guide and f"`{CANVAS_FIXED[-1]}`" in guide
    assert "`" + ", ".join(GRADEBOOK_COLUMNS) + "`" in guide
