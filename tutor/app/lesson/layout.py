"""The lesson screen's layout and focus: where the learner types when a step opens, moving between the
answer and the workbench, the workbench's tabs, zoom (F3) and the step list (F2) by screen size."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import TabbedContent

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

    def action_toggle_steps(self) -> None:
        steps = self.query_one(StepList)
        steps.display = not steps.display
        self._steps_chosen = steps.display

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
