"""Which hint comes next: the one for the mistake the learner just made, then the step's own.

A declared wrong answer can carry its own `hints`. After a check that recognised it (`result.mistake`),
the next hint is the first of that answer's hints not shown yet; then the step's hints, in order. A
learner who asks without having made a known mistake gets the step's hints, as before.
"""

from __future__ import annotations

from collections.abc import Sequence

from tutor.pack.models import Step


def ladder(step: Step, mistake: int | None) -> list[str]:
    """Every hint, in the order this learner should see them."""
    own: list[str] = []
    if mistake is not None and 0 <= mistake < len(step.wrong_answers):
        own = list(step.wrong_answers[mistake].hints)
    return own + [hint for hint in step.hints if hint not in own]


def next_hint(step: Step, shown: Sequence[str], mistake: int | None) -> str | None:
    """The next hint for this learner, or None when every hint that fits has been shown."""
    return next((hint for hint in ladder(step, mistake) if hint not in shown), None)


def hints_left(step: Step, shown: Sequence[str], mistake: int | None) -> int:
    return sum(1 for hint in ladder(step, mistake) if hint not in shown)
