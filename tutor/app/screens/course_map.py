"""The first screen: the pack's tracks and lessons with the learner's status, and "continue"."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static

from tutor.app.widgets.course_list import CourseList, Progress
from tutor.app.widgets.lesson_card import LessonCard
from tutor.progress import PASSED, ProgressError, lesson_status

if TYPE_CHECKING:
    from tutor.app.app import TutorApp
    from tutor.pack.loader import PackLoad


class CourseMapScreen(Screen[None]):
    HELP: ClassVar[str] = CourseList.HELP
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "continue", "Continue", id="continue", tooltip="Open the lesson and step you were on last"),
        Binding("enter", "open", "Open lesson", id="open_lesson", tooltip="Open the highlighted lesson", priority=True),
        Binding(
            "p",
            "problems",
            "Pack problems",
            id="pack_problems",
            tooltip="Every problem found in the pack, with file:line:col",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.progress: Progress = {}
        self.broken: dict[str, list[str]] = {}
        self._placed_cursor: tuple[str, str] | None = None  # where `c` went when the cursor was last put there
        self._left = False  # the screen has been covered by another since it opened

    @property
    def tutor(self) -> TutorApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="continue-bar")
        with Horizontal(id="course-body"):
            yield CourseList(id="course-list")
            with VerticalScroll(id="lesson-card-box"):
                yield LessonCard(id="lesson-card")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(CourseList).focus()
        # The first frame shows the course with its progress. That is one small read of a local SQLite
        # file, so it is done here rather than a worker hop later: otherwise the first frame is empty and
        # the list then competes with the pack validation that starts once the app is ready.
        try:
            progress = self.tutor.store.pack_steps(self.tutor.index.id)
        except ProgressError as exc:
            self.app.notify(str(exc), severity="error")
            progress = {}
        self.show_progress(progress)

    def on_screen_suspend(self) -> None:
        self._left = True

    def on_screen_resume(self) -> None:
        # Back from a lesson (or a dialog): progress may have moved. Not on the first resume, when the
        # app starts: on_mount has just read it, and a second read would redraw the whole list.
        if self.is_mounted and self._left:
            self.load_progress()

    @work(thread=True, exclusive=True, group="course-progress", exit_on_error=False)
    def load_progress(self) -> None:
        try:
            progress = self.tutor.store.pack_steps(self.tutor.index.id)
        except ProgressError as exc:
            self.app.notify(str(exc), severity="error")
            progress = {}
        self.app.call_from_thread(self.show_progress, progress)

    def show_progress(self, progress: Progress) -> None:
        self.progress = progress
        self.query_one(CourseList).show(self.tutor.index, progress, frozenset(self.broken))
        self._show_continue()
        self._show_card()

    def pack_validated(self, result: PackLoad) -> None:
        """The full validation finished: mark lessons whose files have errors."""
        index = self.tutor.index
        by_file: dict[str, list[str]] = {}
        for problem in result.errors:
            by_file.setdefault(problem.file, []).append(str(problem))
        valid = {e.lesson.id for e in result.pack.lessons} if result.pack else set()
        self.broken = {
            lesson.id: by_file.get(lesson.path, ["this lesson did not load"])
            for lesson in index.lessons
            if lesson.id not in valid
        }
        self.refresh_bindings()
        self.show_progress(self.progress)

    def _show_continue(self) -> None:
        bar = self.query_one("#continue-bar", Static)
        index = self.tutor.index
        try:
            position = self.tutor.store.position(index.id)
            place = self.tutor.next_place()
        except ProgressError:
            position, place = None, None
        lesson = index.lesson(place[0]) if place else None
        if not index.lessons:
            bar.update("This pack has no lessons yet.")
        elif place is None or lesson is None:
            bar.update("Every lesson is done. Pick any lesson to revisit it.")
        elif position is None:
            bar.update(f"Welcome! Press [b]c[/b] to start with {lesson.title}, or pick any lesson.")
        else:
            step = next((s.title for s in lesson.steps if s.id == place[1]), place[1])
            bar.update(f"Press [b]c[/b] to continue: {lesson.title}: {step}")
            # The cursor goes to the lesson `c` opens whenever that changes (the first time, and after a
            # lesson moved it on), so the highlighted lesson and the continue line agree.
            if self._placed_cursor != place:
                self._placed_cursor = place
                course = self.query_one(CourseList)
                ids = [o.id for o in course.options]
                if lesson.id in ids:
                    course.highlighted = ids.index(lesson.id)

    def _show_card(self) -> None:
        option = self.query_one(CourseList).highlighted_option
        index = self.tutor.index
        lesson = index.lesson(option.id) if option is not None and option.id else None
        done = {
            lid
            for lid, steps in self.progress.items()
            if (other := index.lesson(lid)) is not None and lesson_status(other.step_ids, steps) == PASSED
        }
        self.query_one(LessonCard).show_lesson(
            index,
            lesson,
            self.progress.get(lesson.id, {}) if lesson else {},
            done,
            self.broken.get(lesson.id) if lesson else None,
        )

    @on(OptionList.OptionHighlighted, "#course-list")
    def _highlighted(self) -> None:
        self._show_card()

    @on(OptionList.OptionSelected, "#course-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self._open(event.option.id)

    def _open(self, lesson_id: str) -> None:
        if lesson_id in self.broken:
            self.notify("This lesson's file has errors (see the panel on the right, or press p).", severity="error")
            return
        self.tutor.open_lesson(lesson_id)

    def action_open(self) -> None:
        option = self.query_one(CourseList).highlighted_option
        if option is not None and option.id:
            self._open(option.id)

    def action_continue(self) -> None:
        self.tutor.continue_learning()

    def action_problems(self) -> None:
        self.tutor.show_pack_problems()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "problems":
            load = self.tutor.pack_load
            return bool(load and load.problems)
        return True
