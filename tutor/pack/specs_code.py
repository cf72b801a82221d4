"""Build-it steps: the learner writes real code in their own editor; these check kinds run it.

A lesson with `build:` gives the learner starter files in a workspace folder. Its steps' checks start the
learner's app in a child process and probe it over HTTP (`code_http`), or run the pack's pytest file
against the learner's module (`code_tests`). Solutions and wrong answers of such steps are `files:`,
a folder in the pack whose files are laid over the starter files before the check, as if the learner had
written them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from tutor.pack.actions import HttpRequest
from tutor.pack.base import Model, NonEmpty, PackPath
from tutor.pack.specs_http import ResponseExpect


class BuildSettings(Model):
    """The learner's workspace for a build-it lesson."""

    starter: PackPath = Field(
        description="A folder in the pack: its files are copied into the learner's workspace when the lesson "
        "first opens, and never overwritten once the learner edits them."
    )
    module: NonEmpty = Field(
        default="app",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$",
        description="The module that holds the ASGI application, as a top-level name `app` "
        "(FastAPI or Starlette): `app` means app.py in the workspace.",
    )
    open: NonEmpty = Field(default="app.py", description="The file the editor opens first, relative to the workspace.")
    database: bool = Field(
        default=True,
        description="Give the learner's app a fresh copy of the lesson's SQL database for every check; "
        "its path is in the environment variable BACKEND_TUTOR_DB.",
    )
    watch: list[NonEmpty] = Field(
        default_factory=list,
        description="Which saves start a check: globs matched against '/'-separated paths in the workspace "
        "(`*.py`, `templates/*.html`). Default: the starter's files and every `.py` file. A file that "
        "changes while the learner's app runs (a log, a SQLite file) never starts one.",
    )


class CodeProbeStep(Model):
    request: HttpRequest
    expect: ResponseExpect = Field(default_factory=ResponseExpect)
    save: dict[str, str] = Field(
        default_factory=dict,
        description="Values to carry to later requests: name -> 'json:PATH', 'header:NAME' or 'status'.",
    )
    max_sql_statements: int | None = Field(
        default=None, ge=0, description="At most this many SQL statements while answering this request."
    )
    no_full_scan: bool | list[str] = Field(
        default=False,
        description="true: no statement of this request reads a whole table; or a list of tables that must "
        "not be read whole.",
    )


class CodeHttpCheck(Model):
    """Starts the learner's app (a fresh copy of the lesson database behind it) and sends it these requests,
    in order, asserting on each response and on the SQL each one ran."""

    kind: Literal["code_http"]
    steps: list[CodeProbeStep] = Field(min_length=1)


class CodeTestsCheck(Model):
    """Runs the pack's pytest file against the learner's module; the first failing test is explained with
    its docstring and its assertion."""

    kind: Literal["code_tests"]
    tests: PackPath = Field(
        description="A pytest file in the pack. Its test functions' docstrings are "
        "what a learner reads when that test fails: write them as plain sentences."
    )
    timeout: float = Field(default=30, gt=0, le=120, description="Seconds before the run is stopped.")

    @model_validator(mode="after")
    def _python(self) -> CodeTestsCheck:
        if not self.tests.endswith(".py"):
            raise ValueError("`tests` must be a Python file (.py)")
        return self
