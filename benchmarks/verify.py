"""`progress verify` of one learner who finished the whole built-in pack, against `pack test` of the same steps.

    .venv/bin/python benchmarks/verify.py            # a table
    .venv/bin/python benchmarks/verify.py --json     # the figures, for benchmarks/run.py
    .venv/bin/python benchmarks/verify.py --runs 2 --jobs 2

First a learner does every step of the built-in pack in real sandboxes (each step's reference solution
applied through `Session.apply`, the path a learner's own SQL and requests take, then `Session.check`
and `record_check`, as the app does), and exports. Then the two commands alternate, each in a fresh
process and a fresh BACKEND_TUTOR_HOME (so both build the lesson databases), each with the same `--jobs`:

    backend-tutor progress verify EXPORT --run-code --jobs N
    backend-tutor pack test --jobs N

`pack test` replays every solution, wrong answer and alternative; `verify` replays one recorded action per
step. The figure is the median of each, and the ratio verify / pack test (the budget: at most 1).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXE = Path(sys.executable).parent / "backend-tutor"
sys.path.insert(0, str(ROOT))


def learn_everything(home: Path) -> Path:
    """A learner who passed every step of the built-in pack; returns their JSON export."""
    from tutor.evidence import record_check
    from tutor.pack.loader import load_pack
    from tutor.packtest import _code_home
    from tutor.paths import Home, builtin_pack_path
    from tutor.progress import ProgressStore
    from tutor.progress_export import LEARNER_SETTING
    from tutor.session import Session

    pack = load_pack(builtin_pack_path()).pack
    assert pack is not None
    tutor_home = Home(home).ensure()
    with ProgressStore.open(tutor_home.progress_db) as store:
        store.set_setting(LEARNER_SETTING, "Ada")
        for entry in pack.lessons:
            with _code_home(), Session(pack, entry.lesson, tutor_home) as session:
                session.start()
                for step in entry.lesson.steps:
                    session.begin_step(step)
                    answer = session.apply(step.solution)
                    result = session.check(step, answer)
                    if not result.passed:
                        raise SystemExit(f"{entry.lesson.id}/{step.id} did not pass: {result.summary}")
                    record_check(store, session, step, answer, result)
    target = home / "ada.json"
    done = subprocess.run(
        [str(EXE), "progress", "export", "-o", str(target)],
        env={**os.environ, "BACKEND_TUTOR_HOME": str(home)},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return target


def _wall(argv: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = {**os.environ, "BACKEND_TUTOR_HOME": tempfile.mkdtemp(prefix="bt-bench-verify-")}
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=env, check=False)
    return time.perf_counter() - started, done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bt-bench-learner-") as folder:
        started = time.perf_counter()
        export = learn_everything(Path(folder))
        learned = time.perf_counter() - started
        document = json.loads(export.read_text())
        steps = sum(1 for lesson in document["lessons"] for step in lesson["steps"] if step["status"] == "passed")
        verify_times: list[float] = []
        test_times: list[float] = []
        verdicts: dict[str, int] = {}
        for _ in range(args.runs):
            seconds, done = _wall(
                [str(EXE), "progress", "verify", str(export), "--run-code", "--jobs", str(args.jobs), "--json"]
            )
            if done.returncode != 0:
                raise SystemExit(f"verify exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
            verdicts = json.loads(done.stdout)["counts"]
            verify_times.append(seconds)
            seconds, done = _wall([str(EXE), "pack", "test", "--jobs", str(args.jobs)])
            if done.returncode != 0:
                raise SystemExit(f"pack test exited {done.returncode}:\n{done.stdout[-3000:]}")
            test_times.append(seconds)
    verify_s = statistics.median(verify_times)
    test_s = statistics.median(test_times)
    result = {
        "steps": steps,
        "verdicts": verdicts,
        "jobs": args.jobs,
        "runs": args.runs,
        "learn_s": round(learned, 1),
        "verify_s": round(verify_s, 1),
        "pack_test_s": round(test_s, 1),
        "ratio": round(verify_s / test_s, 2),
        "detail": f"verify {verify_s:.1f} s, pack test {test_s:.1f} s, {steps} steps, --jobs {args.jobs}",
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>12}: {value}")
    return 0 if result["ratio"] <= 1 else 1


if __name__ == "__main__":
    sys.exit(main())
