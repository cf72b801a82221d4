"""Command-palette providers: "Open lesson: ..." searching lesson titles, and the course actions."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from tutor.app.app import TutorApp


class LessonCommands(Provider):
    """Open any lesson by its title (or its track's), continue, or show the pack's problems."""

    def _commands(self) -> list[tuple[str, str, object]]:
        app: TutorApp = self.app  # type: ignore[assignment]
        tracks = {t.id: t.title for t in app.index.tracks}
        commands: list[tuple[str, str, object]] = [
            ("Continue where I left off", "Open the lesson and step you were on last", app.continue_learning),
        ]
        for lesson in app.index.lessons:
            commands.append(
                (
                    f"Open lesson: {lesson.title}",
                    f"{tracks.get(lesson.track, lesson.track)} - {len(lesson.steps)} steps",
                    partial(app.open_lesson, lesson.id),
                )
            )
        commands.append(
            ("Show pack problems", "Every problem found in the pack, with file:line:col", app.show_pack_problems)
        )
        return commands

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = max(matcher.match(title), matcher.match(help_text) * 0.5)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)  # type: ignore[arg-type]
