"""One lesson: its steps, the current step's text and task, the answer area, the check's verdict,
hints, the reference solution, and the workbench region the sandboxes' workbenches fill.

The lesson runs through a `tutor.session.Session`: `start()` in a thread worker (it may build a
database or start a server), `begin_step()` whenever a step becomes current, `check()` in a worker,
`close()` when the screen goes away or the app quits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.await_complete import AwaitComplete
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Header, Markdown, OptionList, Static

from tutor.app.lesson.build import BuildWatch
from tutor.app.lesson.checking import CheckFlow
from tutor.app.lesson.layout import LayoutFocus
from tutor.app.lesson.messages import LessonLoaded, ProgressSaved, TakeKeys
from tutor.app.lesson.sandboxes import SandboxLife, first_step
from tutor.app.lesson.texts import fill_placeholders, solution_text
from tutor.app.widgets.answer_area import AnswerArea
from tutor.app.widgets.build_panel import BuildPanel
from tutor.app.widgets.lesson_footer import LessonFooter
from tutor.app.widgets.result_panel import ResultPanel
from tutor.app.widgets.step_list import StepList
from tutor.app.widgets.workbench_area import WorkbenchArea
from tutor.checks.base import CheckResult
from tutor.keymap import keys
from tutor.progress import ProgressError, StepProgress

if TYPE_CHECKING:
    from tutor.app.app import TutorApp
    from tutor.pack.index import LessonOutline
    from tutor.pack.loader import Pack
    from tutor.pack.models import Lesson, Step
    from tutor.session import Session


class LessonScreen(SandboxLife, CheckFlow, BuildWatch, LayoutFocus, Screen[None]):
    HELP: ClassVar[str] = """\
## A lesson
Read the step, do the task, then **{check}** to check. The verdict shows in the box under the text.
- **{check}** check · **{hint}** next hint · **{solution}** reference solution (after one try) ·
  **{next_step}** next step
- **{reset_step}** resets this step: the lesson's database and API go back to how the step started
  (use it when an earlier mistake, such as an UPDATE without WHERE, is in the way)
- **{focus_answer}** your answer (or the lesson text, in a hands-on step) · **{focus_workbench}** the
  workbench's editor (SQL editor or URL box) · **{focus_result}** the workbench's result (Results or Response)
- **{next_tab}** shows the workbench's next tab (Request, Response, History, Saved, Traffic, Load; or
  Results, Plan, Schema, History) and puts the focus in it: in Traffic, **↑/↓** picks a request, **Enter**
  opens its flow
- **{switch_workbench}** switches between the SQL and the Request workbench (lessons with both)
- **{toggle_steps}** hides the step list, **{zoom}** zooms the text or the workbench, **{back}** back to the map
- **{restart_sandboxes}** restarts a sandbox that failed to start or has stopped (also in the palette, Ctrl+P)
Progress is saved after every check, hint and step. Keys can be changed in the settings file
(`backend-tutor config` shows where it is).
"""
    CSS_PATH = "lesson.tcss"  # read when the first lesson opens, not before the first screen
    # No automatic focus on the first focusable widget (the step list): until the editor or the answer
    # exists, what the learner types is kept (LayoutFocus.on_key) and given to it, not lost in a list.
    AUTO_FOCUS = ""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            keys("check"), "check", "Check", id="check", priority=True, tooltip="Check your answer or what you did"
        ),
        Binding(keys("hint"), "hint", "Hint", id="hint", priority=True, tooltip="Show the next hint (counted)"),
        Binding(
            keys("solution"),
            "solution",
            "Solution",
            id="solution",
            priority=True,
            tooltip="Show the reference solution (after at least one try; recorded as viewed)",
        ),
        Binding(keys("next_step"), "next_step", "Next", id="next_step", priority=True, tooltip="Go to the next step"),
        Binding(
            keys("reset_step"),
            "reset_step",
            "Reset",
            id="reset_step",
            priority=True,
            tooltip="Put the lesson's database and API back to how this step started",
        ),
        # Where the keys go, one key each and never a toggle: the footer shows the moves away from here
        Binding(
            keys("focus_answer"),
            "focus_answer",
            "Answer",
            id="focus_answer",
            priority=True,
            tooltip="Go to your answer (or the lesson text, in a hands-on step)",
        ),
        Binding(
            keys("focus_workbench"),
            "focus_workbench",
            "Editor",
            id="focus_workbench",
            priority=True,
            tooltip="Go to the workbench's editor: the SQL editor or the URL box",
        ),
        Binding(
            keys("focus_result"),
            "focus_result",
            "Result",
            id="focus_result",
            priority=True,
            tooltip="Go to the workbench's result: its Results or Response tab",
        ),
        # Layout toggles and tab moves: in F1 help and the command palette, not the footer, which must fit
        # the lesson's keys, quit and help on one line at 80 columns
        Binding(
            keys("toggle_steps"),
            "toggle_steps",
            "Steps",
            id="toggle_steps",
            show=False,
            tooltip="Hide or show the step list",
        ),
        Binding(
            keys("zoom"),
            "zoom",
            "Zoom",
            id="zoom",
            show=False,
            tooltip="Give the lesson text or the workbench the whole screen",
        ),
        Binding(
            keys("next_tab"),
            "next_tab",
            "Next tab",
            id="next_tab",
            show=False,
            priority=True,
            tooltip="Show the workbench's next tab (Response, Traffic, Results, Plan...) and focus it",
        ),
        Binding(
            keys("switch_workbench"),
            "switch_workbench",
            "Other workbench",
            id="switch_workbench",
            show=False,
            priority=True,
            tooltip="Switch between the SQL and the Request workbench",
        ),
        Binding(
            keys("back"), "back", "Map", id="back", show=False, tooltip="Back to the course map (progress is saved)"
        ),
        Binding(
            keys("open_editor"),
            "open_editor",
            "Editor",
            id="open_editor",
            priority=True,
            tooltip="Open your code in your editor (the settings' editor, $VISUAL or $EDITOR)",
        ),
        Binding(
            keys("restart_sandboxes"),
            "restart_sandboxes",
            "Restart sandboxes",
            id="restart_sandboxes",
            show=False,
            tooltip="Start again a sandbox that failed to start or has stopped (the database is kept)",
        ),
    ]

    def __init__(self, outline: LessonOutline, step_id: str | None = None) -> None:
        super().__init__()
        self.outline = outline
        self.resume_step = step_id
        self.lesson: Lesson | None = None
        self.pack: Pack | None = None
        self.session: Session | None = None
        self.session_ready = False
        self.progress: dict[str, StepProgress] = {}
        self.index = 0
        self.hints_shown = 0
        self.hint_texts: list[str] = []  # the hints shown for this step, in the order shown
        self.last_result: CheckResult | None = None

    @property
    def tutor(self) -> TutorApp:
        return self.app  # type: ignore[return-value]

    @property
    def step(self) -> Step | None:
        return self.lesson.steps[self.index] if self.lesson is not None else None

    # -- layout -------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="lesson-body"):
            yield StepList(id="steps")
            with Vertical(id="lesson-main"):
                with VerticalScroll(id="reading"):
                    yield Static(Content.styled(f"Opening {self.outline.title}...", "$text-muted"), id="step-title")
                    yield Markdown("", id="step-text")
                    yield Markdown("", id="step-task")
                    yield BuildPanel(id="build")
                    yield AnswerArea(id="answer")
                    yield Static("", id="act-status")
                # The verdict, hints and solution sit in their own box under the text, never below the fold:
                # after F5, F6 or F7 what the learner asked for is on screen without scrolling.
                with VerticalScroll(id="feedback"):
                    yield ResultPanel(id="result")
                    yield Vertical(id="hints")
                    yield Static("", id="solution")
                yield WorkbenchArea(id="workbench")
        yield LessonFooter(compact=True, show_command_palette=False)

    async def on_mount(self) -> None:
        self.sub_title = self.outline.title
        self.set_class(not self.outline.sandboxes, "-no-workbench")
        self.query_one(ResultPanel).clear()
        self.query_one("#solution").display = False
        self.query_one("#act-status").display = False
        self._update_feedback_box()
        self.reported_problems: list[str] = []
        self._steps_chosen: bool | None = None  # F2 pressed: the learner's choice beats the width rule
        self._fit(self.app.size.width, self.app.size.height)
        # The workbenches exist before their sandboxes run: what the learner types while a database is
        # built lands in the editor, and Run waits for the database (and says so).
        names: list[str] = [name for name in ("sql", "api") if name in self.outline.sandboxes]
        if names:
            for problem in await self.query_one(WorkbenchArea).mount_workbenches(None, names):
                self.notify(problem, title="Workbench", severity="warning")
            self.post_message(TakeKeys())
        self.open_lesson()
        self.set_interval(2.0, self.watch_sandboxes)

    # -- the session ----------------------------------------------------------------------------------

    async def on_lesson_loaded(self, message: LessonLoaded) -> None:
        self.lesson, self.pack, self.session = message.lesson, message.pack, message.session
        self.tutor.sessions.add(message.session)
        self.progress = message.progress
        await self.go_to(first_step(self.lesson, self.progress, self.resume_step))

    # -- build-it: the learner's workspace, the editor, watching for saves ------------------------------

    # -- steps --------------------------------------------------------------------------------------------
    async def go_to(self, index: int) -> None:
        if self.lesson is None:
            return
        self.index = index
        step = self.lesson.steps[index]
        progress = self.progress.get(step.id)
        number = f"Step {index + 1} of {len(self.lesson.steps)}"
        self.query_one("#step-title", Static).update(
            Content.assemble((f"{self.lesson.title} · {number}\n", "$text-muted"), (step.title, "bold"))
        )
        await self._show_texts(step)
        await self.query_one(AnswerArea).set_check(step.check)
        hands_on = self.query_one(AnswerArea).hands_on
        # a step done in a workbench (not a build-it step, whose panel is in the text)
        self.set_class(hands_on and bool(self.outline.sandboxes) and not self._code_step(step), "-hands-on")
        self.set_class(not hands_on, "-concept")
        self.query_one(AnswerArea).display = not self._code_step(step)
        self._show_build(step)
        self.query_one("#act-status").display = False
        hints = self.query_one("#hints", Vertical)
        await hints.remove_children()
        self.hints_shown = 0
        self.hint_texts = []
        self.last_result = None  # before the hints: the last step's mistake must not pick this one's
        from tutor.app.lesson.hints import HintsSeen, restore

        saved = HintsSeen(self.tutor.home.sessions / self.outline.id).get(step.id) if progress else []
        for text in restore(step, progress.hints_used if progress else 0, saved):
            await self._reveal_hint(step, text)  # the hints seen before, in the order they were shown
        solution = self.query_one("#solution", Static)
        solution.display = bool(progress and progress.solution_viewed)
        if solution.display:
            solution.update(
                Content.assemble(
                    ("Reference solution\n", "bold"),
                    self.fill(solution_text(step, self.pack.root if self.pack else None)),
                )
            )
        result = self.query_one(ResultPanel)
        self.last_result = None
        if progress is not None and progress.passed:
            result.show_result(
                CheckResult(True, "You passed this step before."),
                progress.attempts,
                self.fill(step.explanation),
                self._next_hint(),
            )
        else:
            result.clear()
        self._update_feedback_box()
        self._show_steps()
        self.query_one("#reading", VerticalScroll).scroll_home(animate=False)
        self.refresh_bindings()
        self.query_one(BuildPanel).step_changed()
        self.unzoom()
        self._point_at_workbench(step)
        sql = self.query_one(WorkbenchArea).workbenches.get("sql")
        if sql is not None and hasattr(sql, "enter_step"):
            from tutor.sqlwork import SqlDrafts

            sql.enter_step(step.id, SqlDrafts(self.tutor.home.sessions / self.outline.id))
        self._focus_start(step)
        self.enter_step(step)

    # -- texts, placeholders, focus -------------------------------------------------------------------------
    def fill(self, text: str) -> str:
        session = self.session
        api = getattr(session, "api", None) if self.session_ready else None
        sql = getattr(session, "sql", None) if self.session_ready else None
        return fill_placeholders(
            text,
            str(api.base_url) if api is not None else None,
            str(sql.path) if sql is not None else None,
            api.placeholders() if api is not None and hasattr(api, "placeholders") else None,
        )

    def _show_texts(self, step: Step) -> AwaitComplete:
        """Write the step's text and task; awaiting the result waits until they are laid out (Markdown
        renders in the background: a scroll made before that is undone when the text's height changes)."""
        text = self.query_one("#step-text", Markdown).update(self.fill(step.text))
        task = self.query_one("#step-task", Markdown)
        task.display = bool(step.task)
        return AwaitComplete(text, task.update(f"**Task:** {self.fill(step.task.strip())}" if step.task else ""))

    def _show_steps(self) -> None:
        if self.lesson is not None:
            self.query_one(StepList).show_steps(list(self.lesson.steps), self.progress, self.index)

    @work(thread=True, exclusive=True, group="step", exit_on_error=False)
    def enter_step(self, step: Step) -> None:
        """The step is current: evidence counts from here, and it is where the learner is."""
        if self.session is not None and self.session_ready:
            try:
                self.session.begin_step(step)
            except Exception as exc:
                self.app.notify(f"The sandbox could not mark the step's start: {exc}", severity="warning")
        if self.pack is None or self.lesson is None:
            return
        try:
            self.tutor.store.visit(self.pack.id, self.pack.version, self.lesson.id, step.id)
            self.post_message(ProgressSaved(self.tutor.store.step(self.pack.id, self.lesson.id, step.id)))
        except ProgressError as exc:
            self.app.notify(str(exc), severity="error")

    def on_progress_saved(self, message: ProgressSaved) -> None:
        old = self.progress.get(message.progress.step_id)
        self.progress[message.progress.step_id] = message.progress
        if old is None or old.status != message.progress.status or old.hints_used != message.progress.hints_used:
            self._show_steps()
        self.refresh_bindings()  # the footer shows Solution after a first try, Next once passed

    @on(OptionList.OptionSelected, "#steps")
    async def _step_chosen(self, event: OptionList.OptionSelected) -> None:
        if self.lesson is not None and event.option_index != self.index:
            await self.go_to(event.option_index)

    # -- checking -----------------------------------------------------------------------------------------

    # -- hints and the solution ------------------------------------------------------------------------------

    # -- moving around ---------------------------------------------------------------------------------------
    async def action_next_step(self) -> None:
        if self.lesson is None:
            return
        if self.index + 1 < len(self.lesson.steps):
            await self.go_to(self.index + 1)
            return
        done = all(self.progress.get(s.id) and self.progress[s.id].passed for s in self.lesson.steps)
        if done:
            self.notify(f"Lesson complete: {self.lesson.title}", title="Well done")
        self.action_back()

    def action_back(self) -> None:
        self.close_session()
        self.dismiss()

    # -- reset, and moving around with the keyboard ------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("check", "hint", "solution", "next_step") and self.lesson is None:
            return None
        # Ctrl+O opens the learner's editor on the steps that check their code; elsewhere it moves the focus
        building = self.lesson is not None and self.lesson.build is not None and self._code_step(self.step)
        if action == "open_editor" and not building:
            return False
        if action == "focus_answer" and building:
            return False  # Ctrl+O opens the learner's own editor in build-it lessons: their code is the answer
        areas = self.query(WorkbenchArea)
        if action in ("focus_workbench", "focus_result") and not (areas and areas.first().workbenches):
            return False
        # a lesson without sandboxes has nothing to reset: not in the footer either
        return not (action == "reset_step" and not self.outline.sandboxes)
