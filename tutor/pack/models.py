"""The lesson-pack format: `pack.yaml` and one YAML file per lesson, in a folder per track.

These pydantic models are the single source of the format: the loader validates with them and
`backend-tutor pack schema` generates the JSON Schema editors use from them. See docs/pack-format.md.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from tutor.pack.actions import Action, Alternative, WrongAnswer
from tutor.pack.base import Markdown, Model, NonEmpty, Slug
from tutor.pack.checks import CheckSpec
from tutor.pack.sandbox_api import ApiSettings
from tutor.pack.sandbox_sql import SqlSettings
from tutor.pack.specs_code import BuildSettings

FORMAT_VERSION = 1
NOTES_DESCRIPTION = "For instructors: shown by `pack info` and `pack test`, never to learners."
VERSION_PATTERN = r"^\d+(\.\d+){0,2}([-+.][0-9A-Za-z.-]+)?$"


class Author(Model):
    name: NonEmpty
    email: str | None = None
    url: str | None = None


class Track(Model):
    id: Slug = Field(description="Also the name of the folder that holds this track's lesson files.")
    title: NonEmpty
    description: Markdown = ""


class PackManifest(Model):
    """`pack.yaml`, at the root of the pack folder."""

    format: Literal[1] = Field(default=1, description="The pack format version this file is written for.")
    id: Slug = Field(description="Progress is kept per pack id: keep it stable across versions.")
    title: NonEmpty
    version: str = Field(pattern=VERSION_PATTERN, description="The pack's own version: 1.2.0")
    description: Markdown = ""
    authors: list[Author] = Field(default_factory=list)
    min_tutor_version: str = Field(
        default="0.1.0", pattern=VERSION_PATTERN, description="The oldest backend-tutor that can run this pack."
    )
    tracks: list[Track] = Field(min_length=1, description="Tracks in the order the course map shows them.")
    renamed: dict[Slug, Slug] = Field(
        default_factory=dict,
        description="Lesson ids renamed since an earlier version, old id -> new id: learners' progress follows.",
    )


class Sandboxes(Model):
    sql: SqlSettings | None = None
    api: ApiSettings | None = None


class Step(Model):
    id: Slug
    title: NonEmpty
    text: Markdown = Field(description="What the learner reads first.")
    task: Markdown | None = Field(default=None, description="What to do, in a sentence or two.")
    check: CheckSpec
    hints: list[NonEmpty] = Field(default_factory=list, description="Revealed one at a time, in this order.")
    solution: Action = Field(description="A reference solution: `pack test` proves the check accepts it.")
    wrong_answers: list[WrongAnswer] = Field(
        default_factory=list, description="Answers the check must reject: `pack test` proves it does."
    )
    alternatives: list[Alternative] = Field(
        default_factory=list,
        description="Other right answers, often better than the reference (a covering index, a stricter "
        "header): `pack test` proves the check accepts each of them too.",
    )
    explanation: Markdown = Field(default="", description="Shown after the step is passed: the why.")
    notes: Markdown = Field(default="", description=NOTES_DESCRIPTION)
    points: float = Field(
        default=1,
        ge=0,
        le=1000,
        description="What passing this step is worth in a grade: `check --junit`, `progress verify` and "
        "`progress merge --points` add these up.",
    )


class Lesson(Model):
    id: Slug = Field(description="Unique in the pack; progress is kept by it.")
    title: NonEmpty
    track: Slug = Field(description="The id of a track in pack.yaml; the file lives in that track's folder.")
    summary: Markdown = ""
    objectives: list[NonEmpty] = Field(default_factory=list)
    minutes: int | None = Field(default=None, ge=1, le=600, description="Estimated minutes to finish.")
    prerequisites: list[Slug] = Field(
        default_factory=list, description="Lesson ids best done first (advice; nothing is locked)."
    )
    sandboxes: Sandboxes = Field(default_factory=Sandboxes)
    build: BuildSettings | None = Field(
        default=None,
        description="A build-it lesson: the learner writes code in a workspace folder, in their own editor.",
    )
    steps: list[Step] = Field(min_length=1)
    notes: Markdown = Field(default="", description=NOTES_DESCRIPTION)
    renamed: dict[Slug, Slug] = Field(
        default_factory=dict,
        description="Step ids renamed since an earlier version, old id -> new id: learners' progress follows.",
    )

    @field_validator("prerequisites")
    @classmethod
    def _no_repeats(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a prerequisite is listed twice")
        return value


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version.split("-")[0].split("+")[0])[:3])
