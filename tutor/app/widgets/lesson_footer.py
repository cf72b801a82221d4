"""The lesson screen's footer: the keys that matter where the focus is now, in a fixed order, on one line
at 80 columns. Textual's footer shows every binding that can be shown; this one also leaves out the ones
the screen says are beside the point right now (the move to where the focus already is, the solution
before a first try, Next before the step is passed) while their keys keep working. When the keys left
would not fit the width (80 columns once F7 shows beside the workbench keys), the least needed go
first, in `SPARE` order, so a key is never cut in half ("f1 Hel")."""

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

SPARE = ("quit", "focus_result", "focus_workbench", "focus_answer", "reset_step", "open_editor")
"""Left out, in this order, when the footer is too narrow: quitting is Ctrl+Q everywhere, the three places
are also Tab away, and F1 lists every key. Check, hint, solution, next and help are never left out."""


def key_width(key: FooterKey) -> int:
    """Columns a compact footer key takes: key, a space, its description, and the gap after it."""
    return len(key.key_display) + 1 + len(key.description) + 1


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
        width = self.app.size.width
        for action in SPARE:
            if sum(key_width(key) for key in keys) <= width:
                break
            keys = [key for key in keys if key.action != action]
        self.styles.grid_size_columns = len(keys)
        yield from keys

    def on_resize(self) -> None:
        if self.app.size.width != getattr(self, "_composed_for", None):
            self._composed_for = self.app.size.width
            self.refresh(recompose=True)
