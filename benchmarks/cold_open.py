"""The first open of a pack never opened before: a fresh home each run, so the course outline is read
from every lesson file (later opens read it from the cache; `pack install` writes it beforehand).

    .venv/bin/python benchmarks/cold_open.py [--pack FOLDER] [--marker TEXT] [--runs 3] [--validate-first]

With --validate-first, `backend-tutor pack validate` runs in that fresh home first, as an author
does before opening a pack: the outline is then built from the parse cache the validation wrote.

Runs `backend-tutor` in a detached tmux pane at 120x40 and polls the pane every 5 ms until the marker
shows, like the shared first_screen.py tool, but without its warm-up round. Prints the median in ms.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

EXE = Path(sys.executable).parent / "backend-tutor"


def once(args: list[str], marker: str, validate_first: bool = False, timeout: float = 60) -> float:
    home = tempfile.mkdtemp(prefix="bt-cold-")
    if validate_first:
        pack = args[1] if args else "lessons"
        env = {"BACKEND_TUTOR_HOME": home, "PATH": "/usr/bin:/bin"}
        subprocess.run([str(EXE), "pack", "validate", pack], env=env, capture_output=True, check=True)
    tmux = ["tmux", "-L", "cold-" + uuid.uuid4().hex[:8]]  # a server of its own, ended after the run
    command = " ".join(["env", f"BACKEND_TUTOR_HOME={home}", shlex.quote(str(EXE)), *map(shlex.quote, args)])
    started = time.perf_counter()
    subprocess.run([*tmux, "new-session", "-d", "-x", "120", "-y", "40", command + "; sleep 30"], check=True)
    try:
        while time.perf_counter() - started < timeout:
            screen = subprocess.run([*tmux, "capture-pane", "-p"], capture_output=True, text=True).stdout
            if marker in screen:
                return time.perf_counter() - started
            time.sleep(0.005)
        raise RuntimeError(f"{marker!r} never showed")
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", default=None)
    parser.add_argument("--marker", default="lessons done")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--validate-first", action="store_true")
    args = parser.parse_args()
    extra = ["--pack", args.pack] if args.pack else []
    times = [once(extra, args.marker, args.validate_first) for _ in range(args.runs)]
    what = "after pack validate" if args.validate_first else "nothing cached"
    print(f"first open, {what}: median {statistics.median(times) * 1000:.0f} ms over {len(times)} runs")


if __name__ == "__main__":
    main()
