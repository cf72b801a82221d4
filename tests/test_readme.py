"""The README starts with the two newcomer commands, and CI runs the second one verbatim."""

from __future__ import annotations

from tests.conftest import REPO


def _commands() -> list[str]:
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.startswith("    ") and "pip install" in line][:2]


def test_readme_has_install_run_and_install_test_commands() -> None:
    run_cmd, test_cmd = _commands()
    assert run_cmd.endswith("backend-tutor")
    assert "pytest" in test_cmd


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    _, test_cmd = _commands()
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_cmd in [line.strip() for line in ci]
