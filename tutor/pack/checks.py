"""The `check` of a step: one of the check kinds, told apart by `kind`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from tutor.pack.base import Model
from tutor.pack.specs_code import CodeHttpCheck, CodeTestsCheck
from tutor.pack.specs_concept import ChoiceCheck, NumberCheck, TextCheck
from tutor.pack.specs_http import HttpFlowCheck, HttpProbeCheck, HttpTrafficCheck, HttpValueCheck
from tutor.pack.specs_own_tests import CodeOwnTestsCheck
from tutor.pack.specs_sql import (
    SqlCostCheck,
    SqlPlanCheck,
    SqlProbeCheck,
    SqlRanCheck,
    SqlReplayCheck,
    SqlResultCheck,
    SqlSchemaCheck,
    SqlStateCheck,
)


class AllCheck(Model):
    """Passes when every one of `checks` passes; the first failure explains."""

    kind: Literal["all"]
    checks: list[CheckSpec] = Field(min_length=1)


CheckSpec = Annotated[
    ChoiceCheck
    | TextCheck
    | NumberCheck
    | SqlResultCheck
    | SqlPlanCheck
    | SqlSchemaCheck
    | SqlStateCheck
    | SqlCostCheck
    | SqlRanCheck
    | SqlProbeCheck
    | SqlReplayCheck
    | HttpTrafficCheck
    | HttpProbeCheck
    | HttpValueCheck
    | HttpFlowCheck
    | CodeHttpCheck
    | CodeTestsCheck
    | CodeOwnTestsCheck
    | AllCheck,
    Field(discriminator="kind"),
]
AllCheck.model_rebuild()

CONCEPT_KINDS = frozenset({"choice", "text", "number", "http_value"})
"""Kinds the learner answers by typing or picking (http_value reads the sandbox, but the answer is typed)."""
SQL_KINDS = frozenset(
    {"sql_result", "sql_plan", "sql_schema", "sql_state", "sql_cost", "sql_ran", "sql_probe", "sql_replay"}
)
HTTP_KINDS = frozenset({"http_traffic", "http_probe", "http_value", "http_flow"})
CODE_KINDS = frozenset({"code_http", "code_tests", "code_own_tests"})
"""Kinds that run the learner's own code (a build-it lesson, with `build:`)."""


def iter_kinds(check: CheckSpec) -> list[str]:
    """Every kind used by `check`, `all` included, depth first."""
    kinds: list[str] = [check.kind]
    if isinstance(check, AllCheck):
        for inner in check.checks:
            kinds.extend(iter_kinds(inner))
    return kinds
