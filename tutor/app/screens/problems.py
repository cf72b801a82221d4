"""The problems full validation found in the pack, one per line as FILE:LINE:COL: message."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static

if TYPE_CHECKING:
    from tutor.pack.loader import PackLoad


class PackProblemsScreen(ModalScreen[None]):
    HELP: ClassVar[str] = """\
## Pack problems
Everything the pack check found, as `FILE:LINE:COL: message` (paths relative to the pack folder).
Lessons whose files have errors cannot be opened; every other lesson works. Authors: run
`backend-tutor pack validate PATH` for the same list.
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="close_problems", tooltip="Back to the course map"),
    ]

    def __init__(self, load: PackLoad) -> None:
        super().__init__()
        self.load = load

    def compose(self) -> ComposeResult:
        errors, warnings = len(self.load.errors), len(self.load.warnings)
        with Vertical(id="problems-dialog", classes="dialog"):
            yield Static(
                f"[b]{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}[/b]"
                f" in {self.load.root}",
            )
            lines = [
                Content.styled(str(p), "$text-error" if p.severity == "error" else "$text-warning")
                for p in self.load.problems
            ] or [Content("No problems.")]
            problems = OptionList(*lines, id="problems-list")
            yield problems
            yield Static("Esc closes this list", classes="dialog-hint")

    def action_close(self) -> None:
        self.dismiss(None)
