"""The course map's list: tracks in pack order, each with its lessons and their status."""

from __future__ import annotations

from typing import ClassVar

from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option

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
        self._shown = (index, progress, broken)
        self._shown_width = self._width()
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
                minutes = f"  {lesson.minutes} min" if lesson.minutes else ""
                room = self._shown_width - 2 - len(badge(status)) - len(minutes)
                title = elide(lesson.title, room)
                prompt = Content.assemble("  ", (badge(status), STYLE[status]), title, (minutes, "$text-muted"))
                options.append(Option(prompt, id=lesson.id))
        self.set_options(options)
        ids = [o.id for o in self.options]
        if highlighted is not None and highlighted in ids:
            self.highlighted = ids.index(highlighted)
        else:
            first = next((i for i, o in enumerate(self.options) if not o.disabled), None)
            self.highlighted = first

    def _update_lines(self) -> None:
        """Measure the options not measured yet. OptionList wraps every option to learn its height, which
        cost about 40 ms before the first frame of a 1,000-lesson map; here every lesson line is cut to
        the list's width (see `show`), so a line that fits is one row by its length alone. The rest (a
        long track header, a list not laid out yet) are measured by OptionList's own code, which then
        sets the scroll size as it always does."""
        region = self.scrollable_content_region
        if region:
            cache = self._line_cache
            lines = cache.lines
            first = lines[-1][0] + 1 if lines else 0
            room = region.width - self._get_left_gutter_width()
            room -= self.get_component_styles("option-list--option").padding.width
            for index, option in enumerate(self.options[first:], first):
                prompt = option.prompt
                if not (isinstance(prompt, Content) and 0 < prompt.cell_length <= room and "\n" not in prompt.plain):
                    break  # OptionList measures this one and every one after it
                cache.index_to_line[index] = len(lines)
                cache.heights[index] = 1 + option._divider
                lines.append((index, 0))
                if option._divider:
                    lines.append((index, 1))
        super()._update_lines()

    def _width(self) -> int:
        width = self.scrollable_content_region.width
        return (width - 1) if width > 0 else 0  # 0: not laid out yet, no eliding

    def on_resize(self) -> None:
        shown = getattr(self, "_shown", None)
        if shown is not None and self._width() != self._shown_width:
            self.show(*shown)
