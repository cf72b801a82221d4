"""Check kinds for concept steps: the learner picks, types or computes an answer."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from tutor.pack.base import Model, NonEmpty


class ChoiceOption(Model):
    id: NonEmpty = Field(description="What a solution or wrong answer names: 'a', 'scan', ...")
    text: NonEmpty = Field(description="The option as the learner reads it (Markdown).")
    why: str | None = Field(
        default=None, description="Shown when the learner picks this option: why it is right or wrong."
    )


class ChoiceCheck(Model):
    """Single or multiple choice. With `multiple: true` the learner must pick exactly the `correct` set."""

    kind: Literal["choice"]
    options: list[ChoiceOption] = Field(min_length=2)
    correct: NonEmpty | list[NonEmpty] = Field(description="The id of the right option, or a list of ids.")
    multiple: bool = False

    @property
    def correct_ids(self) -> frozenset[str]:
        return frozenset([self.correct] if isinstance(self.correct, str) else self.correct)

    @model_validator(mode="after")
    def _check(self) -> ChoiceCheck:
        ids = [option.id for option in self.options]
        seen: set[str] = set()
        for option_id in ids:
            if option_id in seen:
                raise ValueError(f"option id '{option_id}' is used twice")
            seen.add(option_id)
        unknown = sorted(self.correct_ids - seen)
        if unknown:
            raise ValueError(f"`correct` names no option: {', '.join(unknown)} (options: {', '.join(ids)})")
        if not self.multiple and len(self.correct_ids) != 1:
            raise ValueError("a single-choice check has exactly one correct option (or set `multiple: true`)")
        return self


class TextCheck(Model):
    """Free text. Accepted when it equals one of `accept` after normalising, or fully matches `pattern`."""

    kind: Literal["text"]
    accept: list[NonEmpty] = Field(default_factory=list)
    pattern: str | None = Field(default=None, description="A Python regular expression the whole answer matches.")
    case_sensitive: bool = False
    normalize_whitespace: bool = Field(
        default=True, description="Trim the answer and fold runs of white space into one space."
    )
    ignore_trailing_punctuation: bool = Field(default=True, description="A trailing '.', ';' or '!' does not count.")

    @model_validator(mode="after")
    def _check(self) -> TextCheck:
        if not self.accept and self.pattern is None:
            raise ValueError("give `accept` (a list of answers) or `pattern` (a regular expression)")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"`pattern` is not a valid regular expression: {exc}") from None
        return self


class NumberCheck(Model):
    """A number, right when within `tolerance` (absolute) or `relative_tolerance` (a fraction) of `value`."""

    kind: Literal["number"]
    value: float
    tolerance: float = Field(default=0.0, ge=0)
    relative_tolerance: float = Field(default=0.0, ge=0, le=1)
    unit: str | None = Field(default=None, description="Shown next to the input: 'ms', 'rows', ...")
