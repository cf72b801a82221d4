"""The request workbench's dialogs: two responses side by side (a cache MISS against a HIT, before and
after a write), and a name for a request to keep."""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from tutor.http.history import HistoryEntry
from tutor.http.response import DiffRow, side_by_side

MARKS = {"same": " ", "changed": "≠", "left": "-", "right": "+"}
"""Each row says how it differs in a symbol, not only in colour."""


def diff_lines(rows: list[DiffRow], width: int) -> list[Text]:
    """Rows as `mark left │ right`, each side cut to fit `width` columns in all."""
    side = max(10, (width - 5) // 2)

    def fit(text: str | None) -> str:
        if text is None:
            return " " * side
        text = text.replace("\t", "    ")
        if cell_len(text) > side:
            text = text[: side - 1] + "…"
        return text + " " * (side - cell_len(text))

    out = []
    for row in rows:
        line = Text(f"{MARKS[row.change]} ")
        style = {"same": "", "changed": "bold", "left": "dim", "right": "bold"}[row.change]
        line.append(fit(row.left), style="strike dim" if row.change == "left" else style)
        line.append(" │ ", style="dim")
        line.append(fit(row.right), style=style)
        out.append(line)
    return out


class DiffScreen(ModalScreen[None]):
    """Two responses from the history, line by line: ≠ marks a changed line, - a line only the first has,
    + a line only the second has. Headers are compared by name, so the same header lines up."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close", id="close_diff", tooltip="Back to the history"),
        Binding("c", "only_changes", "Changes only", id="diff_changes", tooltip="Show only the lines that differ"),
    ]
    DEFAULT_CSS = """
    DiffScreen #diff-dialog { width: 100%; max-width: 100%; height: 100%; max-height: 100%; padding: 0 1; }
    DiffScreen #diff-rows { height: 1fr; }
    DiffScreen .diff-title { height: auto; text-style: bold; }
    """

    def __init__(self, first: HistoryEntry, second: HistoryEntry) -> None:
        super().__init__()
        self.first, self.second = first, second
        left = first.response.lines() if first.response else ["(no response)"]
        right = second.response.lines() if second.response else ["(no response)"]
        self.rows = side_by_side(left, right)
        self.changes_only = False

    def compose(self) -> ComposeResult:
        changed = sum(1 for row in self.rows if row.change != "same")
        with Vertical(id="diff-dialog", classes="dialog"):
            yield Static(f"- {self.first.label()}\n+ {self.second.label()}", classes="diff-title")
            yield Static(
                f"{changed} line{'s' if changed != 1 else ''} differ (≠ changed, - only the first, + only the second)"
                " · c: only the changes · Esc closes",
                classes="dialog-hint",
            )
            with VerticalScroll(id="diff-rows"):
                yield Static("", id="diff-text")

    def on_mount(self) -> None:
        self._draw()
        self.query_one("#diff-rows", VerticalScroll).focus()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        rows = [r for r in self.rows if r.change != "same"] if self.changes_only else self.rows
        width = max(20, self.size.width - 4)
        self.query_one("#diff-text", Static).update(Text("\n").join(diff_lines(rows, width)))

    def action_only_changes(self) -> None:
        self.changes_only = not self.changes_only
        self._draw()

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(None)


class NameScreen(ModalScreen[str | None]):
    """A name for the request to keep (Saved tab)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="cancel_name", tooltip="Back without keeping it"),
    ]

    def __init__(self, suggestion: str) -> None:
        super().__init__()
        self.suggestion = suggestion

    def compose(self) -> ComposeResult:
        with Vertical(id="name-dialog", classes="dialog"):
            yield Static("Keep this request under a name (it is listed in the Saved tab of this lesson):")
            yield Input(self.suggestion, id="name-input")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Keep", id="name-keep", variant="primary")
                yield Button("Cancel", id="name-cancel")

    def on_mount(self) -> None:
        self.query_one("#name-input", Input).focus()

    @on(Input.Submitted, "#name-input")
    @on(Button.Pressed, "#name-keep")
    def keep(self) -> None:
        name = " ".join(self.query_one("#name-input", Input).value.split())
        if name:
            self.dismiss(name)

    @on(Button.Pressed, "#name-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
