"""A lesson's row in the course list is one row at any width: its status (symbol and word) and its
minutes always show, and a title too long for the row is cut at a word with '…'. The row is cut
when drawn, so the list is built once, before its width is known."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from tutor.app.widgets.course_list import CourseList, LessonLine
from tutor.pack.index import read_index
from tutor.paths import builtin_pack_path

LONG = "Cache-aside with a TTL, measured against a slow origin under concurrent load"


class _List(App[None]):
    CSS = "CourseList { height: 1fr; border: none; }"

    def compose(self) -> ComposeResult:
        yield CourseList()


@pytest.mark.anyio
@pytest.mark.parametrize("width", [120, 60, 40])
async def test_every_lesson_is_one_row_with_its_status_and_minutes(width: int) -> None:
    index = read_index(builtin_pack_path())
    app = _List()
    async with app.run_test(size=(width, 60)) as pilot:
        course = app.query_one(CourseList)
        course.show(index, {})
        await pilot.pause()
        lessons = [o for o in course.options if isinstance(o.prompt, LessonLine)]
        assert len(lessons) == len(index.lessons)
        heights = course._line_cache.heights
        for number, option in enumerate(course.options):
            if isinstance(option.prompt, LessonLine):
                assert heights[number] == 1 + option._divider  # the last of a track has the rule under it
        rows = [course.render_line(y).text for y in range(min(course.size.height, len(course._lines)))]
        drawn = [row for row in rows if "○ new" in row]
        assert drawn, rows
        for row in drawn:
            assert row.rstrip().endswith("min"), row  # the minutes are never the part that is cut


@pytest.mark.parametrize("width", [100, 50, 30, 12, 3])
def test_a_long_title_is_cut_at_a_word_to_the_row(width: int) -> None:
    line = LessonLine("not_started", LONG, 12)
    drawn = line.content(width)
    assert drawn.cell_length <= width
    assert str(line) == f"  ○ new      {LONG}  12 min"
    if width >= len(str(line)):
        assert drawn.plain == str(line)
    else:
        assert "…" in drawn.plain
        if width >= 50:  # room enough for a word boundary near the cut (elide's rule)
            cut = drawn.plain.split("new", 1)[1].strip().split("…")[0]
            assert LONG.startswith(cut) and LONG[len(cut)] in " ,", cut  # at a word boundary
            assert drawn.plain.endswith("  12 min")
