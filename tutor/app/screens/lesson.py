"""One lesson: its steps, the current step's text and task, the answer area, the check's verdict,
hints, the reference solution, and the workbench region the sandboxes' workbenches fill.

The lesson runs through a `tutor.session.Session`: `start()` in a thread worker (it may build a
database or start a server), `begin_step()` whenever a step becomes current, `check()` in a worker,
`close()` when the screen goes away or the app quits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header, Markdown, OptionList, Static, TabbedContent

from tutor.app.messages import WorkbenchActed
from tutor.app.screens.confirm import ConfirmScreen
from tutor.app.widgets.answer_area import AnswerArea
from tutor.app.widgets.build_panel import BuildPanel
from tutor.app.widgets.result_panel import ResultPanel
from tutor.app.widgets.step_list import StepList
from tutor.app.widgets.workbench_area import WorkbenchArea
from tutor.checks.base import CheckResult
from tutor.pack.actions import SqlStep, Wait
from tutor.progress import ProgressError, StepProgress

if TYPE_CHECKING:
    from tutor.app.app import TutorApp
    from tutor.pack.index import LessonOutline
    from tutor.pack.loader import Pack
    from tutor.pack.models import Lesson, Step
    from tutor.session import Session

CHECK_KEY = "F5"
RESET_KEY = "F4"
PACK_WAIT_SECONDS = 120.0
NARROW = 100
"""Below this many columns the step list starts hidden (F2 shows it): the task and workbench need the room."""
SHORT = 30
"""Below this many rows the header line is hidden."""

API_STAND_IN = "http://127.0.0.1:(port shown once the API runs)"
DB_STAND_IN = "(the lesson database's path, shown once it is ready)"


def fill_placeholders(text: str, api_url: str | None, db_path: str | None, more: dict[str, str] | None = None) -> str:
    """`{{api_url}}` and `{{db_path}}` in lesson text, with the running sandboxes' real values (a readable
    stand-in while they start); `more`: the API's other values (`{{log_path}}`, `{{upstream_url_NAME}}`).
    Spaces inside the braces are allowed: `{{ api_url }}`."""
    import re

    values = {"api_url": api_url or API_STAND_IN, "db_path": db_path or DB_STAND_IN, **(more or {})}
    text = re.sub(r"\{\{\s*(api_url|db_path)\s*\}\}", lambda m: values[m.group(1)], text)
    return re.sub(
        r"\{\{\s*(log_path|webhook_secret|upstream_url_[a-z0-9_]+)\s*\}\}",
        lambda m: values.get(m.group(1), "(shown once the API runs)"),
        text,
    )


@dataclass
class LessonLoaded(Message):
    lesson: Lesson
    pack: Pack
    session: Session
    progress: dict[str, StepProgress]


@dataclass
class LessonUnavailable(Message):
    reason: str


@dataclass
class SessionStarted(Message):
    session: Session


@dataclass
class SessionFailed(Message):
    reason: str


@dataclass
class CheckDone(Message):
    step_id: str
    result: CheckResult
    progress: StepProgress | None


class FilesSaved(Message):
    """The learner saved files in a build-it workspace (from the watcher thread)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = names


@dataclass
class ProgressSaved(Message):
    progress: StepProgress


def solution_text(step: Step, pack_root: Any = None) -> str:
    """The reference solution as plain text: the answer (with the option's words), SQL, requests, and a
    build-it step's reference files (their full text)."""
    parts: list[str] = []
    action = step.solution
    if action.files is not None and pack_root is not None:
        from tutor.code.workspace import list_files

        for name, path in list_files(pack_root / action.files).items():
            parts.append(f"{name}:\n" + path.read_text(encoding="utf-8", errors="replace"))
    if action.answer is not None:
        options = {o.id: o.text.strip() for o in getattr(step.check, "options", [])}
        picked = action.answer if isinstance(action.answer, list) else [action.answer]
        if options:
            parts.append("Answer:\n" + "\n".join(f"  - {options.get(str(p), p)}" for p in picked))
        else:
            parts.append(f"Answer: {action.answer}")
    if action.sql:
        parts.append("SQL:\n" + "\n".join(f"  {line}" for line in action.sql.strip().splitlines()))
    if action.wait is not None:
        parts.append(f"Wait: move the lesson clock {action.wait:g} s forward (POST /_sandbox/clock)")
    for request in action.requests:
        if isinstance(request, Wait):
            parts.append(f"Wait: move the lesson clock {request.wait:g} s forward (POST /_sandbox/clock)")
            continue
        if isinstance(request, SqlStep):
            parts.append("SQL:\n" + "\n".join(f"  {line}" for line in request.sql.strip().splitlines()))
            continue
        line = f"{request.method} {request.path}"
        if request.query:
            line += " ?" + "&".join(f"{k}={v}" for k, v in request.query.items())
        headers = "".join(f"\n    {k}: {v}" for k, v in request.headers.items())
        body = ""
        if request.json_body is not None:
            body = f"\n    {json.dumps(request.json_body, ensure_ascii=False)}"
        elif request.body:
            body = f"\n    {request.body}"
        parts.append(f"Request: {line}{headers}{body}")
    return "\n".join(parts)


class LessonScreen(Screen[None]):
    HELP: ClassVar[str] = """\
## A lesson
Read the step, do the task, then **F5** to check. The verdict shows in the box under the text.
- **F5** check · **F6** next hint · **F7** reference solution (after one try) · **F8** next step
- **F4** resets this step: the lesson's database and API go back to how the step started
  (use it when an earlier mistake, such as an UPDATE without WHERE, is in the way)
- **Ctrl+O** jumps between your answer (or the lesson text) and the workbench's editor
- **Ctrl+N** shows the workbench's next tab (Request, Response, History, Traffic, Load; or Results,
  Plan, Schema, History) and puts the focus in it: in Traffic, **↑/↓** picks a request, **Enter** opens its flow
- **Ctrl+G** switches between the SQL and the Request workbench (lessons with both)
- **Ctrl+L** clears the workbench's editor
- **F2** hides the step list, **F3** zooms the text or the workbench, **Esc** back to the course map
- **Ctrl+T** restarts a sandbox that failed to start or has stopped
Progress is saved after every check, hint and step.
"""
    CSS_PATH = "lesson.tcss"  # read when the first lesson opens, not before the first screen
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "check", "Check", id="check", priority=True, tooltip="Check your answer or what you did"),
        Binding("f6", "hint", "Hint", id="hint", priority=True, tooltip="Show the next hint (counted)"),
        Binding(
            "f7",
            "solution",
            "Solution",
            id="solution",
            priority=True,
            tooltip="Show the reference solution (after at least one try; recorded as viewed)",
        ),
        Binding("f8", "next_step", "Next", id="next_step", priority=True, tooltip="Go to the next step"),
        Binding(
            "f4",
            "reset_step",
            "Reset",
            id="reset_step",
            priority=True,
            tooltip="Put the lesson's database and API back to how this step started",
        ),
        # Layout toggles and moves: in F1 help and the command palette, not the footer, which must fit the
        # lesson's keys, quit and help on one line at 80 columns
        Binding("f2", "toggle_steps", "Steps", id="toggle_steps", show=False, tooltip="Hide or show the step list"),
        Binding(
            "f3",
            "zoom",
            "Zoom",
            id="zoom",
            show=False,
            tooltip="Give the lesson text or the workbench the whole screen",
        ),
        Binding(
            "ctrl+o",
            "focus_other",
            "Answer/workbench",
            id="focus_other",
            show=False,
            priority=True,
            tooltip="Jump between your answer (or the lesson text) and the workbench's editor",
        ),
        Binding(
            "ctrl+n",
            "next_tab",
            "Next tab",
            id="next_tab",
            show=False,
            priority=True,
            tooltip="Show the workbench's next tab (Response, Traffic, Results, Plan...) and focus it",
        ),
        Binding(
            "ctrl+g",
            "switch_workbench",
            "Other workbench",
            id="switch_workbench",
            show=False,
            priority=True,
            tooltip="Switch between the SQL and the Request workbench",
        ),
        Binding("escape", "back", "Map", id="back", tooltip="Back to the course map (progress is saved)"),
        Binding(
            "ctrl+o",
            "open_editor",
            "Editor",
            id="open_editor",
            priority=True,
            show=False,  # the build-it panel names it; the footer keeps to 80 columns
            tooltip="Open your code in $VISUAL or $EDITOR (build-it steps)",
        ),
        Binding(
            "ctrl+t",
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
                    yield AnswerArea(check_key=CHECK_KEY, id="answer")
                    yield Static("", id="act-status")
                # The verdict, hints and solution sit in their own box under the text, never below the fold:
                # after F5, F6 or F7 what the learner asked for is on screen without scrolling.
                with VerticalScroll(id="feedback"):
                    yield ResultPanel(id="result")
                    yield Vertical(id="hints")
                    yield Static("", id="solution")
                yield WorkbenchArea(id="workbench")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.sub_title = self.outline.title
        self.set_class(not self.outline.sandboxes, "-no-workbench")
        self.query_one(ResultPanel).clear()
        self.query_one("#solution").display = False
        self.query_one("#act-status").display = False
        self._update_feedback_box()
        self.reported_problems: list[str] = []
        self._steps_chosen: bool | None = None  # F2 pressed: the learner's choice beats the width rule
        self._fit(self.app.size.width, self.app.size.height)
        self.open_lesson()
        self.set_interval(2.0, self.watch_sandboxes)

    # -- the session ----------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="session", exit_on_error=False)
    def open_lesson(self) -> None:
        from tutor.session import Session

        app = self.tutor
        if not app.pack_ready.wait(PACK_WAIT_SECONDS) or app.pack_load is None or app.pack_load.pack is None:
            self.post_message(LessonUnavailable("The pack could not be loaded: press p on the course map for why."))
            return
        pack = app.pack_load.pack
        entry = pack.lesson_file(self.outline.id)
        if entry is None:
            problems = [str(p) for p in app.pack_load.errors if p.file == self.outline.path]
            self.post_message(
                LessonUnavailable("This lesson's file has errors, so it cannot be opened:\n" + "\n".join(problems[:10]))
            )
            return
        session = Session(pack, entry.lesson, app.home)
        try:
            progress = app.store.lesson_steps(pack.id, entry.lesson.id)
        except ProgressError as exc:
            self.app.notify(str(exc), severity="error")
            progress = {}
        self.post_message(LessonLoaded(entry.lesson, pack, session, progress))
        if not (entry.lesson.sandboxes.sql or entry.lesson.sandboxes.api or entry.lesson.build):
            session.started = True
            self.post_message(SessionStarted(session))
            return

        def report(what: str, fraction: float) -> None:
            self.app.call_from_thread(self.query_one(WorkbenchArea).set_progress, what, fraction)

        self.start_sandboxes(session, report)

    def start_sandboxes(self, session: Session, report: Any, *, restart: bool = False) -> None:
        try:
            if restart:
                session.restart(progress=report)
            else:
                session.start(progress=report)
        except Exception as exc:
            from tutor.locks import LessonInUse

            if isinstance(exc, LessonInUse):  # its own words: who holds the lesson, and what to do
                self.post_message(SessionFailed(str(exc)))
                return
            self.post_message(
                SessionFailed(
                    f"The lesson's sandboxes could not start: {type(exc).__name__}: {exc}\nPress Ctrl+T to try again."
                )
            )
            return
        self.post_message(SessionStarted(session))

    def watch_sandboxes(self) -> None:
        """Tell the learner, once, when a running sandbox dies (the tutor itself stays up)."""
        if self.session is None or not self.session_ready:
            return
        problems = self.session.problems()
        for problem in problems:
            if problem not in self.reported_problems:
                self.notify(
                    f"{problem[0].upper()}{problem[1:]}. Press Ctrl+T to restart it.",
                    title="Sandbox",
                    severity="error",
                    timeout=15,
                )
        self.reported_problems = problems

    @work(thread=True, exclusive=True, group="session", exit_on_error=False)
    def action_restart_sandboxes(self) -> None:
        session = self.session
        if session is None:
            return
        self.app.call_from_thread(self.notify, "Restarting the lesson's sandboxes...", title="Sandbox")

        def report(what: str, fraction: float) -> None:
            self.app.call_from_thread(self.query_one(WorkbenchArea).set_progress, what, fraction)

        self.session_ready = False
        self.start_sandboxes(session, report, restart=True)

    async def on_lesson_loaded(self, message: LessonLoaded) -> None:
        self.lesson, self.pack, self.session = message.lesson, message.pack, message.session
        self.tutor.sessions.add(message.session)
        self.progress = message.progress
        ids = [s.id for s in self.lesson.steps]
        if self.resume_step in ids:
            start = ids.index(self.resume_step)
        else:
            start = next(
                (
                    i
                    for i, s in enumerate(self.lesson.steps)
                    if not (self.progress.get(s.id) and self.progress[s.id].passed)
                ),
                0,
            )
        await self.go_to(start)

    def on_lesson_unavailable(self, message: LessonUnavailable) -> None:
        self.query_one("#step-title", Static).update(Content.styled(message.reason, "$text-error"))
        self.query_one(WorkbenchArea).display = False
        self.notify(message.reason.splitlines()[0], severity="error")

    async def on_session_started(self, message: SessionStarted) -> None:
        self.session_ready = True
        names = [n for n in ("sql", "api") if getattr(message.session.lesson.sandboxes, n) is not None]
        if names:
            problems = await self.query_one(WorkbenchArea).mount_workbenches(message.session, names)
            for problem in problems:
                self.notify(problem, title="Workbench", severity="warning")
        if self.step is not None:
            self._show_texts(self.step)  # the placeholders now have real values
            self._point_at_workbench(self.step)
            self._focus_start(self.step)
            self.enter_step(self.step)
        self._start_build(message.session)

    # -- build-it: the learner's workspace, the editor, watching for saves ------------------------------
    def _start_build(self, session: Session) -> None:
        if session.workspace is None or session.lesson.build is None:
            return
        import threading

        self._watch_stop = threading.Event()
        self.query_one(BuildPanel).show_workspace(session.workspace.root, session.lesson.build.open, True)
        self._show_build(self.step)
        self.watch_workspace(session.workspace.root, self._watch_stop)

    def _show_build(self, step: Step | None) -> None:
        """The workspace panel belongs to the steps that check the learner's code: a lesson may open with
        steps done in the workbenches, where "Your code ... passes" would describe nothing they did."""
        panel = self.query_one(BuildPanel)
        panel.display = panel.ready and step is not None and self._code_step(step)

    @work(thread=True, group="watch", exit_on_error=False)
    def watch_workspace(self, folder: Any, stop: Any) -> None:
        from tutor.code.watch import watch

        try:

            def saved(names: list[str]) -> None:
                self.post_message(FilesSaved(names))

            watch(folder, saved, stop)
        except Exception as exc:  # no inotify, a folder on a network drive, ...
            self.app.call_from_thread(
                self.query_one(BuildPanel).set_status,
                f"Watching for saves does not work here ({type(exc).__name__}): press F5 after each save.",
            )

    def on_files_saved(self, message: FilesSaved) -> None:
        step = self.step
        if step is None or self.session is None or not self.session_ready or not self._code_step(step):
            return
        self.query_one(BuildPanel).saved(message.names)
        self._check_code(step)

    def _code_step(self, step: Step | None) -> bool:
        from tutor.pack.checks import CODE_KINDS, iter_kinds

        return step is not None and bool(CODE_KINDS & set(iter_kinds(step.check)))

    def _check_code(self, step: Step) -> None:
        """Run a build-it check, asking first (once per pack version) when the pack is not the built-in one."""
        from tutor.code import trust

        if self.pack is None:
            return
        if trust.is_trusted(self.tutor.home, self.pack):
            self.run_check(step, None)
            return
        if getattr(self, "_asking_trust", False):
            return
        self._asking_trust = True

        def answered(yes: bool | None) -> None:
            self._asking_trust = False
            if yes and self.pack is not None:
                trust.trust(self.tutor.home, self.pack)
                self.run_check(step, None)
            else:
                self.query_one(BuildPanel).set_status("Not run: you chose not to run this pack's code.")

        self.app.push_screen(ConfirmScreen(trust.question(self.pack), yes="Run it", no="Not now"), answered)

    def action_open_editor(self) -> None:
        import os
        import shlex
        import subprocess

        session = self.session
        if session is None or session.workspace is None or session.lesson.build is None:
            self.notify("This lesson has no code to edit.")
            return
        target = session.workspace.root / session.lesson.build.open
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not editor:
            self.notify(f"Set $VISUAL or $EDITOR, or open {target} in any editor.", title="Editor", timeout=15)
            return
        command = [*shlex.split(editor), str(target)]
        try:
            with self.app.suspend():
                subprocess.run(command, cwd=session.workspace.root, check=False)  # noqa: S603 (the learner's own $EDITOR, no shell)
        except (OSError, ValueError) as exc:
            self.notify(f"Could not start {command[0]}: {exc}", title="Editor", severity="error")
        except Exception as exc:  # SuspendNotSupported (a web or test driver): start it without suspending
            try:
                subprocess.Popen(command, cwd=session.workspace.root, stdin=subprocess.DEVNULL)  # noqa: S603
            except OSError:
                self.notify(f"Could not open an editor here ({type(exc).__name__}): open {target}.")

    @on(BuildPanel.ResetRequested)
    def _reset_requested(self) -> None:
        session = self.session
        if session is None or session.workspace is None:
            return
        workspace = session.workspace

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            backup = workspace.reset()
            where = f" Your files are kept in {backup}." if backup else ""
            self.notify(f"The starter files are back.{where}", title="Reset this exercise", timeout=15)

        edited = workspace.edited()
        what = f" ({', '.join(edited[:3])} changed)" if edited else ""
        self.app.push_screen(
            ConfirmScreen(
                f"Put the starter files back in {workspace.root}{what}? Your current files are copied to a "
                "backup folder first.",
                yes="Reset",
                no="Keep my files",
            ),
            answered,
        )

    async def on_session_failed(self, message: SessionFailed) -> None:
        await self.query_one(WorkbenchArea).show_failure(message.reason)
        self.notify(message.reason, severity="error", timeout=10)

    def on_unmount(self) -> None:
        stop = getattr(self, "_watch_stop", None)
        if stop is not None:
            stop.set()
        self.close_session()

    def close_session(self) -> None:
        """Stop the lesson's sandboxes (off the UI thread: stopping a server takes a moment)."""
        session = self.session
        if session is not None:
            self.session = None
            # a daemon thread, not a worker: quitting must not wait for a server to wind down
            self.tutor.close_sessions_of([session])

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
        self._show_texts(step)
        await self.query_one(AnswerArea).set_check(step.check)
        self.query_one(AnswerArea).display = not self._code_step(step)
        self._show_build(step)
        self.query_one("#act-status").display = False
        hints = self.query_one("#hints", Vertical)
        await hints.remove_children()
        self.hints_shown = 0
        for _ in range(min(progress.hints_used if progress else 0, len(step.hints))):
            await self._reveal_hint(step)
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
        if self.session_ready:
            self._point_at_workbench(step)
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

    def _show_texts(self, step: Step) -> None:
        self.query_one("#step-text", Markdown).update(self.fill(step.text))
        task = self.query_one("#step-task", Markdown)
        task.display = bool(step.task)
        task.update(f"**Task:** {self.fill(step.task.strip())}" if step.task else "")

    def _update_feedback_box(self) -> None:
        box = self.query_one("#feedback", VerticalScroll)
        box.display = bool(
            self.query_one(ResultPanel).display
            or self.query_one("#hints", Vertical).children
            or self.query_one("#solution").display
        )

    def _workbench_editor(self) -> Widget | None:
        """Where the learner types in the workbench in front: the SQL editor or the request's URL."""
        area = self.query_one(WorkbenchArea)
        for selector in ("#sql-editor", "#rw-url"):
            for widget in area.query(selector):
                if widget.display and self._shown(widget):
                    return widget
        return None

    def _shown(self, widget: Widget) -> bool:
        """Not inside a hidden tab."""
        node: Any = widget
        while node is not None and node is not self:
            if getattr(node, "display", True) is False:
                return False
            node = node.parent
        return True

    def _focus_start(self, step: Step) -> None:
        """A step opens with the focus where the learner types: the answer field, or for a hands-on step
        the workbench's editor (once the sandboxes run)."""
        area = self.query_one(AnswerArea)
        if area.hands_on:
            editor = self._workbench_editor() if self.session_ready else None
            if editor is not None:
                self.call_after_refresh(editor.focus)
                return
        # after the refresh: a just-mounted choice list is not focusable until it is laid out
        self.call_after_refresh(area.focus_input)

    def on_resize(self, event: Any) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        self.set_class(height < SHORT, "-short")
        if self._steps_chosen is None:
            self.query_one(StepList).display = width >= NARROW

    def _show_steps(self) -> None:
        if self.lesson is not None:
            self.query_one(StepList).show_steps(list(self.lesson.steps), self.progress, self.index)

    def _next_hint(self) -> str:
        if self.lesson is not None and self.index + 1 < len(self.lesson.steps):
            return "Press F8 for the next step."
        return "That was the last step: press F8 or Esc to go back to the course map."

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

    def _point_at_workbench(self, step: Step) -> None:
        """Put the workbench this step is done in to the front, and say where the learner's own tools
        (curl, sqlite3, a browser) reach the sandboxes."""
        from tutor.pack.checks import HTTP_KINDS, SQL_KINDS, iter_kinds

        session = self.session
        if session is None:
            return
        kinds = set(iter_kinds(step.check))
        area = self.query_one(WorkbenchArea)
        if kinds & HTTP_KINDS:
            area.show("api")
        elif kinds & SQL_KINDS:
            area.show("sql")
        tools = []
        if session.api is not None:
            tools.append("curl")
        if session.sql is not None:
            tools.append("sqlite3")
        self.query_one(AnswerArea).set_tools(" or ".join(tools) or None)

    def on_progress_saved(self, message: ProgressSaved) -> None:
        old = self.progress.get(message.progress.step_id)
        self.progress[message.progress.step_id] = message.progress
        if old is None or old.status != message.progress.status or old.hints_used != message.progress.hints_used:
            self._show_steps()

    @on(OptionList.OptionSelected, "#steps")
    async def _step_chosen(self, event: OptionList.OptionSelected) -> None:
        if self.lesson is not None and event.option_index != self.index:
            await self.go_to(event.option_index)

    # -- checking -----------------------------------------------------------------------------------------
    def action_check(self) -> None:
        step = self.step
        if step is None or self.session is None:
            self.notify("The lesson is still opening.")
            return
        area = self.query_one(AnswerArea)
        answer = area.value()
        if not area.hands_on and answer in (None, "", []):
            self.notify("Type or pick an answer first, then press F5.", severity="warning")
            return
        if area.hands_on and not self.session_ready:
            self.notify("The lesson's sandboxes are still starting; check again in a moment.")
            return
        if self._code_step(step):
            self._check_code(step)
            return
        self.run_check(step, answer)

    @on(AnswerArea.Submitted)
    def _submitted(self) -> None:
        self.action_check()

    @work(thread=True, exclusive=True, group="check", exit_on_error=False)
    def run_check(self, step: Step, answer: Any) -> None:
        from tutor.evidence import record_check

        assert self.session is not None and self.pack is not None and self.lesson is not None
        result = self.session.check(step, answer)
        progress: StepProgress | None = None
        try:
            progress = record_check(self.tutor.store, self.session, step, answer, result)
        except ProgressError as exc:
            self.app.notify(str(exc), severity="error")
        self.post_message(CheckDone(step.id, result, progress))

    def on_check_done(self, message: CheckDone) -> None:
        step = self.step
        if message.progress is not None:
            self.progress[message.step_id] = message.progress
        self._show_steps()
        if step is None or step.id != message.step_id:
            return
        attempts = message.progress.attempts if message.progress else 0
        result = message.result
        if result.feedback:
            result = replace(result, feedback=self.fill(result.feedback))
        if not result.passed and not result.error and self._earlier_mistake_in_the_way(step, result):
            # first, where it is seen: nothing the learner types can pass until the data is put back
            result = replace(result, details=(self._reset_advice(), *result.details))
        self.last_result = result
        panel = self.query_one(ResultPanel)
        seen = self.progress.get(step.id)
        reveal = bool(seen and seen.solution_viewed)
        panel.show_result(result, attempts, self.fill(step.explanation), self._next_hint(), reveal=reveal)
        build = self.query_one(BuildPanel)
        if build.display:
            build.checked(message.result.passed and not message.result.error)
        self._update_feedback_box()
        box = self.query_one("#feedback", VerticalScroll)
        box.scroll_home(animate=False)
        self.call_after_refresh(box.scroll_home, animate=False)
        self.refresh_bindings()

    def _earlier_mistake_in_the_way(self, step: Step, result: CheckResult) -> bool:
        """Changes from an earlier attempt may be in the way: say so, and name the reset key. True when the
        learner changed rows in this step and a SQL check still fails (the right UPDATE on a database an
        UPDATE without WHERE already changed fails for ever, however right it is)."""
        from tutor.pack.checks import SQL_KINDS, iter_kinds

        session = self.session
        if session is None or session.sql is None:
            return False
        if not set(iter_kinds(step.check)) & (SQL_KINDS | {"sql_state"}):
            return False
        try:
            ran = list(session.sql.statements())
        except Exception:
            return False
        writes = ("INSERT", "UPDATE", "DELETE", "REPLACE", "DROP", "ALTER")
        return any(sql.lstrip().upper().startswith(writes) for sql in ran)

    def _reset_advice(self) -> str:
        return (
            f"If an earlier attempt changed the data (an UPDATE without WHERE, say), that change is still "
            f"there: press {RESET_KEY} to put this step's database back, then run your statement again."
        )

    def on_workbench_acted(self, message: WorkbenchActed) -> None:
        if self.query_one(AnswerArea).hands_on:
            status = self.query_one("#act-status", Static)
            status.display = True
            status.update(
                f"You acted in the workbench{': ' + message.detail if message.detail else ''}. "
                f"Press {CHECK_KEY} to check it."
            )

    # -- hints and the solution ------------------------------------------------------------------------------
    async def _reveal_hint(self, step: Step) -> None:
        number = self.hints_shown + 1
        hint = Static(
            Content.assemble(
                (f"Hint {number}/{len(step.hints)}: ", "bold $text-accent"),
                _plain_markdown(self.fill(step.hints[self.hints_shown])),
            ),
            classes="hint",
        )
        await self.query_one("#hints", Vertical).mount(hint)
        self.hints_shown = number
        self._update_feedback_box()
        box = self.query_one("#feedback", VerticalScroll)
        self.call_after_refresh(box.scroll_to_widget, hint, animate=False)

    async def action_hint(self) -> None:
        step = self.step
        if step is None or self.pack is None or self.lesson is None:
            return
        if not step.hints:
            self.notify("This step has no hints. The reference solution is on F7 after one try.")
            return
        if self.hints_shown >= len(step.hints):
            self.notify("That was the last hint. The reference solution is on F7 after one try.")
            return
        await self._reveal_hint(step)
        self.record_hint(step)

    @work(thread=True, group="progress", exit_on_error=False)
    def record_hint(self, step: Step) -> None:
        assert self.pack is not None and self.lesson is not None
        try:
            self.post_message(
                ProgressSaved(self.tutor.store.record_hint(self.pack.id, self.pack.version, self.lesson.id, step.id))
            )
        except ProgressError as exc:
            self.app.notify(str(exc), severity="error")

    def action_solution(self) -> None:
        step = self.step
        if step is None:
            return
        progress = self.progress.get(step.id)
        if progress is None or (progress.attempts < 1 and not progress.solution_viewed):
            self.notify("Try at least once (F5) before looking at the reference solution.", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes and self.step is step:
                solution = self.query_one("#solution", Static)
                solution.display = True
                solution.update(
                    Content.assemble(
                        ("Reference solution\n", "bold"),
                        self.fill(solution_text(step, self.pack.root if self.pack else None)),
                    )
                )
                self._update_feedback_box()
                box = self.query_one("#feedback", VerticalScroll)
                self.call_after_refresh(box.scroll_to_widget, solution, animate=False, top=True)
                self.record_solution(step)

        self.app.push_screen(
            ConfirmScreen(
                'Show the reference solution? It is recorded as "solution viewed" for this step.',
                yes="Show it",
                no="Not yet",
            ),
            answered,
        )

    @work(thread=True, group="progress", exit_on_error=False)
    def record_solution(self, step: Step) -> None:
        assert self.pack is not None and self.lesson is not None
        try:
            self.post_message(
                ProgressSaved(
                    self.tutor.store.record_solution_viewed(self.pack.id, self.pack.version, self.lesson.id, step.id)
                )
            )
        except ProgressError as exc:
            self.app.notify(str(exc), severity="error")

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

    def action_toggle_steps(self) -> None:
        steps = self.query_one(StepList)
        steps.display = not steps.display
        self._steps_chosen = steps.display

    # -- reset, and moving around with the keyboard ------------------------------------------------------
    def action_reset_step(self) -> None:
        if self.session is None or not self.session_ready or not self.outline.sandboxes:
            self.notify("This step has nothing to reset.")
            return
        self.notify("Putting this step's sandboxes back to how it started...", title="Reset")
        self.reset_step(self.session)

    @work(thread=True, exclusive=True, group="check", exit_on_error=False)
    def reset_step(self, session: Session) -> None:
        try:
            reset = getattr(session, "reset_step", None)
            if callable(reset):
                reset()
            elif session.sql is not None:
                session.sql.reset()  # the database at least; the API's memory needs Session.reset_step
            step = self.step
            if step is not None:
                session.begin_step(step)
        except Exception as exc:
            self.app.call_from_thread(self.notify, f"The reset failed: {exc}", severity="error")
            return
        self.app.call_from_thread(self._after_reset)

    def _after_reset(self) -> None:
        self.query_one(ResultPanel).clear()
        self._update_feedback_box()
        self.notify(f"This step starts afresh: the database is back to how the step began. {CHECK_KEY} checks.")
        for workbench in self.query_one(WorkbenchArea).query("SqlWorkbench"):
            refresh = getattr(workbench, "after_external_reset", None)
            if callable(refresh):
                refresh()

    def action_focus_other(self) -> None:
        editor = self._workbench_editor()
        focused = self.app.focused
        in_workbench = focused is not None and self.query_one(WorkbenchArea) in focused.ancestors_with_self
        if editor is not None and not in_workbench:
            editor.focus()
            return
        area = self.query_one(AnswerArea)
        if not area.hands_on:
            area.focus_input()
        else:
            self.query_one("#reading", VerticalScroll).focus()

    def _front_tabs(self) -> TabbedContent | None:
        """The tabs of the workbench in front (its inner tabs, not the SQL/Request switch)."""
        area = self.query_one(WorkbenchArea)
        for tabs in area.query("#sql-tabs, #rw-tabs").results(TabbedContent):
            if self._shown(tabs):
                return tabs
        return None

    def action_next_tab(self) -> None:
        tabs = self._front_tabs()
        if tabs is None:
            self.notify("This step has no workbench tabs.")
            return
        panes = [pane.id for pane in tabs.query("TabPane") if pane.id and pane.parent is not None]
        panes = [p for p in panes if tabs.query(f"#{p}")]
        if not panes:
            return
        current = tabs.active
        following = panes[(panes.index(current) + 1) % len(panes)] if current in panes else panes[0]
        tabs.active = following
        self.call_after_refresh(self._focus_in_pane, tabs, following)

    def _focus_in_pane(self, tabs: TabbedContent, pane_id: str) -> None:
        pane = tabs.get_pane(pane_id)
        for widget in pane.query("*"):
            if widget.focusable and widget.display:
                widget.focus()
                return
        tabs.query_one("Tabs").focus()

    def action_switch_workbench(self) -> None:
        area = self.query_one(WorkbenchArea)
        names = getattr(area, "names", [])
        if len(names) < 2:
            self.notify("This lesson has one workbench.")
            return
        outer = area.query_one("#workbench-tabs", TabbedContent)
        current = (outer.active or "").removeprefix("workbench-")
        following = names[(names.index(current) + 1) % len(names)] if current in names else names[0]
        area.show(following)
        self.call_after_refresh(lambda: (editor := self._workbench_editor()) and editor.focus())

    def action_zoom(self) -> None:
        main = self.query_one("#lesson-main")
        if self.has_class("-no-workbench"):
            self.action_toggle_steps()
            return
        if main.has_class("-zoom-workbench"):
            main.remove_class("-zoom-workbench")
            main.add_class("-zoom-reading")
        elif main.has_class("-zoom-reading"):
            main.remove_class("-zoom-reading")
        else:
            main.add_class("-zoom-workbench")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("check", "hint", "solution", "next_step") and self.lesson is None:
            return None
        # Ctrl+O opens the learner's editor on the steps that check their code; elsewhere it moves the focus
        building = self.lesson is not None and self.lesson.build is not None and self._code_step(self.step)
        if action == "open_editor" and not building:
            return False
        if action == "focus_other" and building:
            return False  # Ctrl+O opens the learner's own editor in build-it lessons
        # a lesson without sandboxes has nothing to reset: not in the footer either
        return not (action == "reset_step" and not self.outline.sandboxes)


def _plain_markdown(text: str) -> str:
    """Hints are one-line Markdown: drop the backticks around code (the words stay)."""
    return text.replace("`", "")
