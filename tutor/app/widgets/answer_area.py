"""Where the learner answers a concept step: choices, text or a number. Hands-on steps say where to act.

The screen sets the step (`set_check`); the widget posts `AnswerArea.Submitted` when the learner
presses Enter in a text field, and gives its value with `value()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.markup import escape
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, RadioSet, Static

from tutor.app.keys import focus_now, key_name
from tutor.app.widgets.choice_buttons import ChoiceBox, ChoiceList, ChoiceRadio
from tutor.pack.checks import CONCEPT_KINDS, iter_kinds


def answer_spec(check: Any) -> Any | None:
    """The concept check the learner answers for `check` (itself, or the first one inside an `all`)."""
    if check.kind in CONCEPT_KINDS:
        return check
    for inner in getattr(check, "checks", []) or []:
        found = answer_spec(inner)
        if found is not None:
            return found
    return None


def _label(text: str) -> str:
    """An option's words as the learner reads them: one line, without Markdown's code backticks."""
    return " ".join(text.split()).replace("`", "")


def is_hands_on(check: Any) -> bool:
    return answer_spec(check) is None or any(k not in CONCEPT_KINDS | {"all"} for k in iter_kinds(check))


class AnswerArea(Vertical):
    HELP: ClassVar[str] = """\
## Your answer
- **A list of choices**: move with **↑/↓** (or Tab), pick with **Enter** or **Space** (several can be
  picked when the task says "pick every one"). Each option shows in full, over several lines if need be.
- **A text or number field**: type, then press **Enter** to check.
- **Hands-on steps**: do it in the workbench below (or with your own tools: curl, sqlite3, a browser),
  then press **{check}** to check what you did.

**{check}** checks, **{hint}** shows the next hint, **{solution}** shows the reference solution (after one try).
"""

    @dataclass
    class Submitted(Message):
        area: AnswerArea

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec: Any | None = None
        self.hands_on = False
        self.tools: str | None = None

    @property
    def check_key(self) -> str:
        return key_name(self, "check")

    def compose(self) -> ComposeResult:
        yield Static("", id="answer-prompt")

    def set_tools(self, tools: str | None) -> None:
        """Where the learner's own tools reach the sandboxes (the API's URL, the database's path)."""
        self.tools = tools
        if self.hands_on:
            self.query_one("#answer-prompt", Static).update(self._hands_on_prompt())

    def _hands_on_prompt(self) -> str:
        where = f" or with {escape(self.tools)}" if self.tools else ""
        return f"Do it in the workbench below{where}, then press [b]{self.check_key}[/b] to check."

    async def set_check(self, check: Any) -> None:
        self.spec = answer_spec(check)
        self.hands_on = self.spec is None
        await self.remove_children(".answer-input")
        prompt = self.query_one("#answer-prompt", Static)
        spec = self.spec
        if spec is None:
            prompt.update(self._hands_on_prompt())
            return
        hands_on_too = any(k not in CONCEPT_KINDS | {"all"} for k in iter_kinds(check))
        suffix = " (after doing the hands-on part)" if hands_on_too else ""
        if spec.kind == "choice" and spec.multiple:
            prompt.update(
                f"Pick every one that applies (↑/↓ to move, Space to tick), then press [b]{self.check_key}[/b]{suffix}."
            )
            await self.mount(
                ChoiceList(
                    *[ChoiceBox(Content(_label(o.text)), name=o.id) for o in spec.options],
                    id="answer-choices",
                    classes="answer-input",
                )
            )
        elif spec.kind == "choice":
            prompt.update(f"Pick one (Enter or Space), then press [b]{self.check_key}[/b]{suffix}.")
            await self.mount(
                RadioSet(
                    *[ChoiceRadio(Content(_label(o.text)), name=o.id) for o in spec.options],
                    id="answer-choice",
                    classes="answer-input",
                )
            )
        elif spec.kind == "number":
            prompt.update(f"Type a number, then press [b]Enter[/b] or [b]{self.check_key}[/b]{suffix}.")
            unit = getattr(spec, "unit", None)
            row = Horizontal(classes="answer-input answer-row")
            await self.mount(row)
            await row.mount(Input(placeholder="a number", id="answer-text", classes="answer-number"))
            if unit:
                await row.mount(Label(unit, classes="answer-unit"))
        else:
            prompt.update(f"Type your answer, then press [b]Enter[/b] or [b]{self.check_key}[/b]{suffix}.")
            await self.mount(Input(placeholder="your answer", id="answer-text", classes="answer-input"))

    def has_input(self) -> bool:
        return bool(self.query(".answer-input"))

    def focus_input(self) -> None:
        for widget in self.query(".answer-input, #answer-text"):
            if widget.focusable:
                self._focus(widget)
                return
            inner = [w for w in widget.query("*") if w.focusable]  # a list of checkboxes: the first one
            if inner:
                self._focus(inner[0])
                return
        inputs = self.query(Input)
        if inputs:
            self._focus(inputs.first())

    @staticmethod
    def _focus(widget: Widget) -> None:
        """Focus without Textual's animated scroll to centre: a step opening scrolled the reading text by
        animation, and at 80x24 a frame of it sometimes stayed on screen (a task line drawn twice where
        the answer's prompt belongs, until the next full repaint). The answer is scrolled into view at
        once instead."""
        focus_now(widget, scroll_visible=False)
        widget.scroll_visible(animate=False)

    def value(self) -> Any | None:
        """The answer as the check engine takes it: an option id, a list of ids, or the typed text."""
        spec = self.spec
        if spec is None:
            return None
        if spec.kind == "choice" and spec.multiple:
            return [box.name for box in self.query_one("#answer-choices").query(ChoiceBox) if box.value and box.name]
        if spec.kind == "choice":
            radios = self.query_one("#answer-choice", RadioSet)
            # Enter or Space turns a button on at once; the set turns the one it replaces off (and takes
            # the new one as pressed) only when that news reaches it. A check typed right behind the key
            # (a fast typist, a paste, tmux send-keys) comes in between: the one just turned on is the answer.
            fresh = [
                button for button in radios.query(ChoiceRadio) if button.value and button is not radios.pressed_button
            ]
            pressed = fresh[-1] if fresh else radios.pressed_button
            return pressed.name if pressed is not None else None
        text = self.query_one("#answer-text", Input).value.strip()
        return text or None

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(self))
