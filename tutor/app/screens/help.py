"""F1: what the focused part of the screen is for, and its keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static

from tutor.app.keys import fill_keys

if TYPE_CHECKING:
    from textual.dom import DOMNode
    from textual.screen import Screen
    from textual.widget import Widget

GENERAL = """\
## Keys everywhere
- **{help}**: this help, for the part of the screen that has focus
- **Tab / Shift+Tab**: move between areas; the mouse works too
- **Ctrl+P**: the command palette: open a lesson by title, change the theme, any action
- **{quit}**: quit (progress is saved as you go)

Keys can be changed in the settings file: `backend-tutor config` shows where it is and every key.
"""


def help_for(focused: Widget | None, screen: Screen[object]) -> tuple[str, str]:
    """The HELP text of the focused widget or its nearest ancestor that has one, then the screen's, then
    the keys in force right here (after the settings file's changes), every key named as it is now."""
    screen_text = getattr(type(screen), "HELP", None)
    screen_text = screen_text if isinstance(screen_text, str) else ""
    text = screen_text + "\n" + GENERAL
    node: DOMNode | None = focused
    while node is not None and node is not screen:
        own = getattr(type(node), "HELP", None)
        if isinstance(own, str) and own.strip():
            # the focused part first, then the screen's own keys (every key is listed in F1)
            extra = f"\n{screen_text}" if screen_text and screen_text != own else ""
            text = own + extra + "\n" + GENERAL
            break
        node = node.parent
    return "Help", fill_keys(text, screen) + "\n" + keys_here(screen)


def keys_here(screen: Screen[object]) -> str:
    """Every key that works where the focus is now, as a list (generated: it cannot go out of date)."""
    from tutor.app.app import active_keys

    rows = [f"- **{keys}**: {tooltip}" for _, (tooltip, keys, _, _) in sorted(active_keys(screen).items())]
    return "## Keys in force here\n" + "\n".join(rows) + "\n" if rows else ""


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
            with VerticalScroll(id="help-text"):
                yield Markdown(self.text)
            yield Static("↑/↓ PgUp/PgDn scroll · Esc closes this help", classes="dialog-hint")

    def on_mount(self) -> None:
        # the text scrolls with the keyboard at once: on a small screen it is longer than the dialog
        self.query_one("#help-text", VerticalScroll).focus()

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(None)
