"""Resident memory of the real app, read from /proc while it runs in tmux.

Two figures: the course map of the built-in pack (budget 80 MB), and a lesson with both sandboxes
running on a 1,000,000-row database (budget 150 MB; the learner's SQL worker, a process of its own, is
reported beside it). The app runs as a learner runs it, in a tmux
pane at 120x40; the lesson is opened with Enter from the course map of a one-lesson pack, and memory
is read once its API answers and its database is built.

    .venv/bin/python benchmarks/memory.py [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXE = Path(sys.executable).parent / "backend-tutor"

LESSON = """\
id: big
title: A big database behind an API
track: databases
sandboxes:
  sql:
    tables:
      - name: authors
        rows: 20000
        seed: 7
        primary_key: id
        columns:
          - {name: id, gen: sequence}
          - {name: name, gen: template, template: "Author {n}"}
      - name: books
        rows: 1000000
        seed: 8
        primary_key: id
        columns:
          - {name: id, gen: sequence}
          - {name: title, gen: template, template: "Book {n}"}
          - {name: author_id, gen: foreign_key, table: authors}
          - {name: year, gen: int, min: 1950, max: 2024}
          - {name: price, gen: float, min: 5, max: 60}
  api:
    resources:
      - {name: books, table: books}
steps:
  - id: look
    title: Look
    text: Ask the API for a book.
    check:
      kind: http_traffic
      expect:
        - request: {method: GET}
          response: {status: 200}
    hints: [Any GET will do.]
    solution:
      requests: [{method: GET, path: /v1/books/1}]
    wrong_answers:
      - requests: [{method: GET, path: /v1/books/0}]
"""

MANIFEST = """\
format: 1
id: memory-bench
title: Memory bench
version: 0.1.0
tracks:
  - {id: databases, title: Databases}
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def app_pid(pane_pid: int) -> int:
    """The python process running backend-tutor: the pane's process or one of its descendants."""
    todo = [pane_pid]
    while todo:
        pid = todo.pop()
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except FileNotFoundError:
            continue
        if b"backend-tutor" in cmd and b"python" in cmd:
            return pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        if children.exists():
            todo.extend(int(c) for c in children.read_text().split())
    raise RuntimeError("backend-tutor process not found")


def sql_workers(pid: int) -> list[int]:
    """The app's SQL worker processes (the learner's connection runs in one: sandboxes/sql/worker.py)."""
    found = []
    children = " ".join(p.read_text() for p in Path(f"/proc/{pid}/task").glob("*/children"))  # any thread's
    for child in children.split():
        try:
            if b"sandboxes.sql.worker" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(int(child))
        except FileNotFoundError:
            continue
    return found


class Pane:
    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.socket = "mem-" + uuid.uuid4().hex[:8]
        command = " ".join([*(f"{k}={v}" for k, v in env.items()), "exec", *argv])
        out = self.tmux("new-session", "-d", "-P", "-F", "#{pane_pid}", "-x", "120", "-y", "40", command)
        self.pid = int(out.strip())

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p")

    def wait_for(self, text: str, timeout: float) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.screen():
                return
            time.sleep(0.05)
        raise RuntimeError(f"{text!r} never showed; screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


def measure() -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="bt-mem-"))
    try:
        home = work / "home"
        pane = Pane([str(EXE)], {"BACKEND_TUTOR_HOME": str(home)})
        try:
            pane.wait_for("Authentication", 30)
            time.sleep(1.0)  # let the post-first-frame imports settle
            course_map = rss_mb(app_pid(pane.pid))
        finally:
            pane.close()
        pack = work / "pack"
        (pack / "databases").mkdir(parents=True)
        (pack / "pack.yaml").write_text(MANIFEST)
        (pack / "databases" / "01-big.yaml").write_text(textwrap.dedent(LESSON))
        pane = Pane([str(EXE), "--pack", str(pack)], {"BACKEND_TUTOR_HOME": str(home)})
        try:
            pane.wait_for("A big database", 30)
            pane.tmux("send-keys", "Enter")
            pane.wait_for("127.0.0.1:", 120)  # the lesson names the running API's address
            pid = app_pid(pane.pid)
            port = None
            for word in pane.screen().replace("/", " ").split():
                if word.startswith("127.0.0.1:") and word[10:].isdigit():
                    port = int(word[10:])
            if port is not None:  # one real request, so the server has done real work
                subprocess.run(
                    ["curl", "-s", "-o", os.devnull, f"http://127.0.0.1:{port}/v1/books?limit=50"], timeout=10
                )
            time.sleep(1.0)
            lesson = rss_mb(pid)
            worker = sum(rss_mb(child) for child in sql_workers(pid))
        finally:
            pane.close()
        return {
            "course_map_mb": round(course_map, 1),
            "lesson_1m_rows_both_sandboxes_mb": round(lesson, 1),
            "sql_worker_mb": round(worker, 1),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure()
    if args.json:
        print(json.dumps(result))
    else:
        print(f"course map: {result['course_map_mb']:.1f} MB (budget 80 MB)")
        print(
            "lesson with both sandboxes, 1,000,000 rows: "
            f"{result['lesson_1m_rows_both_sandboxes_mb']:.1f} MB (budget 150 MB)"
        )


if __name__ == "__main__":
    main()
