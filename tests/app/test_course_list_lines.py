"""CourseList measures its options by their length where they fit on one row (a 1,000-lesson map
spent 40 ms before its first frame wrapping each one). The rows it finds must be exactly the rows
Textual's own OptionList finds for the same options, at every width, down to one narrow
enough that track headers wrap."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widgets import OptionList

from tutor.app.widgets.course_list import CourseList
from tutor.pack.index import read_index
from tutor.paths import builtin_pack_path


class _Both(App[None]):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.width = width

    def compose(self) -> ComposeResult:
        yield CourseList(id="course")
        yield OptionList(id="plain")

    CSS = "CourseList, OptionList { height: 10; border: none; }"


def _rows(widget: OptionList) -> tuple[list[tuple[int, int]], dict[int, int]]:
    cache = widget._line_cache
    return list(cache.lines), dict(cache.heights)


@pytest.mark.anyio
@pytest.mark.parametrize("width", [120, 60, 34, 20])
async def test_rows_are_the_ones_option_list_finds(width: int) -> None:
    index = read_index(builtin_pack_path())
    app = _Both(width)
    async with app.run_test(size=(width, 24)) as pilot:
        course = app.query_one(CourseList)
        course.show(index, {})
        await pilot.pause()
        plain = app.query_one("#plain", OptionList)
        plain.add_options(course.options)
        await pilot.pause()
        course._update_lines()
        plain._update_lines()
        assert course.option_count == plain.option_count > 30
        assert _rows(course) == _rows(plain)
        assert course.virtual_size == plain.virtual_size


@pytest.mark.anyio
async def test_a_header_too_long_for_the_row_is_measured_by_option_list() -> None:
    """Long titles are cut to the row (show), track headers are not: at 20 columns they wrap, and
    those rows come from OptionList's own measuring."""
    index = read_index(builtin_pack_path())
    app = _Both(20)
    async with app.run_test(size=(20, 24)) as pilot:
        course = app.query_one(CourseList)
        course.show(index, {})
        await pilot.pause()
        course._update_lines()
        heights = dict(course._line_cache.heights)
        assert any(h > 1 for h in heights.values()), "no option wrapped at 20 columns: the test proves nothing"
