"""Which hints a learner has seen, kept per lesson so that reopening a step shows the same ones. No Textual.

The progress store counts the hints of a step (`hints_used`); which ones they were depends on the mistakes
made before each (tutor.checks.hints: a recognised wrong answer's own hints come first). The texts are
kept beside the lesson's SQL drafts:

    seen = HintsSeen(folder); seen.save("step-1", ["Read the index's columns in order."])
    restore(step, hints_used=1, saved=seen.get("step-1"))    # ["Read the index's columns in order."]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from tutor.files import write_atomic

if TYPE_CHECKING:
    from tutor.pack.models import Step


def every_hint(step: Step) -> list[str]:
    """The step's hints, then each declared wrong answer's own, once each."""
    texts: list[str] = []
    for text in [*step.hints, *(hint for wrong in step.wrong_answers for hint in wrong.hints)]:
        if text not in texts:
            texts.append(text)
    return texts


def restore(step: Step, hints_used: int, saved: list[str] | None) -> list[str]:
    """The `hints_used` hints to show again, in the order first shown: the saved texts that the step
    still has, then (a lesson file that changed its hints, a file that was lost) the step's own in order."""
    known = every_hint(step)
    shown = [text for text in (saved or []) if text in known][:hints_used]
    for text in known:
        if len(shown) >= hints_used:
            break
        if text not in shown:
            shown.append(text)
    return shown


class HintsSeen:
    FILE = "hints-seen.json"

    def __init__(self, folder: Path) -> None:
        self.path = folder / self.FILE

    def all(self) -> dict[str, list[str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {
            key: [text for text in value if isinstance(text, str)]
            for key, value in data.items()
            if isinstance(key, str) and isinstance(value, list)
        }

    def get(self, step_id: str) -> list[str]:
        return self.all().get(step_id, [])

    def save(self, step_id: str, texts: list[str]) -> None:
        """The hints now shown for the step, in order (the whole list: a step started afresh starts it anew)."""
        seen = self.all()
        if seen.get(step_id) == texts:
            return
        seen[step_id] = list(texts)
        write_atomic(self.path, json.dumps(seen, indent=2, ensure_ascii=False) + "\n")
