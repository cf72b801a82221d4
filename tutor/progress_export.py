"""Progress for instructors: one learner's export (JSON or CSV), and a cohort's exports merged.

The CSV export has one row per step of the pack, in pack order, with these columns (stable: columns
may be added at the end, never renamed, removed or reordered):

    learner, pack_id, pack_version, track, lesson_id, lesson_title, step_id, step_title, status,
    attempts, hints_used, solution_viewed, first_activity, last_activity, completed_at, step_pack_version,
    evidence_sha256, digest

`status` is not_started, in_progress or passed; `solution_viewed` is 0 or 1; times are ISO 8601 in UTC
(empty when there is none); `pack_version` is the version of the pack exported from, and
`step_pack_version` the version the learner last worked on that step in.

The JSON export has the same fields per step, and for a passed step its `evidence` (tutor.evidence):
what the learner did, which `progress verify` replays. `evidence_sha256` is the sha256 of that evidence
(its canonical JSON) and `digest` a sha256 of the step's record (`record_digest`): the learner, the ids,
the status, the counts, the times and `evidence_sha256`. Editing a record by hand without computing them
again shows; anyone can compute them again, so a digest tells of editing, never of honesty: only a
replay (`progress verify`) does that.

`merge` reads any mix of CSV and JSON exports and gives the combined rows and one summary row per step:

    pack_id, lesson_id, step_id, step_title, learners, started, passed, completion_rate,
    median_attempts, hints_used, solutions_viewed, stuck

`completion_rate` is passed / learners (0..1, 3 decimals); `median_attempts` is over the learners who
checked the step at least once; `stuck` counts learners who started the step and have not passed it.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tutor.pack.index import PackIndex
from tutor.progress import IN_PROGRESS, NOT_STARTED, PASSED, StepProgress, lesson_status

COLUMNS = [
    "learner",
    "pack_id",
    "pack_version",
    "track",
    "lesson_id",
    "lesson_title",
    "step_id",
    "step_title",
    "status",
    "attempts",
    "hints_used",
    "solution_viewed",
    "first_activity",
    "last_activity",
    "completed_at",
    "step_pack_version",
    "evidence_sha256",
    "digest",
]
DIGESTED = (
    "learner",
    "pack_id",
    "lesson_id",
    "step_id",
    "status",
    "attempts",
    "hints_used",
    "solution_viewed",
    "first_activity",
    "last_activity",
    "completed_at",
    "step_pack_version",
    "evidence_sha256",
)
"""The fields of a step's record its digest covers."""
SUMMARY_COLUMNS = [
    "pack_id",
    "lesson_id",
    "step_id",
    "step_title",
    "learners",
    "started",
    "passed",
    "completion_rate",
    "median_attempts",
    "hints_used",
    "solutions_viewed",
    "stuck",
]
LEARNER_SETTING = "learner_name"


class ExportError(Exception):
    """A file given to merge is not an export; the message names the file and the line."""


def iso(value: float | None) -> str:
    return datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds") if value else ""


def record_digest(row: dict[str, Any]) -> str:
    """The digest of one step's record (its DIGESTED fields, as the CSV writes them)."""
    from tutor.evidence import sha256_of

    fields = {key: row.get(key, "") for key in DIGESTED}
    for key in ("attempts", "hints_used", "solution_viewed"):
        fields[key] = _whole(fields[key])
    for key in DIGESTED:
        if fields[key] is None:
            fields[key] = ""
    return "sha256:" + sha256_of(fields)


def _whole(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return -1  # not a number: it cannot match any digest the tutor wrote


Evidence = dict[str, dict[str, dict[str, Any]]]
"""{lesson_id: {step_id: evidence record}} (ProgressStore.pack_evidence)."""


def _evidence_of(got: StepProgress | None, evidence: Evidence, lesson_id: str) -> dict[str, Any] | None:
    if got is None or not got.passed:
        return None
    return evidence.get(lesson_id, {}).get(got.step_id)


def export_rows(
    index: PackIndex,
    learner: str,
    recorded: dict[str, dict[str, StepProgress]],
    evidence: Evidence | None = None,
) -> list[dict[str, str | int]]:
    from tutor.evidence import sha256_of

    rows: list[dict[str, str | int]] = []
    for lesson in index.lessons:
        steps = recorded.get(lesson.id, {})
        for outline in lesson.steps:
            got = steps.get(outline.id)
            proof = _evidence_of(got, evidence or {}, lesson.id)
            row: dict[str, str | int] = {
                "learner": learner,
                "pack_id": index.id,
                "pack_version": index.version,
                "track": lesson.track,
                "lesson_id": lesson.id,
                "lesson_title": lesson.title,
                "step_id": outline.id,
                "step_title": outline.title,
                "status": got.status if got else NOT_STARTED,
                "attempts": got.attempts if got else 0,
                "hints_used": got.hints_used if got else 0,
                "solution_viewed": int(got.solution_viewed) if got else 0,
                "first_activity": iso(got.first_activity) if got else "",
                "last_activity": iso(got.last_activity) if got else "",
                "completed_at": iso(got.completed_at) if got else "",
                "step_pack_version": got.pack_version if got else "",
                "evidence_sha256": sha256_of(proof) if proof is not None else "",
                "digest": "",
            }
            if got is not None:
                row["digest"] = record_digest(row)
            rows.append(row)
    return rows


def export_json(
    index: PackIndex,
    learner: str,
    recorded: dict[str, dict[str, StepProgress]],
    position: tuple[str, str] | None,
    evidence: Evidence | None = None,
) -> dict[str, Any]:
    """`progress export --format json` (and `progress --json`): format 1, fields only ever added."""
    from tutor.evidence import EVIDENCE_FORMAT, sha256_of

    lessons = []
    for lesson in index.lessons:
        steps_recorded = recorded.get(lesson.id, {})
        steps: list[dict[str, Any]] = []
        for outline in lesson.steps:
            got = steps_recorded.get(outline.id)
            if got is None:
                steps.append({"id": outline.id, "status": NOT_STARTED})
                continue
            proof = _evidence_of(got, evidence or {}, lesson.id)
            entry: dict[str, Any] = {
                "id": outline.id,
                "status": got.status,
                "attempts": got.attempts,
                "hints_used": got.hints_used,
                "solution_viewed": got.solution_viewed,
                "first_activity": iso(got.first_activity) or None,
                "last_activity": iso(got.last_activity) or None,
                "completed_at": iso(got.completed_at) or None,
                "pack_version": got.pack_version,
                "evidence_sha256": sha256_of(proof) if proof is not None else "",
            }
            entry["digest"] = record_digest(_flat(learner, index.id, lesson.id, entry))
            if proof is not None:
                entry["evidence"] = proof
            steps.append(entry)
        lessons.append(
            {
                "id": lesson.id,
                "title": lesson.title,
                "track": lesson.track,
                "status": lesson_status(lesson.step_ids, steps_recorded),
                "steps": steps,
            }
        )
    return {
        "progress_format": 1,
        "evidence_format": EVIDENCE_FORMAT,
        "learner": learner,
        "pack": {"id": index.id, "title": index.title, "version": index.version},
        "position": {"lesson": position[0], "step": position[1]} if position else None,
        "lessons": lessons,
    }


def _flat(learner: str, pack_id: str, lesson_id: str, step: dict[str, Any]) -> dict[str, Any]:
    """A JSON export's step as the CSV row fields the digest covers."""
    return {
        "learner": learner,
        "pack_id": pack_id,
        "lesson_id": lesson_id,
        "step_id": step.get("id", ""),
        "status": step.get("status", NOT_STARTED),
        "attempts": step.get("attempts") or 0,
        "hints_used": step.get("hints_used") or 0,
        "solution_viewed": int(bool(step.get("solution_viewed"))),
        "first_activity": step.get("first_activity") or "",
        "last_activity": step.get("last_activity") or "",
        "completed_at": step.get("completed_at") or "",
        "step_pack_version": step.get("pack_version") or "",
        "evidence_sha256": step.get("evidence_sha256") or "",
    }


def rows_to_csv(rows: Iterable[dict[str, Any]], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


def _rows_from_json(path: Path, data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or data.get("progress_format") != 1 or not isinstance(data.get("lessons"), list):
        raise ExportError(f"{path}:1:1: not a backend-tutor progress export (no progress_format 1)")
    pack = data.get("pack") or {}
    rows: list[dict[str, Any]] = []
    with_evidence = "evidence_format" in data
    for lesson in data["lessons"]:
        for step in lesson.get("steps", []):
            row = _flat(str(data.get("learner") or ""), str(pack.get("id", "")), str(lesson.get("id", "")), step)
            rows.append(
                {
                    **row,
                    "learner": data.get("learner") or path.stem,
                    "pack_id": pack.get("id", ""),
                    "pack_version": pack.get("version", ""),
                    "track": lesson.get("track", ""),
                    "lesson_id": lesson.get("id", ""),
                    "lesson_title": lesson.get("title", ""),
                    "step_id": step.get("id", ""),
                    "step_title": step.get("title", step.get("id", "")),
                    "status": step.get("status", NOT_STARTED),
                    "attempts": int(step.get("attempts") or 0),
                    "hints_used": int(step.get("hints_used") or 0),
                    "solution_viewed": int(bool(step.get("solution_viewed"))),
                    "first_activity": step.get("first_activity") or "",
                    "last_activity": step.get("last_activity") or "",
                    "completed_at": step.get("completed_at") or "",
                    "step_pack_version": step.get("pack_version") or "",
                    "digest": step.get("digest") or "",
                    "evidence": step.get("evidence"),
                    "source": str(path),
                    "with_evidence": with_evidence,
                    "computed_digest": record_digest(row) if "digest" in step else "",
                }
            )
    return rows


def _rows_from_csv(path: Path, text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [
        c for c in ("learner", "pack_id", "lesson_id", "step_id", "status") if c not in (reader.fieldnames or [])
    ]
    if missing:
        raise ExportError(f"{path}:1:1: not a progress export: no column {', '.join(missing)}")
    rows: list[dict[str, Any]] = []
    for row in reader:
        try:
            for key in ("attempts", "hints_used", "solution_viewed"):
                row[key] = int(row.get(key) or 0)
        except ValueError:
            raise ExportError(f"{path}:{reader.line_num}:1: '{key}' is not a whole number") from None
        kept = {c: row.get(c, "") for c in COLUMNS}
        kept["source"] = str(path)
        kept["with_evidence"] = "digest" in (reader.fieldnames or [])
        kept["computed_digest"] = record_digest(kept) if kept["digest"] else ""
        rows.append(kept)
    return rows


def suspects(row: dict[str, Any]) -> list[str]:
    """Why a row of an export cannot be taken as it stands (empty when nothing is wrong with it): what can
    be seen without the pack (digests, impossible rows). `progress verify` replays the evidence."""
    from tutor.evidence import sha256_of

    reasons: list[str] = []
    status = row.get("status")
    digest = row.get("digest") or ""
    if status not in (NOT_STARTED, IN_PROGRESS, PASSED):
        reasons.append(f"unknown status '{status}'")
    if row.get("with_evidence"):
        if status != NOT_STARTED and not digest:
            reasons.append("no digest, though the tutor writes one with every step it records")
        elif digest and digest != row.get("computed_digest"):
            reasons.append("its digest does not match: the record was edited after it was exported")
        evidence = row.get("evidence")
        if evidence is not None and sha256_of(evidence) != row.get("evidence_sha256"):
            reasons.append("its evidence was edited after it was exported (its sha256 does not match)")
    if status == PASSED:
        if _whole(row.get("attempts")) < 1:
            reasons.append("passed without a single check (0 attempts)")
        if not row.get("completed_at"):
            reasons.append("passed with no completion time")
        elif row.get("first_activity") and str(row["completed_at"]) < str(row["first_activity"]):
            reasons.append("completed before it was started")
        if not row.get("evidence_sha256"):
            reasons.append(
                "passed with no evidence of the work"
                + ("" if row.get("with_evidence") else " (exported by a backend-tutor that kept none)")
            )
    return reasons


def read_export(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExportError(f"{path}:1:1: cannot read it: {exc}") from None
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ExportError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
        return _rows_from_json(path, data)
    return _rows_from_csv(path, text)


@dataclass
class StepSummary:
    pack_id: str
    lesson_id: str
    step_id: str
    step_title: str
    learners: int
    started: int
    passed: int
    median_attempts: float | None
    hints_used: int
    solutions_viewed: int

    @property
    def completion_rate(self) -> float:
        return self.passed / self.learners if self.learners else 0.0

    @property
    def stuck(self) -> int:
        return self.started - self.passed

    def as_row(self) -> dict[str, Any]:
        median = "" if self.median_attempts is None else f"{self.median_attempts:g}"
        return {
            "pack_id": self.pack_id,
            "lesson_id": self.lesson_id,
            "step_id": self.step_id,
            "step_title": self.step_title,
            "learners": self.learners,
            "started": self.started,
            "passed": self.passed,
            "completion_rate": f"{self.completion_rate:.3f}",
            "median_attempts": median,
            "hints_used": self.hints_used,
            "solutions_viewed": self.solutions_viewed,
            "stuck": self.stuck,
        }


def merge(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[StepSummary]]:
    """Combine rows (a learner exported twice: the later file wins for that learner and step) and sum
    them per step, steps in the order they first appear."""
    titles: dict[tuple[str, str, str], tuple[str, str]] = {}
    for row in rows:  # a JSON export has no titles: take them from a CSV export of the same step
        key3 = (row["pack_id"], row["lesson_id"], row["step_id"])
        if row.get("step_title") and row["step_title"] != row["step_id"]:
            titles.setdefault(key3, (row["step_title"], row.get("lesson_title", "")))
    rows = [
        {**row, "step_title": titles[k][0], "lesson_title": titles[k][1] or row.get("lesson_title", "")}
        if (k := (row["pack_id"], row["lesson_id"], row["step_id"])) in titles
        else row
        for row in rows
    ]
    combined: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for row in rows:
        combined[(row["learner"], row["pack_id"], row["lesson_id"], row["step_id"])] = row
    merged = sorted(combined.values(), key=lambda r: (r["learner"].lower(), r["learner"]))
    order: list[tuple[str, str, str]] = []
    per_step: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in rows:
        key = (row["pack_id"], row["lesson_id"], row["step_id"])
        if key not in per_step:
            order.append(key)
            per_step[key] = []
    for row in combined.values():
        per_step[(row["pack_id"], row["lesson_id"], row["step_id"])].append(row)
    summaries: list[StepSummary] = []
    for key in order:
        group = per_step[key]
        tries = [int(r["attempts"]) for r in group if int(r["attempts"]) > 0]
        summaries.append(
            StepSummary(
                pack_id=key[0],
                lesson_id=key[1],
                step_id=key[2],
                step_title=str(group[0].get("step_title") or key[2]),
                learners=len({r["learner"] for r in group}),
                started=sum(1 for r in group if r["status"] != NOT_STARTED),
                passed=sum(1 for r in group if r["status"] == PASSED),
                median_attempts=statistics.median(tries) if tries else None,
                hints_used=sum(int(r["hints_used"]) for r in group),
                solutions_viewed=sum(int(r["solution_viewed"]) for r in group),
            )
        )
    return merged, summaries
