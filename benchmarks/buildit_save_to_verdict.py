"""Time from a learner's save to the build-it verdict, the way the lesson screen gets it.

A Session on the built-in lesson `build-cursor-pagination` (its real database, its real step 1 check)
watches the workspace with the same watcher the screen uses (and, as the screen does, opens the step
first, which starts a spare child that loads Python, FastAPI and uvicorn before any save). Each run
writes app.py (alternating a wrong and the reference solution, so every save changes the file) and
measures until the check's result is in hand: the watcher's wake-up, the learner's module imported
and served, the probes over 127.0.0.1, and the stop. Budget: 1.5 s on a 2-core machine.

    .venv/bin/python benchmarks/buildit_save_to_verdict.py [--runs 7] [--gap 1.0] [--json]

`--gap` is the time between a verdict and the next save (a learner reads the verdict and edits); with
a gap shorter than the spare's own start-up (~0.5 s here), a save may find it still loading.
"""

from __future__ import annotations

import argparse
import json
import queue
import statistics
import tempfile
import threading
import time
from pathlib import Path

from tutor.code.watch import watch
from tutor.pack.loader import load_pack_or_raise
from tutor.paths import Home
from tutor.session import Session

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between a verdict and the next save")
    parser.add_argument("--json", action="store_true", help="accepted for benchmarks/run.py; the output is JSON")
    args = parser.parse_args()
    pack = load_pack_or_raise(REPO / "lessons")
    lesson = pack.lesson("build-cursor-pagination")
    assert lesson is not None
    step = lesson.steps[0]
    sources = [
        (REPO / "lessons/http/07-build-cursor-pagination/wrong-includes-last/app.py").read_text(),
        (REPO / "lessons/http/07-build-cursor-pagination/reference/app.py").read_text(),
    ]
    with tempfile.TemporaryDirectory() as home_dir, Session(pack, lesson, Home(Path(home_dir)).ensure()) as session:
        session.start()
        assert session.workspace is not None
        target = session.workspace.root / "app.py"
        verdicts: queue.Queue[tuple[float, bool]] = queue.Queue()

        session.begin_step(step)  # as the lesson screen does when the step opens: a spare child starts

        def on_save(names: list[str]) -> None:
            result = session.check(step)
            verdicts.put((time.perf_counter(), result.passed))

        stop = threading.Event()
        watcher = threading.Thread(target=watch, args=(session.workspace.root, on_save, stop), daemon=True)
        watcher.start()
        time.sleep(0.5)
        timings = []
        try:
            for run in range(args.runs):
                saved = time.perf_counter()
                target.write_text(sources[run % 2])
                done, passed = verdicts.get(timeout=30)
                assert passed == (run % 2 == 1), "the verdict must follow the file"
                timings.append(done - saved)
                time.sleep(args.gap)
        finally:
            stop.set()
            watcher.join(timeout=5)
    print(
        json.dumps(
            {
                "runs": len(timings),
                "median_s": round(statistics.median(timings), 3),
                "max_s": round(max(timings), 3),
                "gap_s": args.gap,
                "budget_s": 1.5,
                "detail": f"max {max(timings):.3f} s over {len(timings)} saves, {args.gap:g} s apart",
            }
        )
    )


if __name__ == "__main__":
    main()
