"""JUnit XML for `backend-tutor check --junit`: what GitLab, Jenkins and GitHub's test reporters read.

The Ant/Surefire shape those tools share: `<testsuites>` with one `<testsuite>` per lesson and one
`<testcase>` per step (`classname` PACK.LESSON, `name` the step id). A step that did not pass carries a
`<failure>` (failed, not passed yet, tampered with) or an `<error>` (it could not be checked:
unverifiable), with the reason as its message. Points: each suite's `<properties>` holds `points` (what
its passed steps are worth), `points_possible`, and `points:STEP` for each step.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutor.verify import Claim


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def junit_xml(pack_id: str, claims: Sequence[Claim], possible: dict[tuple[str, str], float]) -> str:
    """The document for `claims` (one per step checked, in pack order)."""
    from tutor.verify import FAILED, NOT_PASSED, TAMPERED, UNVERIFIABLE, VERIFIED

    root = ET.Element("testsuites", name=f"backend-tutor check {pack_id}")
    lessons: list[str] = []
    for claim in claims:
        if claim.lesson not in lessons:
            lessons.append(claim.lesson)
    totals = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
    for lesson in lessons:
        mine = [c for c in claims if c.lesson == lesson]
        failures = sum(1 for c in mine if c.status in (FAILED, NOT_PASSED, TAMPERED))
        errors = sum(1 for c in mine if c.status == UNVERIFIABLE)
        seconds = sum(c.seconds for c in mine)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"{pack_id}.{lesson}",
            tests=str(len(mine)),
            failures=str(failures),
            errors=str(errors),
            skipped="0",
            time=_seconds(seconds),
        )
        properties = ET.SubElement(suite, "properties")
        earned = sum(c.points for c in mine if c.status == VERIFIED)
        ET.SubElement(properties, "property", name="points", value=f"{earned:g}")
        total = sum(possible.get((lesson, c.step), c.points) for c in mine)
        ET.SubElement(properties, "property", name="points_possible", value=f"{total:g}")
        for claim in mine:
            ET.SubElement(properties, "property", name=f"points:{claim.step}", value=f"{claim.points:g}")
        for claim in mine:
            case = ET.SubElement(
                suite, "testcase", classname=f"{pack_id}.{lesson}", name=claim.step, time=_seconds(claim.seconds)
            )
            if claim.status == VERIFIED:
                continue
            tag = "error" if claim.status == UNVERIFIABLE else "failure"
            message = claim.message or claim.status
            problem = ET.SubElement(case, tag, message=f"{claim.status}: {message}"[:1000], type=claim.status)
            problem.text = message
        totals["tests"] += len(mine)
        totals["failures"] += failures
        totals["errors"] += errors
        totals["time"] += seconds
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("errors", str(totals["errors"]))
    root.set("time", _seconds(float(totals["time"])))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
