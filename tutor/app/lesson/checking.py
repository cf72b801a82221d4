"""The lesson screen's check flow: check (F5), the verdict, hints (F6) and the reference solution (F7).
The verdict is drawn in one place, `ResultPanel.show_result`."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from textual import work
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from tutor.app.keys import after_keys, key_name
from tutor.app.lesson.messages import CheckDone, ProgressSaved
from tutor.app.lesson.state import LessonParts
from tutor.app.lesson.texts import solution_text
from tutor.app.messages import WorkbenchActed
from tutor.app.screens.confirm import ConfirmScreen
from tutor.app.widgets.answer_area import AnswerArea
from tutor.app.widgets.build_panel import BuildPanel
from tutor.app.widgets.result_panel import ResultPanel, inline_markdown, reflow
from tutor.checks.base import CheckResult
from tutor.progress import ProgressError, StepProgress

if TYPE_CHECKING:
    from tutor.pack.models import Step


class CheckFlow(LessonParts):
    """Mixed into LessonScreen: checking, hints and the solution."""

    def action_check(self) -> None:
        # the answer, once every key typed before F5 has done what it does (a number typed fast, Enter
        # on a choice, then F5 at once)
        after_keys(self.app.focused, self._check_now)

    def _check_now(self) -> None:
        step = self.step
        if step is None or self.session is None:
            self.notify("The lesson is still opening.")
            return
        area = self.query_one(AnswerArea)
        answer = area.value()
        if not area.hands_on and answer in (None, "", []):
            self.notify(f"Type or pick an answer first, then press {key_name(self, 'check')}.", severity="warning")
            return
        if area.hands_on and not self.session_ready:
            self.notify("The lesson's sandboxes are still starting; check again in a moment.")
            return
        if self._code_step(step):
            self._check_code(step)
            return
        self.run_check(step, answer)

    def on_answer_area_submitted(self) -> None:
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
        elif not result.passed and not result.error and (write := self._earlier_write(result)):
            result = replace(result, details=(self._write_advice(write), *result.details))
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
        # The verdict box takes room from the lesson text: the answer the learner is changing stays in view
        area = self.query_one(AnswerArea)
        if not area.hands_on and area.has_input():
            self.call_after_refresh(area.scroll_visible, animate=False)
        self.refresh_bindings()

    def _earlier_mistake_in_the_way(self, step: Step, result: CheckResult) -> bool:
        """Changes from an earlier attempt may be in the way: say so, and name the reset key. True when a
        SQL check fails after the learner changed rows in this step (and did not roll them back) or
        dropped or altered a table: the right UPDATE on data an UPDATE without WHERE already changed fails
        for ever, however right it is. Not after a DROP INDEX or a BEGIN: nothing there is in the way."""
        from tutor.pack.checks import SQL_KINDS, iter_kinds

        session = self.session
        if session is None or session.sql is None:
            return False
        if not set(iter_kinds(step.check)) & (SQL_KINDS | {"sql_state"}):
            return False
        try:
            ran = list(session.sql.ran())
        except Exception:
            return False
        for one in ran:
            if one.transaction == "rolled_back":
                continue
            keyword = one.sql.lstrip().upper()
            if one.changes > 0 or keyword.startswith(("DROP TABLE", "ALTER TABLE")):
                return True
        return False

    def _earlier_write(self, result: CheckResult) -> str | None:
        """A write the learner sent in this step that the API accepted, when what failed is a look at the
        API's data afterwards (`http_probe`, or `sql_state` behind the API): an earlier try's PATCH stays
        in the data, so the right requests sent next fail the look for ever. 'PATCH /v1/books/5', or None."""
        from sandboxes.api.recorder import moves_sandbox

        session = self.session
        if session is None or session.api is None or result.kind not in {"http_probe", "sql_state"}:
            return None
        try:
            exchanges = list(session.api.recorder.since_mark())
        except Exception:
            return None
        writes = [
            e
            for e in exchanges
            if e.source != "tutor"
            and e.method in {"POST", "PUT", "PATCH", "DELETE"}
            and not moves_sandbox(e.method, e.path)  # the clock moved is not the data changed
            and 200 <= e.status < 300
        ]
        if len(writes) < 2:  # one write is the try itself; the way is blocked by an earlier one
            return None
        first = writes[0]
        return f"{first.method} {first.path}"

    def _write_advice(self, write: str) -> str:
        return (
            f"The API took more than one write in this step ({write} first), and each stays in its data: "
            f"if an earlier try changed what this step looks at, {key_name(self, 'reset_step')} puts the "
            "step's data back; then send yours again."
        )

    def _reset_advice(self) -> str:
        return (
            f"Rows an earlier statement changed in this step are still changed: "
            f"{key_name(self, 'reset_step')} puts the step's data back, then run yours again."
        )

    def on_workbench_acted(self, message: WorkbenchActed) -> None:
        if self.query_one(AnswerArea).hands_on:
            status = self.query_one("#act-status", Static)
            status.display = True
            status.update(
                f"You acted in the workbench{': ' + message.detail if message.detail else ''}. "
                f"Press {key_name(self, 'check')} to check it."
            )

    def _mistake(self) -> int | None:
        """Which declared wrong answer the last check recognised (its hints come first)."""
        result = self.last_result
        return result.mistake if result is not None and not result.passed else None

    async def _reveal_hint(self, step: Step, text: str | None = None) -> bool:
        """Show the next hint: the one for the mistake just made, then the step's own (tutor.checks.hints).
        False when there is none left."""
        from tutor.checks.hints import hints_left, next_hint

        hint_text = text if text is not None else next_hint(step, self.hint_texts, self._mistake())
        if hint_text is None:
            return False
        self.hint_texts.append(hint_text)
        number = len(self.hint_texts)
        total = number + hints_left(step, self.hint_texts, self._mistake())
        hint = Static(
            Content.assemble(
                (f"Hint {number}/{total}: ", "bold $text-accent"),
                inline_markdown(reflow(self.fill(hint_text))),
            ),
            classes="hint",
        )
        await self.query_one("#hints", Vertical).mount(hint)
        self.hints_shown = number
        self._update_feedback_box()
        self.refresh_bindings()  # the footer leaves Hint out after the last one
        box = self.query_one("#feedback", VerticalScroll)
        self.call_after_refresh(box.scroll_to_widget, hint, animate=False)
        return True

    def hints_remaining(self, step: Step) -> int:
        from tutor.checks.hints import hints_left

        return hints_left(step, self.hint_texts, self._mistake())

    async def action_hint(self) -> None:
        step = self.step
        if step is None or self.pack is None or self.lesson is None:
            return
        from tutor.app.lesson.hints import every_hint

        solution = key_name(self, "solution")
        if not every_hint(step):
            self.notify(f"This step has no hints. The reference solution is on {solution} after one try.")
            return
        if not await self._reveal_hint(step):
            if self.hint_texts:
                self.notify(f"That was the last hint. The reference solution is on {solution} after one try.")
            else:  # its only hints belong to mistakes, and none was made yet
                check = key_name(self, "check")
                self.notify(f"No hint yet: check an answer ({check}); the hint then follows what it finds.")
            return
        self.record_hint(step, list(self.hint_texts))

    @work(thread=True, group="progress", exit_on_error=False)
    def record_hint(self, step: Step, shown: list[str]) -> None:
        """Count the hint, and keep which ones were shown (in order) for when the step is opened again."""
        from tutor.app.lesson.hints import HintsSeen

        assert self.pack is not None and self.lesson is not None
        try:
            HintsSeen(self.tutor.home.sessions / self.outline.id).save(step.id, shown)
        except OSError as exc:
            self.app.notify(f"The hints shown could not be kept for next time: {exc}", severity="warning")
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
            self.notify(
                f"Try at least once ({key_name(self, 'check')}) before looking at the reference solution.",
                severity="warning",
            )
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

    def _next_hint(self) -> str:
        if self.lesson is not None and self.index + 1 < len(self.lesson.steps):
            return f"Press {key_name(self, 'next_step')} for the next step."
        return f"That was the last step: press {key_name(self, 'next_step')} or Esc to go back to the course map."
