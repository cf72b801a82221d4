"""`code_own_tests`: the learner writes the tests; the pack brings a right app and apps with one bug each.

The learner's pytest files (a glob in their workspace) must pass against the lesson's reference app and
fail, by an assertion, against each bugged app: a test that fails on a correct app is wrong, and a suite
that passes on a bug is too weak to catch it.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from tutor.pack.actions import HttpMethod
from tutor.pack.base import Model, NonEmpty, PackPath


class OwnTestsBug(Model):
    """An app with one bug the learner's tests must catch: a folder laid over the reference app."""

    files: PackPath = Field(description="A folder in the pack: its files are laid over the reference's.")
    description: NonEmpty = Field(
        description="The bug in the learner's words, finishing the sentence 'Your tests still pass when ...': "
        "`an unknown book answers 200 instead of 404`."
    )
    path: str | None = Field(
        default=None,
        pattern=r"^/",
        description="The path the bug is on, with `{name}` for a path parameter (`/books/{id}`): the test that "
        "fails must have sent a request to it (through TestClient or httpx's ASGITransport). Without it, "
        "any test that fails by an assertion catches the bug.",
    )
    method: HttpMethod | None = Field(default=None, description="With `path`: the request's method too.")


class CodeOwnTestsCheck(Model):
    """Runs the learner's own pytest files against the lesson's reference app (they must pass, in the order
    written and reversed) and against each of `bugs` (a test must fail by an assertion on each)."""

    kind: Literal["code_own_tests"]
    tests: NonEmpty = Field(
        default="tests/test_*.py",
        description="Which of the learner's files are their tests: a glob in the workspace, '/'-separated.",
    )
    reference: PackPath = Field(description="A folder laid over the learner's workspace: the right app.")
    bugs: list[OwnTestsBug] = Field(min_length=1, description="Apps with one bug each the tests must catch.")
    min_tests: int = Field(default=1, ge=1, le=100, description="At least this many tests must run and pass.")
    reverse_order: bool = Field(
        default=True,
        description="Also run the tests in reverse order against the reference: tests that lean on what an "
        "earlier test left behind (one shared database) fail there.",
    )
    keep_database: bool = Field(
        default=True,
        description="The run must leave the database in BACKEND_TUTOR_DB as it found it: each test works on a "
        "copy of its own (a fixture with tmp_path).",
    )
    timeout: float = Field(default=30, gt=0, le=120, description="Seconds before one run of the tests is stopped.")

    @field_validator("tests")
    @classmethod
    def _glob(cls, value: str) -> str:
        if value.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", value) or ".." in value.split("/"):
            raise ValueError("`tests` is a glob inside the learner's workspace: no absolute path, no '..'")
        if not value.endswith(".py"):
            raise ValueError("`tests` must match Python files: end it with .py (tests/test_*.py)")
        return value
