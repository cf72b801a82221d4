"""Radio buttons and checkboxes whose state shows in the glyph, not only in its colour.

Textual draws every toggle with the same inner character and tells on from off by colour alone;
a learner on a monochrome terminal, with NO_COLOR, or who doesn't see that colour could not tell
which answer is picked. These draw a mark when on and a blank when off.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.geometry import Size
from textual.widgets import Checkbox, RadioButton


class _Wrapping:
    """An option's words in full, over as many lines as they need: Textual draws a toggle on one line and
    cuts the rest with "…", which hid the half of an answer that mattered."""

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        content = self.render()  # type: ignore[attr-defined]
        return max(1, content.get_height(self.styles, width))  # type: ignore[attr-defined]


class ChoiceRadio(_Wrapping, RadioButton):
    DEFAULT_CSS = "ChoiceRadio { width: 1fr; height: auto; text-wrap: wrap; text-overflow: fold; }"

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        return "●" if self.value else " "


class ChoiceBox(_Wrapping, Checkbox):
    DEFAULT_CSS = "ChoiceBox { width: 1fr; height: auto; text-wrap: wrap; text-overflow: fold; }"

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        return "✓" if self.value else " "


class ChoiceList(Vertical):
    """The boxes of a "pick every one" step: ↑/↓ move between them, as in a list of radio buttons."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "move(1)", "Next option", show=False),
        Binding("up", "move(-1)", "Previous option", show=False),
    ]

    def action_move(self, step: int) -> None:
        boxes = list(self.query(ChoiceBox))
        focused = self.app.focused
        if not boxes:
            return
        here = boxes.index(focused) if focused in boxes else -1
        target = boxes[max(0, min(len(boxes) - 1, here + step))]
        target.focus()
