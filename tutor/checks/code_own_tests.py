"""`code_own_tests`: the learner's own pytest files, judged by what they catch.

Each run happens in a throwaway copy of the learner's workspace with the pack's app laid over it, in the
sandboxed child (`tutor.code.own_tests`), on a fresh copy of the lesson database:

1. the reference app (the right one): every test must pass, in the order written and, with
   `reverse_order`, last to first; at least `min_tests` must run; with `keep_database`, the database the
   run was given must be left as it was (each test works on a copy of its own);
2. each bugged app (a folder laid over the reference): some test must fail *by an assertion* during its
   call (not an import error, not a broken fixture, not an exception the test did not expect) and, when
   the bug names a `path`, that test must have sent a request to it; it must have passed on the reference
   (not skipped, not deselected there); and it must pass when the same bugged folder is run with the reference
   app answering every request: a test that still fails then noticed the bugged files (their text, size or
   code objects), not a wrong answer.

A bug no test caught is named in the pack's words: "Your tests still pass when <description>".
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tutor.checks import register
from tutor.checks.base import CheckContext, CheckResult, shorten
from tutor.checks.code_http import problem_result
from tutor.pack.specs_own_tests import CodeOwnTestsCheck, OwnTestsBug

_SKIP_DIRS = {".backups", "__pycache__", ".pytest_cache", ".venv", "venv", ".git", ".mypy_cache", ".ruff_cache"}
_INI_FILES = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")


def _copy_workspace(workspace: Path, target: Path, overlays: list[Path]) -> None:
    """The learner's files (not the tutor's own, not caches) with each overlay's files laid over them."""
    from tutor.code.workspace import list_files

    shutil.copytree(
        workspace,
        target,
        ignore=lambda _dir, names: [n for n in names if n in _SKIP_DIRS or n == ".backend-tutor.json"],
        symlinks=False,
    )
    for folder in overlays:
        for name, source in list_files(folder).items():
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
    if not any((target / name).is_file() for name in _INI_FILES):
        # pytest looks for its settings in the folders above too: the copy's own stops the search here
        (target / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")


def _digest(path: Path | None) -> str:
    if path is None:
        return ""
    sha = hashlib.sha256()
    for part in (path, Path(f"{path}-wal"), Path(f"{path}-journal")):
        if part.is_file():
            sha.update(part.name.encode() + b"\0" + part.read_bytes())
    return sha.hexdigest()


def _named(test: Any) -> str:
    return f"{test.name} ({shorten(test.doc, 120)})" if test.doc else test.name


def _at(record: Any) -> str:
    return f" at {record.file}:{record.line}" if getattr(record, "file", None) else ""


def _path_pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]*\})", path)
    return re.compile("".join("[^/]+" if p.startswith("{") and p.endswith("}") else re.escape(p) for p in parts) + "$")


def _sent_to(test: Any, bug: OwnTestsBug) -> bool:
    if bug.path is None:
        return True
    pattern = _path_pattern(bug.path)
    return any(pattern.match(path) and (bug.method is None or method == bug.method) for method, path in test.requests)


def _load_failure(outcome: Any) -> CheckResult:
    first = outcome.load_errors[0]
    where = f"{first['file']}:{first['line']}" if first.get("line") else first.get("file", "")
    return CheckResult(
        False,
        f"pytest could not load your tests ({where}): {shorten(first['message'], 200)}",
        details=("Fix that line and save; the check runs your tests again.",),
        judged=False,
    )


@register("code_own_tests")
def check_code_own_tests(spec: CodeOwnTestsCheck, ctx: CheckContext) -> CheckResult:
    from tutor.code.own_tests import run_own_tests
    from tutor.code.runner import CodeProblem

    code = ctx.need_code()
    workspace: Path = code.workspace
    mine = sorted(p.relative_to(workspace) for p in workspace.glob(spec.tests) if p.is_file())
    if not mine:
        return CheckResult(
            False,
            f"No file of yours matches {spec.tests}: your tests go in a file like that, in your folder.",
            judged=False,
        )
    base = Path(tempfile.mkdtemp(prefix="backend-tutor-own-tests-"))
    facts: dict[str, Any] = {"test_files": len(mine)}
    passed_on_reference: set[str] | None = None
    try:
        reference = base / "reference"
        _copy_workspace(workspace, reference, [code.pack_root / spec.reference])
        for reverse in (False, True) if spec.reverse_order else (False,):
            database = code.fresh_database("own-tests")
            before = _digest(database)
            try:
                outcome = run_own_tests(
                    reference,
                    [reference / p for p in mine],
                    database=database,
                    timeout=spec.timeout,
                    environment=code.environment(),
                    reverse=reverse,
                )
            except CodeProblem as problem:
                return problem_result(problem)
            if outcome.load_errors:
                return _load_failure(outcome)
            if outcome.failed:
                first = outcome.failed[0]
                if reverse:
                    summary = (
                        f"Your tests pass in the order you wrote them, but {first.name} fails when they run last "
                        "to first: it leans on what another test left behind."
                    )
                    advice = (
                        "Each test should set up what it needs (a fixture that gives it a fresh copy of the "
                        "database), so that it passes alone and in any order."
                    )
                else:
                    summary = f"Your tests fail against a correct app: {_named(first)}."
                    advice = (
                        "A test that fails on a correct app is wrong: check what it expects against what the "
                        "app is meant to do (the app in your folder is the correct one)."
                    )
                how = "by its assert" if first.how == "assertion" else f"with {first.error or 'an error'}"
                when = " while its fixture was being set up" if first.when == "setup" else ""
                return CheckResult(
                    False,
                    summary,
                    details=(f"It failed {how}{when}{_at(first)}: {shorten(first.message, 300)}", advice),
                )
            ran = len(outcome.passed)
            if ran < spec.min_tests:
                none = "No test ran" if ran == 0 else f"Only {ran} test(s) ran"
                return CheckResult(
                    False,
                    f"{none}: write at least {spec.min_tests}.",
                    details=("pytest runs the functions named test_... in your files named like " + spec.tests,),
                )
            facts["tests"] = ran
            names = {t.nodeid for t in outcome.passed}
            passed_on_reference = names if passed_on_reference is None else passed_on_reference & names
            if spec.keep_database and _digest(database) != before:
                return CheckResult(
                    False,
                    "Your tests pass, but they wrote into the lesson's database itself, the one BACKEND_TUTOR_DB "
                    "names: every test (and every run) sees what the others left there.",
                    details=(
                        "Give each test a copy of its own: a fixture that copies that file into pytest's tmp_path "
                        'and points the app at the copy (monkeypatch.setenv("BACKEND_TUTOR_DB", str(copy))).',
                    ),
                )
        missed: list[tuple[str, str]] = []  # (what the learner reads, the bug's description)
        for number, bug in enumerate(spec.bugs, 1):
            folder = base / f"bug-{number}"
            _copy_workspace(workspace, folder, [code.pack_root / spec.reference, code.pack_root / bug.files])
            try:
                outcome = run_own_tests(
                    folder,
                    [folder / p for p in mine],
                    database=code.fresh_database("own-tests"),
                    timeout=spec.timeout,
                    environment=code.environment(),
                )
            except CodeProblem as problem:
                said = f"When {bug.description}, your tests did not finish: {problem.summary}"
                missed.append((said, bug.description))
                continue
            failed = outcome.failed
            reference_app = reference / (code.module.replace(".", "/") + ".py")
            candidates = [
                t
                for t in failed
                if t.how == "assertion" and _sent_to(t, bug) and t.nodeid in (passed_on_reference or set())
            ]
            if candidates and reference_app.is_file():
                try:
                    answered = run_own_tests(
                        folder,
                        [folder / p for p in mine],
                        database=code.fresh_database("own-tests"),
                        timeout=spec.timeout,
                        environment=code.environment(),
                        answer_with=reference_app,
                    )
                except CodeProblem as problem:
                    said = f"When {bug.description}, your tests did not finish: {problem.summary}"
                    missed.append((said, bug.description))
                    continue
                still = {t.nodeid for t in answered.failed}
                if any(t.nodeid not in still for t in candidates):
                    continue
                said = (
                    f"When {bug.description}, {candidates[0].name} failed, but it fails as well when that copy's "
                    "requests are answered the correct way: it noticed the changed file (its text, its size, its "
                    "code), not a wrong answer. A test catches a bug by what the app answers."
                )
                missed.append((said, bug.description))
                continue
            if candidates:
                continue
            by_assert = [t for t in failed if t.how == "assertion"]
            if outcome.load_errors:
                said = f"When {bug.description}, pytest could not load your tests."
            elif by_assert and all(_sent_to(t, bug) for t in by_assert):
                said = (
                    f"When {bug.description}, {by_assert[0].name} failed, but it did not pass on the correct app "
                    "(it was skipped or left out there): a test catches a bug when it passes on the right app and "
                    "fails on the wrong one."
                )
            elif by_assert:
                where = f"{bug.method + ' ' if bug.method else ''}{bug.path}"
                said = (
                    f"When {bug.description}, {by_assert[0].name} failed, but it never sent a request to {where}, "
                    "where that bug is: it failed for another reason, and nothing asked about that path."
                )
            elif failed:
                test = failed[0]
                said = (
                    f"When {bug.description}, {test.name} broke with {test.error or 'an error'}{_at(test)} "
                    f"({shorten(test.message, 120)}) instead of failing an assert. A test catches a bug when an "
                    "assert says what it expected (assert r.status_code == 404), not when something else breaks first."
                )
            else:
                said = f"Your tests still pass when {bug.description}."
            missed.append((said, bug.description))
        facts["bugs_caught"] = len(spec.bugs) - len(missed)
        facts["bugs"] = len(spec.bugs)
        if missed:
            caught = len(spec.bugs) - len(missed)
            others = [said for said, _ in missed[1:]]
            return CheckResult(
                False,
                missed[0][0],
                details=(*others, f"(Your tests caught {caught} of the {len(spec.bugs)} bugs the tutor planted.)"),
                facts=facts,
            )
        return CheckResult(
            True,
            f"Your {facts['tests']} tests pass on the correct app and catch all {len(spec.bugs)} planted bugs.",
            facts=facts,
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)
