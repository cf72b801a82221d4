"""The lesson screen's footer: the keys that matter where the focus is now, in a fixed order, on one line
at 80 columns. Textual's footer shows every binding that can be shown; this one also leaves out the ones
the screen says are beside the point right now (the move to where the focus already is, the solution
before a first try, Next before the step is passed) while their keys keep working."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey  # not re-exported; Textual is pinned exactly (pyproject)

ORDER = (
    "check",
    "hint",
    "solution",
    "next_step",
    "reset_step",
    "run",
    "send",
    "focus_answer",
    "focus_workbench",
    "focus_result",
    "open_editor",
)


class LessonFooter(Footer):
    def compose(self) -> ComposeResult:
        plan = getattr(self.screen, "footer_plan", None)
        hidden, labels = plan() if callable(plan) else (set(), {})
        keys: list[FooterKey] = []
        for widget in super().compose():
            if not isinstance(widget, FooterKey):
                continue
            if widget.action in hidden:
                continue
            widget.description = labels.get(widget.action, widget.description)
            keys.append(widget)
        late = len(ORDER)
        keys.sort(key=lambda key: ORDER.index(key.action) if key.action in ORDER else late)
        self.styles.grid_size_columns = len(keys)
        yield from keys
