"""How a status is shown: a symbol AND a word (never colour alone), plus a style class for colour."""

from __future__ import annotations

from tutor.progress import IN_PROGRESS, NOT_STARTED, PASSED

SYMBOL = {PASSED: "✓", IN_PROGRESS: "◐", NOT_STARTED: "○", "broken": "✗"}
WORD = {PASSED: "done", IN_PROGRESS: "started", NOT_STARTED: "new", "broken": "has errors"}
STYLE = {PASSED: "$text-success", IN_PROGRESS: "$text-warning", NOT_STARTED: "$text-muted", "broken": "$text-error"}


def badge(status: str, width: int = 8) -> str:
    """'✓ done    ' padded to `width` characters after the symbol, and always at least one space after
    the word (so 'has errors' does not run into the title after it)."""
    return f"{SYMBOL[status]} {WORD[status]:<{width}} "
