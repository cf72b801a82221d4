"""The lesson screen's layout and focus: where the learner types when a step opens, moving between the
answer and the workbench, the workbench's tabs, zoom (F3) and the step list (F2) by screen size."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import events
from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Input, TabbedContent, TextArea

from tutor.app.keys import focus_now
from tutor.app.lesson.state import LessonParts
from tutor.app.widgets.answer_area import AnswerArea
from tutor.app.widgets.result_panel import ResultPanel
from tutor.app.widgets.step_list import StepList
from tutor.app.widgets.workbench_area import WorkbenchArea

if TYPE_CHECKING:
    from tutor.pack.models import Step

NARROW = 100
"""Below this many columns the step list starts hidden (F2 shows it): the task and workbench need the room."""
SHORT = 30
"""Below this many rows the header line is hidden."""


class LayoutFocus(LessonParts):
    """Mixed into LessonScreen: layout and focus."""

    def _update_feedback_box(self) -> None:
        box = self.query_one("#feedback", VerticalScroll)
        box.display = bool(
            self.query_one(ResultPanel).display
            or self.query_one("#hints", Vertical).children
            or self.query_one("#solution").display
        )
        # on a short screen a verdict takes the lesson text's room, not the workbench's result
        self.set_class(box.display, "-feedback")

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
        the workbench's editor (it exists before the sandboxes run, and takes text at once)."""
        area = self.query_one(AnswerArea)
        if area.hands_on and self._workbench_editor() is not None:
            self.focus_workbench_editor()
            return
        # after the refresh: a just-mounted choice list is not focusable until it is laid out
        self.call_after_refresh(area.focus_input)
        self.call_after_refresh(lambda: self.call_after_refresh(self._replay_early_keys))

    def focus_workbench_editor(self) -> bool:
        editor = self._workbench_editor()
        if editor is None:
            return False
        focus_now(editor)
        self.call_after_refresh(self._replay_early_keys)
        return True

    # -- keys typed before anything could take them ----------------------------------------------------
    def on_take_keys(self) -> None:
        """The editor exists and every key typed so far has reached this screen (in order): the editor
        takes the focus now (synchronously, so the next key goes to it) and, first, what was typed."""
        editor = self._workbench_editor()
        if editor is None or self.app.focused is not None:
            return
        self.set_focus(editor)
        self._replay_early_keys()

    def on_key(self, event: events.Key) -> None:
        """A key that reached the screen itself was sent while nothing had the focus (the lesson is opening):
        a text field that has the focus now would have taken it. What the learner typed then is kept and
        given to the editor or the answer as soon as one has the focus, in the order it was typed."""
        focused = self.app.focused
        if focused is None:
            text = event.character if event.is_printable else ("\n" if event.key == "enter" else None)
            if text is not None:
                self._early_keys = getattr(self, "_early_keys", "") + text
                event.stop()
            return
        # A printable key a text field would have taken itself (Enter it leaves to its bindings)
        if event.is_printable and event.character and self._takes_text(focused):
            self._early_keys = getattr(self, "_early_keys", "") + event.character
            event.stop()
            self._replay_early_keys()

    @staticmethod
    def _takes_text(widget: Widget | None) -> bool:
        return (isinstance(widget, TextArea) and not widget.read_only) or isinstance(widget, Input)

    def _replay_early_keys(self) -> None:
        typed = getattr(self, "_early_keys", "")
        focused = self.app.focused
        if not typed or focused is None:
            return
        self._early_keys = ""
        if isinstance(focused, TextArea) and not focused.read_only:
            focused.insert(typed)
        elif isinstance(focused, Input):
            focused.insert_text_at_cursor(typed.replace("\n", " ").rstrip())

    def footer_plan(self) -> tuple[set[str], dict[str, str]]:
        """What the footer leaves out now (the keys still work) and shorter names for what it shows."""
        hidden: set[str] = set()
        here = self._where_focus_is()
        if here is not None:
            hidden.add({"answer": "focus_answer", "editor": "focus_workbench", "result": "focus_result"}[here])
        step = self.step
        seen = self.progress.get(step.id) if step is not None else None
        if seen is None or not (seen.attempts or seen.solution_viewed):
            hidden.add("solution")
        if seen is not None and seen.passed:
            hidden |= {"hint", "solution"}
        else:
            hidden.add("next_step")
        if step is not None and not self.hints_remaining(step):
            hidden.add("hint")
        areas = self.query(AnswerArea)
        typing = bool(areas) and not areas.first().hands_on and areas.first().has_input()
        return hidden, {"focus_answer": "Answer" if typing else "Text", "run": "Run"}

    def _where_focus_is(self) -> str | None:
        """'answer', 'editor', 'result' or None: which of the three places the focus is in now."""
        focused = self.app.focused
        if focused is None or not self.query(AnswerArea) or not self.query(WorkbenchArea):
            return None
        if self.query_one(AnswerArea) in focused.ancestors_with_self:
            return "answer"
        front = self.query_one(WorkbenchArea).front()
        if front is not None and front in focused.ancestors_with_self:
            place = getattr(front, "place_of", None)
            return place(focused) if callable(place) else None
        return None

    def on_resize(self, event: Any) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        self.set_class(height < SHORT, "-short")
        if self._steps_chosen is None:
            self.query_one(StepList).display = width >= NARROW

    def _point_at_workbench(self, step: Step) -> None:
        """Put the workbench this step is done in to the front, and say where the learner's own tools
        (curl, sqlite3, a browser) reach the sandboxes."""
        from tutor.pack.checks import HTTP_KINDS, SQL_KINDS, iter_kinds

        kinds = set(iter_kinds(step.check))
        area = self.query_one(WorkbenchArea)
        if kinds & HTTP_KINDS:
            area.show("api")
        elif kinds & SQL_KINDS:
            area.show("sql")
        session = self.session
        if session is None or not self.session_ready:
            return
        tools = []
        if session.api is not None:
            tools.append("curl")
        if session.sql is not None:
            tools.append("sqlite3")
        self.query_one(AnswerArea).set_tools(" or ".join(tools) or None)

    def action_toggle_steps(self) -> None:
        steps = self.query_one(StepList)
        steps.display = not steps.display
        self._steps_chosen = steps.display

    # -- one key to each place, never a toggle -------------------------------------------------------
    def action_focus_answer(self) -> None:
        """To the answer; in a hands-on step (nothing to type there) to the lesson text, to read or scroll."""
        area = self.query_one(AnswerArea)
        if area.hands_on or not area.has_input():
            focus_now(self.query_one("#reading", VerticalScroll))
        else:
            area.focus_input()

    def action_focus_workbench(self) -> None:
        if not self.focus_workbench_editor():
            self.notify("This step has no workbench to type in.")

    def action_focus_result(self) -> None:
        front = self.query_one(WorkbenchArea).front()
        show = getattr(front, "focus_result", None)
        if not callable(show):
            self.notify("This step has no workbench result to show.")
            return
        show()

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
                focus_now(widget)
                return
        focus_now(tabs.query_one("Tabs"))

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
        self.focus_workbench_editor()

    def action_zoom(self) -> None:
        """Split → the workbench alone → the lesson text alone → split; the focus follows what is shown."""
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
        self.call_after_refresh(self._keep_focus_in_view)

    def unzoom(self) -> None:
        """A new step opens split: its text and its workbench both in view."""
        self.query_one("#lesson-main").remove_class("-zoom-workbench", "-zoom-reading")

    def _keep_focus_in_view(self) -> None:
        """After a zoom the focus must be somewhere the learner can see: the answer when the text is shown,
        the workbench's editor when the workbench is (a choice list under a hidden pane took Enter)."""
        focused = self.app.focused
        if focused is not None and self._shown(focused):
            return
        main = self.query_one("#lesson-main")
        if main.has_class("-zoom-workbench"):
            self.focus_workbench_editor()
        else:
            self.action_focus_answer()
