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


_INLINE = re.compile(r"(\*\*[^*\n]+\*\*|`[^`\n]+`|(?<![\w*])\*(?=\w)[^*\n]*?(?<=[\w.!?)])\*(?![\w*]))")
"""Emphasis only around words (`*not*`, `*this one.*`): a value the checker quotes, such as `Accept: */*`,
keeps its asterisks."""


def inline_markdown(text: str) -> Content:
    """One paragraph of a lesson's Markdown as styled text: `code` in bold, *emphasis* in italics,
    **strong** in bold. Verdicts and hints showed the backticks and asterisks as typed."""
    parts: list[Content | tuple[str, str] | str] = []
    position = 0
    for match in _INLINE.finditer(text):
        parts.append(text[position : match.start()])
        token = match.group(0)
        if token.startswith("**"):
            parts.append((token[2:-2], "bold"))
        elif token.startswith("`"):
            parts.append((token[1:-1], "bold $text-accent"))
        else:
            parts.append((token[1:-1], "italic"))
        position = match.end()
    parts.append(text[position:])
    return Content.assemble(*parts)


def _said_in(summary: str, feedback: str) -> bool:
    words = " ".join(summary.split()).rstrip(".:!").casefold()
    return bool(words) and " ".join(feedback.split()).casefold().startswith(words)


class ResultPanel(Vertical):
    HELP: ClassVar[str] = """\
## The check's verdict
After **{check}**: on a wrong answer, the author's note for that answer, then what the check got and the
first difference. Try again as often as you like; attempts are counted.
On success: why it works, and **{next_step}** takes you to the next step.
"""

    def compose(self) -> ComposeResult:
        yield Static("", id="verdict")
        yield Markdown("", id="explanation")

    def clear(self) -> None:
        """Nothing checked in this step yet: the box goes, and so does the last step's explanation (it
        stayed in the hidden Markdown and showed for a moment when the next step passed)."""
        self.display = False
        self.remove_class("-passed", "-failed")
        self.query_one("#verdict", Static).update("")
        markdown = self.query_one("#explanation", Markdown)
        markdown.display = False
        markdown.update("")

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
            summary = "" if feedback and _said_in(result.summary, feedback) else f"  {reflow(result.summary)}"
            parts: list[Content | str | tuple[str, str]] = [("✓ Passed", "bold $text-success"), f"{summary}\n"]
            if feedback:
                parts.extend([inline_markdown(feedback), "\n"])
            parts.append((next_hint, "bold"))
            verdict.update(Content.assemble(*parts))
            markdown.display = bool(explanation.strip())
            markdown.update(explanation)
            return
        label = "⚠ The check could not run" if result.error else "✗ Not yet"
        parts = [(label, "bold $text-error"), (f"  (attempt {attempts})\n", "$text-muted")]
        parts.append(Content.assemble(inline_markdown(reflow(result.summary))).stylize_before("bold"))
        # The author's note for this mistake comes first: on a short screen the box shows about eight
        # lines, and the note says why; what was sent and got follows for those who want the detail.
        if result.feedback:
            parts.extend(["\n", inline_markdown(reflow(fill(result.feedback, result.facts)))])
        if result.expected is not None and (reveal or result.error):
            parts.extend(["\n", ("expected: ", "$text-muted"), result.expected])
        if result.got is not None:
            parts.extend(["\n", ("got:      ", "$text-muted"), result.got])
        if result.first_difference:
            parts.extend(
                ["\n", ("first difference: ", "$text-muted"), inline_markdown(reflow(result.first_difference))]
            )
        for line in result.details:
            # lines laid out by the check (what was sent, indented headers) stay as they are
            laid_out = line[:1].isspace() or "\n" in line.strip()
            parts.extend(["\n", line if laid_out else inline_markdown(line)])
        verdict.update(Content.assemble(*parts))
        markdown.display = False
