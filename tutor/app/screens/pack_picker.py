"""The pack picker: shown before the course map when more than one pack is installed.

It is a small app of its own (`PackPickerApp`), run before the tutor, so the tutor itself always
opens on one pack. Keys: Up/Down (or j/k) move, Enter opens, Esc or q quits. A pack that runs Python
code is marked in words, not colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option


@dataclass(frozen=True)
class PackChoice:
    id: str
    title: str
    version: str
    source: str
    root: Path
    runs_code: bool = False

    def label(self, highlighted: bool = False) -> str:
        flag = "  ! runs Python code from its author" if self.runs_code else ""
        mark = "▶ " if highlighted else "  "
        return f"{mark}{self.title}\n    {self.id} {self.version} · {self.source}{flag}"


class PackPickerScreen(Screen[Path | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", id="picker_open", tooltip="Open the highlighted pack"),
        Binding("j", "cursor_down", "Down", show=False, id="picker_down"),
        Binding("k", "cursor_up", "Up", show=False, id="picker_up"),
        Binding("escape,q", "quit_picker", "Quit", id="picker_quit", tooltip="Leave without opening a pack"),
    ]
    DEFAULT_CSS = """
    PackPickerScreen { align: center middle; }
    #picker { width: 90%; max-width: 90; height: auto; max-height: 90%; border: round $accent; padding: 0 1; }
    #picker-title { text-style: bold; padding: 0 0 1 0; }
    #picker-list { height: auto; max-height: 20; }
    #picker-hint { color: $text-muted; padding: 1 0 0 0; }
    """

    def __init__(self, choices: list[PackChoice]) -> None:
        super().__init__()
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Static("Which course do you want to open?", id="picker-title")
            yield OptionList(*[Option(c.label(), id=str(i)) for i, c in enumerate(self.choices)], id="picker-list")
            yield Static("↑↓ choose · Enter open · Esc quit", id="picker-hint")
        yield Footer()

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        """Mark the highlighted pack with '▶' too: the highlight must not be colour alone."""
        options = event.option_list
        for index, choice in enumerate(self.choices):
            options.replace_option_prompt_at_index(index, choice.label(index == event.option_index))

    def action_cursor_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def action_open(self) -> None:
        index = self.query_one(OptionList).highlighted
        if index is not None:
            self.dismiss(self.choices[index].root)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.choices[event.option_index].root)

    def action_quit_picker(self) -> None:
        self.dismiss(None)


class PackPickerApp(App[Path | None]):
    """Runs the picker alone; `run()` returns the chosen pack's folder, or None to quit."""

    TITLE = "backend-tutor"

    def __init__(self, choices: list[PackChoice]) -> None:
        super().__init__()
        self.choices = choices

    def on_mount(self) -> None:
        self.push_screen(PackPickerScreen(self.choices), callback=self.exit)
