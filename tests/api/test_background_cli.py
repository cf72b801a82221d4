"""`backend-tutor sandbox api` says where a lesson's background work is: the job table and the worker's
page, and where webhooks go and the secret they are signed with."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.pack.helpers import write_pack

LESSON = """\
id: twice
title: The job that ran twice
track: http
sandboxes:
  sql: {sql: "CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL);"}
  api:
    resources: [{name: orders, table: orders, writable: true}]
    jobs: {kinds: [{name: receipt, seconds: 2, after: {resource: orders}}]}
    webhooks: {secret: whsec_dGhlIHJlZmVyZW5jZSBsZXNzb24gc2lnbmluZyBrZXk=}
steps:
  - id: one
    title: One
    text: Watch the worker.
    check: {kind: choice, options: [{id: a, text: A}, {id: b, text: B}], correct: a}
    solution: {answer: a}
    wrong_answers: [{answer: b}]
"""


def test_the_command_names_the_job_table_and_the_webhook_endpoint_and_secret(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "pack", {"http/twice.yaml": LESSON})
    child = subprocess.Popen(
        [sys.executable, "-m", "tutor", "sandbox", "api", "twice", "--pack", str(pack)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
        env={"BACKEND_TUTOR_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    lines = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(line.rstrip())
            if line.startswith("Press Ctrl+C"):
                break
    finally:
        child.send_signal(signal.SIGINT)
        child.wait(20)
    base = next(line.split(" at ")[1] for line in lines if "sandbox API at" in line)
    assert f"  jobs: table jobs in the database; the worker: {base}/_sandbox/jobs" in lines, lines
    assert (
        "  webhooks: to none yet (PUT /_sandbox/webhooks), signed with "
        "whsec_dGhlIHJlZmVyZW5jZSBsZXNzb24gc2lnbmluZyBrZXk=" in lines
    ), lines
