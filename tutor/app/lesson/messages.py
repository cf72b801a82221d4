"""Messages the lesson screen's parts post to it from their workers (attributes down, messages up)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from tutor.checks.base import CheckResult
from tutor.progress import StepProgress

if TYPE_CHECKING:
    from tutor.pack.loader import Pack
    from tutor.pack.models import Lesson
    from tutor.session import Session


@dataclass
class LessonLoaded(Message):
    lesson: Lesson
    pack: Pack
    session: Session
    progress: dict[str, StepProgress]


@dataclass
class LessonUnavailable(Message):
    reason: str


@dataclass
class SessionStarted(Message):
    session: Session


@dataclass
class SessionFailed(Message):
    reason: str


@dataclass
class CheckDone(Message):
    step_id: str
    result: CheckResult
    progress: StepProgress | None


class FilesSaved(Message):
    """The learner saved files in a build-it workspace (from the watcher thread)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = names


@dataclass
class ProgressSaved(Message):
    progress: StepProgress


class TakeKeys(Message):
    """Posted by the lesson screen to itself once its editor exists: handled after every key already
    queued for the screen (kept as typed), so the editor takes the focus with them in order."""
