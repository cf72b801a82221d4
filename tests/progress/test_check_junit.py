"""`backend-tutor check`: one line per step, an exit status CI can use, and JUnit XML that a schema
validator accepts (xmlschema against tests/progress/junit.xsd, which also accepts pytest's own report)."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from tests.progress.classroom import FIXTURE, RIGHT_APP, cli

SCHEMA = xmlschema.XMLSchema(Path(__file__).resolve().parent / "junit.xsd")
pytestmark = pytest.mark.slow


def test_check_of_an_export_writes_one_valid_test_case_per_step(ada: dict[str, Any], tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    result = cli(
        ada["home"],
        "check",
        "--pack",
        str(FIXTURE),
        "--evidence",
        str(ada["path"]),
        "--run-code",
        "--junit",
        str(report),
    )
    assert result.exit_code == 1, result.output  # concepts/count is not passed yet
    lines = result.output.splitlines()
    assert "✓ concepts/pick: passed" in lines
    assert "✗ concepts/count: not passed yet" in lines
    assert "6 passed, 1 failed; 7 of 8 points" in lines  # type-it is worth 2
    SCHEMA.validate(str(report))
    root = ET.parse(report).getroot()
    cases = root.findall("testsuite/testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("classroom-pack.concepts", "pick"),
        ("classroom-pack.concepts", "type-it"),
        ("classroom-pack.concepts", "count"),
        ("classroom-pack.stock", "transfer"),
        ("classroom-pack.tokens", "expire"),
        ("classroom-pack.tokens", "refresh"),
        ("classroom-pack.hello", "hello"),
    ]
    failures = root.findall("testsuite/testcase/failure")
    assert [f.get("message") for f in failures] == ["not passed: not passed yet"]
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("7", "1", "0")
    concepts = root.find("testsuite[@name='classroom-pack.concepts']")
    assert concepts is not None
    props = {p.get("name"): p.get("value") for p in concepts.findall("properties/property")}
    assert props["points"] == "3" and props["points_possible"] == "4" and props["points:type-it"] == "2"


def test_build_it_steps_are_checked_against_the_workspace(tmp_path: Path) -> None:
    """The learner's (or CI's) own files: a failing starter, then the right app, recorded as passed."""
    home = tmp_path / "home"
    workspace = tmp_path / "repo"
    base = ["--workspace", str(workspace), "check", "--pack", str(FIXTURE), "--lesson", "hello", "--trust"]
    first = cli(home, *base, "--junit", str(tmp_path / "first.xml"))
    assert first.exit_code == 1
    assert first.output.startswith("✗ hello/hello: failed:")
    SCHEMA.validate(str(tmp_path / "first.xml"))
    (workspace / "classroom-pack" / "hello" / "app.py").write_text(RIGHT_APP)
    second = cli(home, *base)
    assert second.exit_code == 0, second.output
    assert "✓ hello/hello: passed" in second.output
    from tutor.progress import ProgressStore

    with ProgressStore.open(home / "progress.db") as store:
        assert store.step("classroom-pack", "hello", "hello").passed
        (evidence,) = store.evidence("classroom-pack", "hello", "hello")
        assert "def hello" in evidence["files"]["app.py"]["text"]


def test_the_schema_accepts_pytests_report_and_rejects_a_broken_one(tmp_path: Path) -> None:
    (tmp_path / "test_one.py").write_text("def test_ok():\n    pass\n\ndef test_no():\n    assert 1 == 2\n")
    report = tmp_path / "pytest.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", "test_one.py"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    SCHEMA.validate(str(report))
    broken = tmp_path / "broken.xml"
    broken.write_text('<testsuites><testsuite name="x" tests="1"><testcase classname="a"/></testsuite></testsuites>')
    assert not SCHEMA.is_valid(str(broken))  # a test case with no name
