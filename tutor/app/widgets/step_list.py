"""The lesson's steps with the learner's status on each; choosing one makes it current."""

from __future__ import annotations

import textwrap
from typing import ClassVar

from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tutor.app.status import STYLE, SYMBOL, WORD
from tutor.pack.models import Step
from tutor.progress import NOT_STARTED, StepProgress


class StepList(OptionList):
    HELP: ClassVar[str] = """\
## Steps
The lesson's steps, each with your status: **✓ done**, **◐ started**, **○ new**, and how many
checks and hints it took. Pick any step with **↑/↓** and **Enter**; nothing is locked.
**F2** hides or shows this list (handy on a small terminal).
"""

    def show_steps(self, steps: list[Step], progress: dict[str, StepProgress], current: int) -> None:
        options = []
        for number, step in enumerate(steps, 1):
            p = progress.get(step.id)
            status = p.status if p else NOT_STARTED
            extra = ""
            if p is not None and (p.attempts or p.hints_used):
                extra = f", {p.attempts} check{'s' if p.attempts != 1 else ''}"
                if p.hints_used:
                    extra += f", {p.hints_used} hint{'s' if p.hints_used != 1 else ''}"
                if p.solution_viewed:
                    extra += ", solution seen"
            # Wrapped here, with the indent kept: the list wrapped long lines back to the left edge
            # ("◐ started, 1 check, 2" over "hints"), under the step numbers.
            width = max(self.scrollable_content_region.width, 20) if self.size.width else 27
            title = textwrap.wrap(f"{number}. {step.title}", width, subsequent_indent="   ") or [f"{number}."]
            head, _, rest = title[0].partition(" ")
            parts: list[str | tuple[str, str]] = [f"{head} ", (rest, "bold" if number - 1 == current else "")]
            for line in title[1:]:
                parts.extend(["\n", (line, "bold" if number - 1 == current else "")])
            state = f"{SYMBOL[status]} {WORD[status]}"
            parts.extend(["\n", "   ", (state, STYLE[status])])
            if extra and len("   " + state + extra) > width:  # the counts on lines of their own
                for line in textwrap.wrap(extra.lstrip(", "), width, initial_indent="     ", subsequent_indent="     "):
                    parts.extend(["\n", (line, "$text-muted")])
            elif extra:
                parts.append((extra, "$text-muted"))
            prompt = Content.assemble(*parts)
            options.append(Option(prompt, id=step.id))
        self.set_options(options)
        self.highlighted = current
