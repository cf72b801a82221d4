"""Radio buttons and checkboxes whose state shows in the glyph, not only in its colour.

Textual draws every toggle with the same inner character and tells on from off by colour alone;
a learner on a monochrome terminal, with NO_COLOR, or who doesn't see that colour could not tell
which answer is picked. These draw a mark when on and a blank when off.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.geometry import Size
from textual.widgets import Checkbox, RadioButton


class _Wrapping:
    """An option's words in full, over as many lines as they need: Textual draws a toggle on one line and
    cuts the rest with "…", which hid the half of an answer that mattered. The lines after the first
    start under the first word, not under the button, so each option reads as one block."""

    def _lines(self, width: int) -> list[Content]:
        button: Content = self._button  # type: ignore[attr-defined]
        style = self.get_visual_style("toggle--label")  # type: ignore[attr-defined]
        label: Content = self._label  # type: ignore[attr-defined]
        lines = label.wrap(max(8, width - button.cell_length - 2)) or [Content("")]
        pad = Content(" " * button.cell_length)
        return [
            Content.assemble(button if number == 0 else pad, line.pad(1, 1).stylize_before(style))
            for number, line in enumerate(lines)
        ]

    def render(self) -> Content:
        width = self.content_region.width or self.size.width or 80  # type: ignore[attr-defined]
        return Content("\n").join(self._lines(width))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, len(self._lines(width)))


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
