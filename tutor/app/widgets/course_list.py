"""The course map's list: tracks in pack order, each with its lessons and their status."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.content import Content
from textual.visual import RenderOptions, Visual
from textual.widgets import OptionList
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from textual.css.styles import RulesMap
    from textual.strip import Strip
    from textual.style import Style

from tutor.app.status import STYLE, badge
from tutor.pack.index import LessonOutline, PackIndex
from tutor.progress import PASSED, StepProgress, lesson_status

Progress = dict[str, dict[str, StepProgress]]


def track_percent(lessons: list[LessonOutline], progress: Progress) -> int:
    total = sum(len(lesson.steps) for lesson in lessons)
    if not total:
        return 0
    done = sum(
        1
        for lesson in lessons
        for step in lesson.step_ids
        if (p := progress.get(lesson.id, {}).get(step)) is not None and p.passed
    )
    return round(100 * done / total)


def elide(text: str, width: int) -> str:
    """`text` cut to `width` characters at a word boundary where one is near, ending in '…'."""
    if width <= 0 or len(text) <= width:
        return text
    cut = text[: max(1, width - 1)]
    space = cut.rfind(" ")
    if space >= width // 2:
        cut = cut[:space]
    return cut.rstrip(" ,:;·-") + "…"


class LessonLine(Visual):
    """One lesson's row: its status, its title and its minutes, on one row whatever the width. The title
    is cut (at a word, with '…') to the width the row is drawn at, so the list is built without knowing
    its width: once, before the first frame, rather than again when the first layout tells the width
    (which cost a 1,000-lesson map a second build and draw)."""

    def __init__(self, status: str, title: str, minutes: int | None) -> None:
        self.status = status
        self.title = title
        self.minutes = f"  {minutes} min" if minutes else ""
        self._fixed = 2 + len(badge(status)) + len(self.minutes)

    def content(self, width: int | None = None) -> Content:
        title = self.title if width is None else elide(self.title, max(1, width - self._fixed))
        line = Content.assemble("  ", (badge(self.status), STYLE[self.status]), title, (self.minutes, "$text-muted"))
        return line if width is None or line.cell_length <= width else line.truncate(width, ellipsis=True)

    def __str__(self) -> str:
        return self.content().plain

    def render_strips(self, width: int, height: int | None, style: Style, options: RenderOptions) -> list[Strip]:
        return self.content(width).render_strips(width, 1, style, options)

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return self._fixed + len(self.title)

    def get_height(self, rules: RulesMap, width: int) -> int:
        return 1


class CourseList(OptionList):
    """Options are lessons (id = lesson id); track headers are disabled options."""

    HELP: ClassVar[str] = """\
## The course map
Tracks in the pack's order, each with its lessons. Each lesson shows its status in a symbol and a word:

- **✓ done**: every step passed
- **◐ started**: you have begun it
- **○ new**: not opened yet
- **✗ has errors**: the pack file for it is broken (press **p** to see where)

Move with **↑/↓**, open with **Enter**, or press **c** to continue where you left off.
Prerequisites are advice only: any lesson can be opened at any time.
"""

    def show(self, index: PackIndex, progress: Progress, broken: frozenset[str] = frozenset()) -> None:
        highlighted = self.highlighted_option.id if self.highlighted_option is not None else None
        options: list[Option | None] = []
        for number, track in enumerate(index.tracks):
            lessons = index.lessons_in(track.id)
            done = sum(1 for lesson in lessons if lesson_status(lesson.step_ids, progress.get(lesson.id, {})) == PASSED)
            header = Content.assemble(
                (track.title, "bold"),
                (f"  {track_percent(lessons, progress)}% · {done}/{len(lessons)} lessons done", "$text-muted"),
            )
            if number:
                options.append(None)
            options.append(Option(header, id=f"track:{track.id}", disabled=True))
            if not lessons:
                options.append(Option(Content.styled("    (no lessons yet)", "$text-muted italic"), disabled=True))
            for lesson in lessons:
                status = (
                    "broken" if lesson.id in broken else lesson_status(lesson.step_ids, progress.get(lesson.id, {}))
                )
                options.append(Option(LessonLine(status, lesson.title, lesson.minutes), id=lesson.id))
        self.set_options(options)
        ids = [o.id for o in self.options]
        if highlighted is not None and highlighted in ids:
            self.highlighted = ids.index(highlighted)
        else:
            first = next((i for i, o in enumerate(self.options) if not o.disabled), None)
            self.highlighted = first
