"""What the last check said: on failure what differed (expected vs got); on success the why."""

from __future__ import annotations

import re
from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Markdown, Static

from tutor.checks.base import CheckResult


def reflow(text: str) -> str:
    """Join the hard-wrapped lines of a YAML block into paragraphs (lists and blank lines stay)."""
    return re.sub(r"(?<=\S)\n(?![\n\s]*[-*+]\s|\s*\d+[.)]\s|\n)", " ", text.strip())


def _said_in(summary: str, feedback: str) -> bool:
    words = " ".join(summary.split()).rstrip(".:!").casefold()
    return bool(words) and " ".join(feedback.split()).casefold().startswith(words)


class ResultPanel(Vertical):
    HELP: ClassVar[str] = """\
## The check's verdict
After **F5**: on a wrong answer, what the check expected, what it got and the first difference,
plus the author's note for that answer. Try again as often as you like; attempts are counted.
On success: why it works, and **F8** takes you to the next step.
"""

    def compose(self) -> ComposeResult:
        yield Static("", id="verdict")
        yield Markdown("", id="explanation")

    def clear(self) -> None:
        self.display = False
        self.remove_class("-passed", "-failed")

    def show_result(
        self, result: CheckResult, attempts: int, explanation: str, next_hint: str, *, reveal: bool = False
    ) -> None:
        """`reveal`: the learner asked for the solution, so the check's "expected" line may show; before
        that it would hand over the exact answer (the first difference and the author's note teach)."""
        from tutor.checks.facts import fill

        self.display = True
        if not result.passed and not reveal and not result.error:
            result = result.redacted()
        explanation = fill(explanation, result.facts)
        self.set_class(result.passed, "-passed")
        self.set_class(not result.passed, "-failed")
        verdict = self.query_one("#verdict", Static)
        markdown = self.query_one("#explanation", Markdown)
        if result.passed:
            feedback = reflow(fill(result.feedback, result.facts)) if result.feedback else ""
            # "Right." as the summary and "Right. 503 in particular..." as the feedback: say it once
            summary = "" if feedback and _said_in(result.summary, feedback) else f"  {result.summary}"
            parts: list[Content | str | tuple[str, str]] = [("✓ Passed", "bold $text-success"), f"{summary}\n"]
            if feedback:
                parts.append(feedback + "\n")
            parts.append((next_hint, "bold"))
            verdict.update(Content.assemble(*parts))
            markdown.display = bool(explanation.strip())
            markdown.update(explanation)
            return
        label = "⚠ The check could not run" if result.error else "✗ Not yet"
        parts = [(label, "bold $text-error"), (f"  (attempt {attempts})\n", "$text-muted"), (result.summary, "bold")]
        if result.expected is not None and (reveal or result.error):
            parts.extend(["\n", ("expected: ", "$text-muted"), result.expected])
        if result.got is not None:
            parts.extend(["\n", ("got:      ", "$text-muted"), result.got])
        if result.first_difference:
            parts.extend(["\n", ("first difference: ", "$text-muted"), result.first_difference])
        for line in result.details:
            parts.extend(["\n", line])
        if result.feedback:
            parts.extend(["\n\n", reflow(fill(result.feedback, result.facts))])
        verdict.update(Content.assemble(*parts))
        markdown.display = False
