"""The check engine: one module per check kind, found through a registry, imported only when used.

from tutor.checks import evaluate
result = evaluate(step.check, CheckContext(answer="409"))
"""

from __future__ import annotations

import importlib
from typing import Any

from tutor.checks.base import CheckContext, CheckFunction, CheckResult, CheckUnavailable

__all__ = ["KIND_MODULES", "CheckContext", "CheckResult", "evaluate", "register"]

# kind -> module that registers it. A test proves this covers every kind of the pack format.
KIND_MODULES: dict[str, str] = {
    "choice": "tutor.checks.choice",
    "text": "tutor.checks.text",
    "number": "tutor.checks.number",
    "all": "tutor.checks.all",
    "sql_result": "tutor.checks.sql_result",
    "sql_plan": "tutor.checks.sql_plan",
    "sql_schema": "tutor.checks.sql_schema",
    "sql_state": "tutor.checks.sql_state",
    "sql_cost": "tutor.checks.sql_cost",
    "sql_ran": "tutor.checks.sql_ran",
    "sql_probe": "tutor.checks.sql_probe",
    "sql_replay": "tutor.checks.sql_replay",
    "http_traffic": "tutor.checks.http_traffic",
    "http_probe": "tutor.checks.http_probe",
    "http_value": "tutor.checks.http_value",
    "http_flow": "tutor.checks.http_flow",
    "code_http": "tutor.checks.code_http",
    "code_tests": "tutor.checks.code_tests",
    "code_own_tests": "tutor.checks.code_own_tests",
}

_REGISTRY: dict[str, CheckFunction] = {}


def register(kind: str) -> Any:
    def decorator(function: CheckFunction) -> CheckFunction:
        _REGISTRY[kind] = function
        return function

    return decorator


def checker_for(kind: str) -> CheckFunction:
    if kind not in _REGISTRY:
        module = KIND_MODULES.get(kind)
        if module is None:
            raise KeyError(f"no check kind '{kind}'")
        importlib.import_module(module)
    return _REGISTRY[kind]


def evaluate(spec: Any, ctx: CheckContext) -> CheckResult:
    """Run one check. A missing piece of evidence is a failed check that says what is missing;
    a crash inside a check is reported as the check's own error, never raised into the UI."""
    try:
        result = checker_for(spec.kind)(spec, ctx)
    except CheckUnavailable as missing:
        return CheckResult(False, str(missing), kind=spec.kind, judged=False)
    except Exception as exc:
        return CheckResult(False, f"the check itself failed: {type(exc).__name__}: {exc}", kind=spec.kind, error=True)
    if not result.kind:
        from dataclasses import replace

        result = replace(result, kind=spec.kind)
    return result
