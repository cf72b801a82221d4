"""Time from Ctrl+Q to the tutor's process exit, with a lesson open whose SQL database and HTTP API run.

Runs the real `backend-tutor` in a pseudo-terminal (80x24), opens the lesson with `c` (the progress
store is seeded to point at it), waits until the API answers, presses Ctrl+Q and measures until the
process has exited. Also checks that the API's port is closed afterwards (nothing left behind).

    .venv/bin/python benchmarks/quit_time.py [--runs 3] [--lesson n-plus-one] [--json]

Target: median below 0.3 s.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import select
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOOL = Path(sys.executable).parent / "backend-tutor"


def seed(home: Path, lesson_id: str) -> None:
    from tutor.pack.index import read_index
    from tutor.paths import Home, builtin_pack_path
    from tutor.progress import ProgressStore

    index = read_index(builtin_pack_path(), cache_dir=Home(home).cache)
    lesson = index.lesson(lesson_id)
    assert lesson is not None, lesson_id
    with ProgressStore.open(home / "progress.db") as store:
        store.visit(index.id, index.version, lesson.id, lesson.step_ids[0])


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def one_run(lesson_id: str) -> tuple[float, bool]:
    home = Path(tempfile.mkdtemp(prefix="quit-bench-"))
    seed(home, lesson_id)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {**os.environ, "BACKEND_TUTOR_HOME": str(home), "TERM": "xterm-256color"}
    proc = subprocess.Popen([str(TOOL)], stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)

    def drain(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    os.read(master, 65536)
                except OSError:
                    return

    drain(2.0)
    os.write(master, b"c")
    port_file = home / "sessions" / lesson_id / "api-port"
    deadline = time.monotonic() + 60
    port = 0
    while time.monotonic() < deadline:
        drain(0.2)
        if port_file.exists() and (text := port_file.read_text().strip()):
            port = int(text)
            if port_open(port):
                break
    if not port:
        proc.kill()
        raise SystemExit("the lesson's API did not start")
    drain(1.0)  # the screen settles
    pressed = time.perf_counter()
    os.write(master, b"\x11")  # Ctrl+Q
    while proc.poll() is None:
        drain(0.005)
    elapsed = time.perf_counter() - pressed
    os.close(master)
    return elapsed, port_open(port)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lesson", default="n-plus-one")
    parser.add_argument("--json", action="store_true", help="print one JSON line last, for benchmarks/run.py")
    args = parser.parse_args()
    times = []
    for number in range(1, args.runs + 1):
        elapsed, still_open = one_run(args.lesson)
        times.append(elapsed)
        line = f"run {number}: Ctrl+Q -> exit {elapsed * 1000:.0f} ms; API port still open after exit: {still_open}"
        print(line, file=sys.stderr if args.json else sys.stdout)
        if still_open:
            sys.exit("the API outlived the tutor")
    median = statistics.median(times)
    if args.json:
        detail = f"max {max(times):.3f} s over {len(times)} runs, lesson {args.lesson}; API port closed after exit"
        print(json.dumps({"median_s": round(median, 3), "max_s": round(max(times), 3), "detail": detail}))
    else:
        print(f"median {median * 1000:.0f} ms, max {max(times) * 1000:.0f} ms (target < 300 ms)")


if __name__ == "__main__":
    main()
