"""`code_tests`: run the pack's pytest file against the learner's module, in the sandboxed child process,
and explain the first failing test in words: its docstring (written by the pack author as a sentence),
the assertion that failed, and where in the learner's file, instead of a pytest dump."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from tutor.checks import register
from tutor.checks.base import CheckContext, CheckResult, shorten
from tutor.checks.code_http import problem_result
from tutor.pack.specs_code import CodeTestsCheck

_ASSERT = re.compile(r"^AssertionError:\s*")


@register("code_tests")
def check_code_tests(spec: CodeTestsCheck, ctx: CheckContext) -> CheckResult:
    from tutor.code.runner import CodeProblem, run_tests

    code = ctx.need_code()
    source = (code.pack_root / spec.tests).resolve()
    folder = Path(tempfile.mkdtemp(prefix="backend-tutor-tests-"))
    try:
        test_file = folder / f"test_{source.stem.removeprefix('test_')}.py"
        shutil.copyfile(source, test_file)
        try:
            outcome = run_tests(
                code.workspace,
                [test_file],
                module=code.module,
                database=code.fresh_database("tests"),  # its own copies: never the spare app's
                timeout=spec.timeout,
                environment=code.environment(),
            )
        except CodeProblem as problem:
            return problem_result(problem)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    first = outcome.first
    if first is None:
        if outcome.passed == 0:
            return CheckResult(
                False,
                "The tests could not run against your code.",
                details=tuple(outcome.output.splitlines()[-8:]),
                error=True,
            )
        return CheckResult(True, f"All {outcome.passed} tests pass against your code.")
    message = _ASSERT.sub("", (first.get("message") or "").split("\n")[0]).strip()
    what = first.get("doc") or first["test"].replace("_", " ").removeprefix("test ")
    lines: list[str] = []
    if message:
        lines.append(f"what failed: {shorten(message, 300)}")
    if first.get("file"):
        lines.append(f"in your code at {first['file']}:{first.get('line')}")
    if first.get("when") == "setup":
        lines.append("It failed while the test was being prepared, before it ran.")
    return CheckResult(
        False,
        f"Not yet: {what}" if what.endswith(".") else f"Not yet: {what}.",
        details=(*lines, f"({outcome.passed} test(s) passed before it.)") if outcome.passed else tuple(lines),
    )
