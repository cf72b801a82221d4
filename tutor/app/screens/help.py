"""F1: what the focused part of the screen is for, and its keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static

if TYPE_CHECKING:
    from textual.dom import DOMNode
    from textual.widget import Widget

GENERAL = """\
## Keys everywhere
- **F1**: this help, for the part of the screen that has focus
- **Tab / Shift+Tab**: move between areas; the mouse works too
- **Ctrl+P**: the command palette: open a lesson by title, change the theme, any action
- **Ctrl+Q**: quit (progress is saved as you go)
"""


def help_for(focused: Widget | None, screen: DOMNode) -> tuple[str, str]:
    """The HELP text of the focused widget or its nearest ancestor that has one, then the screen's."""
    screen_text = getattr(type(screen), "HELP", None)
    screen_text = screen_text if isinstance(screen_text, str) else ""
    node: DOMNode | None = focused
    while node is not None and node is not screen:
        text = getattr(type(node), "HELP", None)
        if isinstance(text, str) and text.strip():
            # the focused part first, then the screen's own keys (every key is listed in F1)
            extra = f"\n{screen_text}" if screen_text and screen_text != text else ""
            return "Help", text + extra + "\n" + GENERAL
        node = node.parent
    return "Help", screen_text + "\n" + GENERAL


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q", "dismiss", "Close help", id="close_help", tooltip="Back to where you were"),
    ]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.help_title = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog", classes="dialog"):
            with VerticalScroll():
                yield Markdown(self.text)
            yield Static("Esc closes this help", classes="dialog-hint")

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(None)
