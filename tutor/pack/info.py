"""`pack info`: what a pack holds, for people and (with --json) for programs.

The JSON document (format 1) is stable; fields may be added, never renamed or removed:

    {
      "info_format": 1,
      "valid": true,                       # false when the pack has errors (then see "errors")
      "errors": ["FILE:LINE:COL: message", ...],
      "warnings": [...],
      "pack": {"id", "title", "version", "description", "authors": [{"name", "email", "url"}],
               "min_tutor_version", "root", "runs_code", "renamed": {old: new}},
      "tracks": [{"id", "title", "lessons": [
          {"id", "title", "file", "minutes", "prerequisites": [...], "sandboxes": ["sql", "api"], "notes",
           "renamed": {old: new},
           "steps": [{"id", "title", "check_kinds": [...], "hints": N, "wrong_answers": N,
                      "solution": ["answer" | "sql" | "requests" | "files", ...], "notes"}]}]}],
      "totals": {"tracks", "lessons", "steps", "check_kinds": {kind: steps using it},
                 "sandboxes": {name: lessons using it}}
    }
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from tutor.pack.checks import iter_kinds
from tutor.pack.install import runs_code
from tutor.pack.loader import PackLoad


def info_document(load: PackLoad) -> dict[str, Any]:
    pack = load.pack
    doc: dict[str, Any] = {
        "info_format": 1,
        "valid": load.ok,
        "errors": [str(p) for p in load.errors],
        "warnings": [str(p) for p in load.warnings],
        "pack": None,
        "tracks": [],
        "totals": {"tracks": 0, "lessons": 0, "steps": 0, "check_kinds": {}, "sandboxes": {}},
    }
    if pack is None:
        return doc
    manifest = pack.manifest
    doc["pack"] = {
        "id": manifest.id,
        "title": manifest.title,
        "version": manifest.version,
        "description": manifest.description,
        "authors": [a.model_dump() for a in manifest.authors],
        "min_tutor_version": manifest.min_tutor_version,
        "root": str(pack.root.resolve()),
        "runs_code": runs_code(pack),
        "renamed": dict(manifest.renamed),
    }
    kinds: Counter[str] = Counter()
    sandboxes: Counter[str] = Counter()
    steps_total = 0
    for track in manifest.tracks:
        lessons = []
        for entry in pack.lessons:
            lesson = entry.lesson
            if lesson.track != track.id:
                continue
            used = [name for name in ("sql", "api") if getattr(lesson.sandboxes, name) is not None]
            sandboxes.update(used)
            steps = []
            for step in lesson.steps:
                step_kinds = iter_kinds(step.check)
                kinds.update(set(step_kinds))
                solution = [
                    part
                    for part, present in (
                        ("answer", step.solution.answer is not None),
                        ("sql", step.solution.sql is not None),
                        ("requests", bool(step.solution.requests)),
                        ("files", step.solution.files is not None),
                    )
                    if present
                ]
                steps.append(
                    {
                        "id": step.id,
                        "title": step.title,
                        "check_kinds": step_kinds,
                        "hints": len(step.hints),
                        "wrong_answers": len(step.wrong_answers),
                        "solution": solution,
                        "notes": step.notes,
                    }
                )
            steps_total += len(steps)
            lessons.append(
                {
                    "id": lesson.id,
                    "title": lesson.title,
                    "file": entry.path,
                    "minutes": lesson.minutes,
                    "prerequisites": list(lesson.prerequisites),
                    "sandboxes": used,
                    "notes": lesson.notes,
                    "renamed": dict(lesson.renamed),
                    "steps": steps,
                }
            )
        doc["tracks"].append({"id": track.id, "title": track.title, "lessons": lessons})
    doc["totals"] = {
        "tracks": len(manifest.tracks),
        "lessons": len(pack.lessons),
        "steps": steps_total,
        "check_kinds": dict(sorted(kinds.items())),
        "sandboxes": dict(sorted(sandboxes.items())),
    }
    return doc


def render_text(doc: dict[str, Any]) -> str:
    lines: list[str] = []
    pack = doc["pack"]
    if pack is None:
        return "\n".join(doc["errors"]) + "\n"
    lines.append(f"{pack['title']}  ({pack['id']} {pack['version']})")
    if pack.get("runs_code"):
        lines.append("runs code: yes: its build-it lessons run Python from the pack (installing needs --trust)")
    totals = doc["totals"]
    lines.append(f"{totals['tracks']} tracks, {totals['lessons']} lessons, {totals['steps']} steps")
    kinds = ", ".join(f"{k} x{n}" for k, n in totals["check_kinds"].items()) or "none"
    lines.append(f"check kinds: {kinds}")
    boxes = ", ".join(f"{k} ({n} lessons)" for k, n in totals["sandboxes"].items()) or "none"
    lines.append(f"sandboxes: {boxes}")
    for track in doc["tracks"]:
        lines.append("")
        lines.append(f"{track['title']} [{track['id']}]")
        if not track["lessons"]:
            lines.append("  (no lessons yet)")
        for lesson in track["lessons"]:
            extra = f", {lesson['minutes']} min" if lesson["minutes"] else ""
            boxes = f", sandboxes: {'+'.join(lesson['sandboxes'])}" if lesson["sandboxes"] else ""
            lines.append(f"  {lesson['id']}: {lesson['title']} ({len(lesson['steps'])} steps{extra}{boxes})")
            if lesson.get("notes"):
                lines.append(f"    notes: {' '.join(lesson['notes'].split())}")
            for step in lesson["steps"]:
                lines.append(f"    - {step['id']}: {'+'.join(step['check_kinds'])}")
                if step.get("notes"):
                    lines.append(f"      notes: {' '.join(step['notes'].split())}")
    if not doc["valid"]:
        lines.append("")
        lines.append(f"{len(doc['errors'])} errors: run `backend-tutor pack validate` to see them")
    return "\n".join(lines) + "\n"
