"""A response as text the learner can read, select and search: the headers, a blank line, the body, with
JSON and header names highlighted, and `/` to find text in it.

Highlighting is done line by line through `TextArea.get_line` (Textual's hook for styling a line), not
with tree-sitter: tree-sitter-json 0.24.8 under tree-sitter 0.26.1 corrupts the heap when Textual 8.2.8
loads it (a TextArea with language="json" segfaults in pymalloc a moment later; gdb shows it, and the same
TextArea with sql, python, toml or yaml does not). Styles are component classes, so every theme (and
NO_COLOR) applies; highlighting carries no meaning the words don't.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static, TextArea
from textual.widgets.text_area import Selection

from tutor.app.keys import focus_now
from tutor.keymap import keys

_JSON_KEY = re.compile(r'^(\s*)("(?:[^"\\]|\\.)*")(\s*:)')
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.])")
_JSON_LITERAL = re.compile(r"\b(?:true|false|null)\b")
_HEADER = re.compile(r"^([A-Za-z0-9!#$%&'*+.^_`|~-]+)(:)")


class HighlightedText(TextArea):
    """Read-only text with a response's highlighting and the current search's matches marked."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "response--header",
        "response--key",
        "response--string",
        "response--number",
        "response--literal",
        "response--match",
    }
    DEFAULT_CSS = """
    HighlightedText > .response--header { color: $text-accent; text-style: bold; }
    HighlightedText > .response--key { color: $text-accent; }
    HighlightedText > .response--string { color: $text-success; }
    HighlightedText > .response--number { color: $text-warning; }
    HighlightedText > .response--literal { color: $text-warning; text-style: italic; }
    HighlightedText > .response--match { text-style: reverse bold; }
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.json_body = False
        self.search_text = ""
        self._head_lines = 0  # lines before the blank line that ends the headers

    def show(self, text: str, *, json_body: bool, has_headers: bool = True) -> None:
        self.json_body = json_body
        lines = text.split("\n")
        self._head_lines = (lines.index("") if "" in lines else len(lines)) if has_headers else 0
        self.text = text

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"response--{name}", partial=True)

    def get_line(self, line_index: int) -> Text:
        line = super().get_line(line_index)
        plain = line.plain
        if line_index < self._head_lines:
            match = _HEADER.match(plain)
            if match:
                line.stylize(self._style("header"), 0, match.end(1))
        elif self.json_body:
            key = _JSON_KEY.match(plain)
            rest_from = 0
            if key:
                line.stylize(self._style("key"), key.start(2), key.end(2))
                rest_from = key.end()
            for found in _JSON_STRING.finditer(plain, rest_from):
                line.stylize(self._style("string"), found.start(), found.end())
            outside = _JSON_STRING.sub(lambda m: " " * len(m.group(0)), plain)
            for found in _JSON_NUMBER.finditer(outside, rest_from):
                line.stylize(self._style("number"), found.start(), found.end())
            for found in _JSON_LITERAL.finditer(outside, rest_from):
                line.stylize(self._style("literal"), found.start(), found.end())
        if self.search_text:
            wanted = self.search_text.casefold()
            folded = plain.casefold()
            start = folded.find(wanted)
            while start != -1:
                line.stylize(self._style("match"), start, start + len(wanted))
                start = folded.find(wanted, start + len(wanted))
        return line


class ResponseView(Vertical):
    """The response text, and a search box that `/` opens: Enter finds the next match, Shift+Enter the one
    before, Esc closes it and leaves the match selected."""

    HELP: ClassVar[str] = """\
## The response
The headers the server sent, a blank line, then the body (JSON indented). **{workbench.search}** searches it:
type, **Enter** for the next match, **Shift+Enter** the one before, **Esc** to close the search. Select
with Shift+arrows and copy with Ctrl+C.
"""
    DEFAULT_CSS = """
    ResponseView { height: 1fr; }
    ResponseView #response-text { height: 1fr; }
    ResponseView #response-search { height: 1; display: none; }
    ResponseView #response-search.-open { display: block; }
    ResponseView #response-found { height: 1; color: $text-muted; display: none; padding: 0 1; }
    ResponseView #response-found.-open { display: block; }
    """
    BINDINGS: ClassVar[list[Any]] = [
        Binding(keys("workbench.search"), "search", "Search", id="workbench.search", tooltip="Search in the response"),
    ]

    @dataclass
    class Searched(Message):
        """A search ran: what was looked for, how many matches, which one is selected (1-based; 0: none)."""

        view: ResponseView
        text: str
        matches: int
        current: int

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.matches: list[tuple[int, int]] = []  # (start, end) offsets
        self.current = -1

    def compose(self) -> ComposeResult:
        area = HighlightedText("", id="response-text", read_only=True, show_line_numbers=False, soft_wrap=True)
        area.compact = True
        yield area
        yield Input(placeholder="find in the response (Enter: next, Esc: close)", id="response-search", compact=True)
        yield Static("", id="response-found")

    @property
    def area(self) -> HighlightedText:
        return self.query_one("#response-text", HighlightedText)

    @property
    def text(self) -> str:
        return self.area.text

    def show(self, text: str, *, json_body: bool, has_headers: bool = True) -> None:
        self.area.show(text, json_body=json_body, has_headers=has_headers)
        if self.area.search_text:
            self._find(self.area.search_text, 0)

    def focus(self, scroll_visible: bool = True) -> ResponseView:
        focus_now(self.area, scroll_visible=scroll_visible)
        return self

    def action_search(self) -> None:
        box = self.query_one("#response-search", Input)
        box.add_class("-open")
        self.query_one("#response-found").add_class("-open")
        box.value = self.area.search_text
        focus_now(box)

    @on(Input.Changed, "#response-search")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        self._find(event.value, 0)

    @on(Input.Submitted, "#response-search")
    def _next(self, event: Input.Submitted) -> None:
        event.stop()
        self.step(1)

    def step(self, direction: int) -> None:
        if not self.matches:
            return
        self._select((self.current + direction) % len(self.matches))

    def on_key(self, event: Any) -> None:
        box = self.query_one("#response-search", Input)
        if self.app.focused is not box:
            return
        if event.key == "escape":
            event.stop()
            event.prevent_default()
            self.close_search()
        elif event.key == "shift+enter":
            event.stop()
            event.prevent_default()
            self.step(-1)

    def close_search(self) -> None:
        self.query_one("#response-search").remove_class("-open")
        self.query_one("#response-found").remove_class("-open")
        focus_now(self.area)

    def _find(self, text: str, start_at: int) -> None:
        area = self.area
        area.search_text = text
        self.matches = []
        if text:
            folded, wanted = area.text.casefold(), text.casefold()
            position = folded.find(wanted)
            while position != -1:
                self.matches.append((position, position + len(wanted)))
                position = folded.find(wanted, position + len(wanted))
        area.refresh()
        if self.matches:
            self._select(min(start_at, len(self.matches) - 1))
        else:
            self.current = -1
            found = "no match" if text else ""
            self.query_one("#response-found", Static).update(found)
            self.post_message(self.Searched(self, text, 0, 0))

    def _select(self, index: int) -> None:
        self.current = index
        start, end = self.matches[index]
        area = self.area
        document = area.document
        area.selection = Selection(document.get_location_from_index(start), document.get_location_from_index(end))  # type: ignore[attr-defined]
        area.scroll_cursor_visible(center=True, animate=False)
        self.query_one("#response-found", Static).update(f"match {index + 1} of {len(self.matches)}")
        self.post_message(self.Searched(self, area.search_text, len(self.matches), index + 1))
