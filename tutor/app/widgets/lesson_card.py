"""The course map's side panel: the highlighted lesson, its steps and its advice."""

from __future__ import annotations

from typing import ClassVar

from textual.content import Content
from textual.widgets import Static

from tutor.app.status import STYLE, badge
from tutor.pack.index import LessonOutline, PackIndex
from tutor.progress import NOT_STARTED, StepProgress, lesson_status


class LessonCard(Static):
    HELP: ClassVar[str] = """\
## About the lesson
The lesson under the cursor: what it is about, its steps with your status on each, and the lessons
best done first (advice: nothing is locked). Press **Enter** to open it.
"""

    def show_lesson(
        self,
        index: PackIndex,
        lesson: LessonOutline | None,
        steps: dict[str, StepProgress],
        done_lessons: set[str],
        problems: list[str] | None = None,
    ) -> None:
        if lesson is None:
            self.update(Content.styled("Pick a lesson on the left.", "$text-muted"))
            return
        parts: list[Content | str | tuple[str, str]] = [(lesson.title, "bold"), "\n"]
        track = next((t.title for t in index.tracks if t.id == lesson.track), lesson.track)
        minutes = f" · about {lesson.minutes} min" if lesson.minutes else ""
        parts.append((f"{track} · {len(lesson.steps)} steps{minutes}\n", "$text-muted"))
        if lesson.sandboxes:
            kinds = {"sql": "a SQL database", "api": "an HTTP API"}
            systems = " and ".join(kinds[s] for s in lesson.sandboxes)
            parts.append((f"Hands on: {systems} on your machine\n", "$text-muted"))
        if lesson.summary:
            parts.extend(["\n", " ".join(lesson.summary.split()), "\n"])  # YAML line breaks are not the author's
        if lesson.prerequisites:
            parts.append(("\nBest after: ", "bold"))
            names = []
            for prereq in lesson.prerequisites:
                other = index.lesson(prereq)
                title = other.title if other else prereq
                names.append(f"{title} ({'done' if prereq in done_lessons else 'not done yet'})")
            parts.append(", ".join(names) + "\n")
        parts.append(("\nSteps\n", "bold"))
        for number, step in enumerate(lesson.steps, 1):
            progress = steps.get(step.id)
            status = progress.status if progress else NOT_STARTED
            parts.append(Content.assemble((badge(status), STYLE[status]), f"{number}. {step.title}\n"))
        overall = lesson_status(lesson.step_ids, steps)
        parts.append(("\nEnter: " + ("open" if overall == NOT_STARTED else "continue"), "$text-muted"))
        if problems:
            parts.append(("\n\nThis lesson's file has errors:\n", "bold $text-error"))
            parts.append("\n".join(problems[:8]))
        self.update(Content.assemble(*parts))
