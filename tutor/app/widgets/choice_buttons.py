"""Radio buttons and checkboxes whose state shows in the glyph, not only in its colour.

Textual draws every toggle with the same inner character and tells on from off by colour alone;
a learner on a monochrome terminal, with NO_COLOR, or who doesn't see that colour could not tell
which answer is picked. These draw a mark when on and a blank when off.
"""

from __future__ import annotations

from textual.widgets import Checkbox, RadioButton


class ChoiceRadio(RadioButton):
    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        return "●" if self.value else " "


class ChoiceBox(Checkbox):
    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        return "✓" if self.value else " "
