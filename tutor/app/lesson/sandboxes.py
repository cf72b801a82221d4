"""The lesson screen's sandbox life: open the lesson and start what it declares (off the UI thread), say
when a sandbox dies, restart it, put the current step back (F4), and stop everything when the screen goes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.content import Content
from textual.widgets import Static

from tutor.app.keys import key_name
from tutor.app.lesson.messages import LessonLoaded, LessonUnavailable, SessionFailed, SessionStarted
from tutor.app.lesson.state import LessonParts
from tutor.app.widgets.result_panel import ResultPanel
from tutor.app.widgets.workbench_area import WorkbenchArea
from tutor.progress import ProgressError

if TYPE_CHECKING:
    from tutor.pack.models import Lesson
    from tutor.progress import StepProgress
    from tutor.session import Session

PACK_WAIT_SECONDS = 120.0


def _passed(progress: dict[str, StepProgress], step_id: str) -> bool:
    seen = progress.get(step_id)
    return seen is not None and seen.passed


def first_step(lesson: Lesson, progress: dict[str, StepProgress], resume: str | None) -> int:
    """Where a lesson opens: the step asked for, else the first one not passed yet, else the first."""
    ids = [s.id for s in lesson.steps]
    if resume in ids:
        return ids.index(resume)
    return next((i for i, s in enumerate(lesson.steps) if not _passed(progress, s.id)), 0)


def passed_before(lesson: Lesson, progress: dict[str, StepProgress], index: int) -> list[str]:
    """The steps before step `index` the learner has passed: whose sandbox switches a new API gets again."""
    return [s.id for s in lesson.steps[:index] if _passed(progress, s.id)]


class SandboxLife(LessonParts):
    """Mixed into LessonScreen: everything about the session and its sandboxes."""

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
        # Coming back part-way: the database is the one they left, with what earlier steps made in it.
        session.keep_database = any(p.passed for p in progress.values())
        self.post_message(LessonLoaded(entry.lesson, pack, session, progress))
        if not (entry.lesson.sandboxes.sql or entry.lesson.sandboxes.api or entry.lesson.build):
            session.started = True
            self.post_message(SessionStarted(session))
            return

        def report(what: str, fraction: float) -> None:
            self.app.call_from_thread(self.query_one(WorkbenchArea).set_progress, what, fraction)

        earlier = passed_before(entry.lesson, progress, first_step(entry.lesson, progress, self.resume_step))
        self.start_sandboxes(session, report, switched_in=earlier)

    def start_sandboxes(
        self, session: Session, report: Any, *, restart: bool = False, switched_in: list[str] | None = None
    ) -> None:
        """Start the lesson's sandboxes. `switched_in`: passed steps before the one the lesson opens on,
        whose switches of the API's controls are made again (`Session.restore_switches`)."""
        try:
            api = session.api
            if restart:
                session.restart(progress=report)
            else:
                session.start(progress=report)
            if switched_in and session.api is not None and session.api is not api:  # an API that starts afresh
                self._restore_switches(session, switched_in)
        except Exception as exc:
            from tutor.locks import LessonInUse

            if isinstance(exc, LessonInUse):  # its own words: who holds the lesson, and what to do
                self.post_message(SessionFailed(f"{exc} Press {self._restart_key()} when it is closed there."))
                return
            self.post_message(
                SessionFailed(
                    f"The lesson's sandboxes could not start: {type(exc).__name__}: {exc}\n"
                    f"Press {self._restart_key()} to try again."
                )
            )
            return
        self.post_message(SessionStarted(session))

    def _restore_switches(self, session: Session, step_ids: list[str]) -> None:
        actions = []
        for step_id in step_ids:
            try:
                records = self.tutor.store.evidence(session.pack.id, session.lesson.id, step_id)
            except ProgressError:
                continue
            if records and isinstance(records[0].get("action"), dict):
                actions.append(records[0]["action"])
        again = session.restore_switches(actions)
        if again:
            self.app.call_from_thread(
                self.notify,
                "Switched again as you left them in earlier steps: " + ", ".join(again),
                title="Sandbox",
                timeout=8,
            )

    def _restart_key(self) -> str:
        return f"{key_name(self, 'restart_sandboxes')} (or Ctrl+P, Restart)"

    def watch_sandboxes(self) -> None:
        """Tell the learner, once, when a running sandbox dies (the tutor itself stays up)."""
        if self.session is None or not self.session_ready:
            return
        problems = self.session.problems()
        for problem in problems:
            if problem not in self.reported_problems:
                self.notify(
                    f"{problem[0].upper()}{problem[1:]}. Press {self._restart_key()} to restart it.",
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
        earlier = passed_before(session.lesson, self.progress, self.index)
        self.start_sandboxes(session, report, restart=True, switched_in=earlier)

    def on_lesson_unavailable(self, message: LessonUnavailable) -> None:
        self.query_one("#step-title", Static).update(Content.styled(message.reason, "$text-error"))
        self.query_one(WorkbenchArea).display = False
        self.notify(message.reason.splitlines()[0], severity="error")

    async def on_session_started(self, message: SessionStarted) -> None:
        self.session_ready = True
        area = self.query_one(WorkbenchArea)
        known = set(area.names)
        names = [n for n in ("sql", "api") if getattr(message.session.lesson.sandboxes, n) is not None]
        if names and set(names) != known:  # the outline named other sandboxes than the lesson file has
            for problem in await area.mount_workbenches(None, names):
                self.notify(problem, title="Workbench", severity="warning")
        area.attach(message.session)
        sql = message.session.sql
        if message.session.keep_database and sql is not None and not getattr(sql, "kept", True):
            self.notify(
                "Your database from last time could not be reused (the lesson changed, or the file is gone), "
                "so it starts afresh: what earlier steps made in it is not there.",
                title="Database",
                severity="warning",
                timeout=12,
            )
        if self.step is not None:
            # The placeholders now have real values. The focus stays where it is: the learner may be typing.
            await self._show_texts(self.step)
            focused = self.app.focused
            if focused is not None and self.query_one("#answer") in focused.ancestors_with_self:
                focused.scroll_visible(animate=False)  # the text was written again: the answer back in view
            self._point_at_workbench(self.step)
            self.enter_step(self.step)
        self._start_build(message.session)

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
        self.notify(
            f"This step starts afresh: the database is back to how the step began. {key_name(self, 'check')} checks."
        )
        for workbench in self.query_one(WorkbenchArea).query("SqlWorkbench"):
            refresh = getattr(workbench, "after_external_reset", None)
            if callable(refresh):
                refresh()
