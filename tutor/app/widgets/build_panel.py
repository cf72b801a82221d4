"""The build-it panel of a lesson: where the learner's files are, how to open them, and whether the
tutor is watching for saves (each save re-runs the step's check; the verdict shows below)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Static

from tutor.app.keys import key_name


class BuildPanel(Vertical):
    HELP: ClassVar[str] = """\
## Build it
Your code lives in the folder shown. **{open_editor}** opens it in your editor (the settings file's
`editor`, else `$VISUAL` or `$EDITOR`; or use any editor). Every save re-runs the step's check; **{check}**
re-runs it by hand. *Reset exercise* puts
the starter files back after asking, and keeps your files in a backup folder.
"""

    class ResetRequested(Message):
        pass

    def compose(self) -> ComposeResult:
        yield Static("", id="build-where")
        yield Static("", id="build-status")
        with Horizontal(id="build-buttons"):
            yield Button("Edit (Ctrl+O)", id="build-open", compact=True)
            yield Button("Reset exercise...", id="build-reset", compact=True)

    def on_mount(self) -> None:
        self.display = False
        self.query_one("#build-open", Button).label = f"Edit ({key_name(self, 'open_editor')})"

    ready = False
    """The workspace is shown (the lesson's session started); the screen shows the panel on code steps."""

    def show_workspace(self, folder: Path, file: str, watching: bool) -> None:
        self.ready = True
        self.display = True
        self.query_one("#build-where", Static).update(
            Content.from_markup("[b]Your code:[/b] $path", path=str(folder / file))
        )
        self.set_status(
            "Watching for saves: each save runs the check."
            if watching
            else f"Watching is not available here: press {key_name(self, 'check')} after each save."
        )

    def step_changed(self) -> None:
        """Another step: the last check's verdict belonged to the one before."""
        self.saved_names = ""
        if self.display:
            self.set_status(
                f"Watching for saves: each save runs this step's check ({key_name(self, 'check')} by hand)."
            )

    def set_status(self, text: str) -> None:
        self.query_one("#build-status", Static).update(Content(text))

    saved_names = ""

    def saved(self, names: list[str]) -> None:
        self.saved_names = ", ".join(names[:3]) + (" ..." if len(names) > 3 else "")
        self.set_status(f"You saved {self.saved_names}: checking...")

    def checked(self, passed: bool) -> None:
        word = "✓ passes" if passed else "✗ not yet"
        after = f" (after you saved {self.saved_names})" if self.saved_names else ""
        self.set_status(f"Last check: {word}{after}. Watching for saves; {key_name(self, 'check')} checks again.")
        self.saved_names = ""

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "build-open":
            self.call_later(self.screen.run_action, "open_editor")
        elif event.button.id == "build-reset":
            self.post_message(self.ResetRequested())
