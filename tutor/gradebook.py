"""A cohort's merged rows against a roster, a due date and the pack's points; a gradebook Canvas imports.

`progress merge` adds three columns to every merged row (after the export's own, tutor.progress_export):

    suspect   why the row cannot be taken as it stands (digests, impossible rows), "; "-separated
    late      "late" when the step was completed after the due date
    points    the step's points when it is passed and not suspect (the pack's `points`, default 1)
    roster    "not on the roster" for a learner the roster does not list

The roster is a CSV with a header: `name` (required), and optionally `email`, `id`, `login`, `section`,
`canvas_id`. An export belongs to a roster entry when its learner name equals the entry's name, email,
id or login (case and spacing aside).

`--format canvas` writes the Canvas gradebook import: the columns Canvas reads to find a student

    Student, ID, SIS User ID, SIS Login ID, Section

(from the roster's name, canvas_id, id, login or else email, section), then one column per lesson named
`LESSON TITLE (backend-tutor)` (Canvas makes an assignment of a column it does not know), holding the
points of that lesson's passed, unsuspect steps. The second row, `Points Possible`, holds each
lesson's total. A learner on the roster with no export gets 0.

Times come from the learner's machine: `completed_at` is what their clock said when the check passed,
and a learner can set their clock back. "Late" is as trustworthy as that clock; for a deadline that
holds, collect the exports through something that keeps its own time (a repository's push, a dated
upload) and look at that.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

MERGE_COLUMNS = ["suspect", "late", "points", "roster"]
CANVAS_FIXED = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_SUFFIX = " (backend-tutor)"


class RosterError(Exception):
    """A roster or a due date that cannot be read: the message names the file and line."""


@dataclass(frozen=True)
class RosterEntry:
    name: str
    email: str = ""
    id: str = ""
    login: str = ""
    section: str = ""
    canvas_id: str = ""

    def names(self) -> set[str]:
        return {_key(v) for v in (self.name, self.email, self.id, self.login) if v.strip()}


def _key(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def read_roster(path: Path) -> list[RosterEntry]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"{path}:1:1: cannot read the roster: {exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    if "name" not in fields:
        raise RosterError(f"{path}:1:1: a roster needs a header with a `name` column (and optionally email, id, login)")
    entries: list[RosterEntry] = []
    for row in reader:
        values = {str(k).strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        if not values.get("name"):
            if any(values.values()):
                raise RosterError(f"{path}:{reader.line_num}:1: a roster line with no name")
            continue
        entries.append(
            RosterEntry(
                values["name"],
                values.get("email", ""),
                values.get("id", ""),
                values.get("login", ""),
                values.get("section", ""),
                values.get("canvas_id", ""),
            )
        )
    return entries


def match_roster(learners: Iterable[str], roster: list[RosterEntry]) -> tuple[dict[str, RosterEntry], list[str]]:
    """({learner: their roster entry}, learners the roster does not list)."""
    found: dict[str, RosterEntry] = {}
    stray: list[str] = []
    for learner in learners:
        entry = next((e for e in roster if _key(learner) in e.names()), None)
        if entry is None:
            stray.append(learner)
        else:
            found[learner] = entry
    return found, stray


def parse_due(text: str) -> datetime:
    """`2027-01-15` (the end of that day, in this machine's time zone) or an ISO 8601 date and time."""
    try:
        if len(text.strip()) == 10:
            day = datetime.strptime(text.strip(), "%Y-%m-%d")
            return datetime.combine(day.date(), time(23, 59, 59)).astimezone()
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise RosterError(
            f"--due '{text}': give a date (2027-01-15) or a date and time (2027-01-15T18:00+01:00)"
        ) from None
    return moment if moment.tzinfo is not None else moment.astimezone()


def _moment(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def annotate(
    rows: list[dict[str, Any]],
    *,
    due: datetime | None = None,
    points: dict[tuple[str, str], float] | None = None,
    roster: list[RosterEntry] | None = None,
) -> None:
    """Fill each merged row's `suspect`, `late`, `points` and `roster` columns (in place)."""
    from tutor.progress import PASSED
    from tutor.progress_export import suspects

    stray: set[str] = set()
    if roster is not None:
        _, strays = match_roster({r["learner"] for r in rows}, roster)
        stray = set(strays)
    for row in rows:
        reasons = suspects(row)
        row["suspect"] = "; ".join(reasons)
        completed = _moment(str(row.get("completed_at") or ""))
        row["late"] = "late" if due is not None and completed is not None and completed > due else ""
        worth = (points or {}).get((row["lesson_id"], row["step_id"]), 1.0)
        row["points"] = f"{worth:g}" if row.get("status") == PASSED and not reasons else "0"
        row["roster"] = "not on the roster" if row["learner"] in stray else ""


def canvas_rows(
    rows: list[dict[str, Any]],
    lessons: list[tuple[str, str, float]],
    roster: list[RosterEntry] | None,
) -> tuple[list[str], list[list[str]]]:
    """(header, lines) of the Canvas gradebook import: `lessons` is (id, title, points possible) in pack
    order; `rows` are annotated merged rows."""
    header = CANVAS_FIXED + [f"{title}{CANVAS_SUFFIX}" for _, title, _ in lessons]
    lines = [["Points Possible", "", "", "", ""] + [f"{possible:g}" for _, _, possible in lessons]]
    learners = sorted({r["learner"] for r in rows}, key=lambda n: (n.casefold(), n))
    entries: list[tuple[str | None, RosterEntry]] = []
    if roster is not None:
        found, strays = match_roster(learners, roster)
        by_entry = {id(entry): learner for learner, entry in found.items()}
        entries = [(by_entry.get(id(entry)), entry) for entry in roster]
        entries += [(learner, RosterEntry(learner)) for learner in strays]
    else:
        entries = [(learner, RosterEntry(learner)) for learner in learners]
    for learner, entry in entries:
        scores = []
        for lesson_id, _, _ in lessons:
            mine = [r for r in rows if r["learner"] == learner and r["lesson_id"] == lesson_id]
            scores.append(f"{sum(float(r.get('points') or 0) for r in mine):g}")
        login = entry.login or entry.email
        lines.append([entry.name, entry.canvas_id, entry.id, login, entry.section, *scores])
    return header, lines


def csv_text(header: list[str], lines: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(lines)
    return out.getvalue()
