"""Every performance figure of backend-tutor, each against its budget, in one table.

    .venv/bin/python benchmarks/run.py            # the table
    .venv/bin/python benchmarks/run.py --json     # the same, for machines
    .venv/bin/python benchmarks/run.py --only validate,memory --runs 3

Each figure is the median of several runs (`--runs`, default 5; the slow ones fewer), and every
ratio is taken within one run: the two commands alternate, so a machine that speeds up or slows
down affects both alike. Each measurement runs in processes of its own, started from the environment
that runs this script (any virtualenv with the project installed; `backend-tutor` is taken from beside
its Python), with a throwaway `BACKEND_TUTOR_HOME`. The first-screen figures
use `first_screen.py` from the shared tools (set FIRST_SCREEN_TOOL to point elsewhere) and tmux.
docs/performance.md has the latest table and the machine it was measured on.

The package is byte-compiled first (`compileall`), as `pip install` does for a learner: a machine
that sets PYTHONDONTWRITEBYTECODE would otherwise compile the tutor's modules on every start.
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
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
PYTHON = Path(sys.executable)
EXE = PYTHON.parent / "backend-tutor"
_TOOL_PLACES = [up / "shared" / "tools" / "first_screen.py" for up in (ROOT.parent, ROOT.parent.parent)]
TOOL = Path(os.environ.get("FIRST_SCREEN_TOOL", next((p for p in _TOOL_PLACES if p.exists()), _TOOL_PLACES[0])))


@dataclass
class Figure:
    name: str
    value: float | None
    unit: str
    budget: float
    detail: str = ""
    command: str = ""

    @property
    def ok(self) -> bool | None:
        return None if self.value is None else self.value <= self.budget


def _json_of(argv: list[str], timeout: float = 900, env: dict[str, str] | None = None) -> dict:
    done = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _wall(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, capture_output=True, env={**os.environ, **env}, check=False)
    return time.perf_counter() - started


def _home() -> dict[str, str]:
    return {"BACKEND_TUTOR_HOME": tempfile.mkdtemp(prefix="bt-bench-home-")}


_BIG: dict[int, Path] = {}


def big_pack(lessons: int = 1000) -> Path:
    if lessons not in _BIG:
        sys.path.insert(0, str(BENCH))
        from bigpack import generate

        _BIG[lessons] = generate(Path(tempfile.mkdtemp(prefix="bt-bigpack-")) / "pack", lessons)
    return _BIG[lessons]


def _first_screen_run(marker: str, extra: list[str], runs: int) -> dict:
    home = _home()["BACKEND_TUTOR_HOME"]
    argv = [str(PYTHON), str(TOOL), "--python", str(PYTHON), "--marker", marker, "--baseline"]
    # A long timeout: the uncounted first round of the big pack builds its outline cache.
    argv += ["--runs", str(runs), "--timeout", "120", "--json", "--"]
    argv += ["env", f"BACKEND_TUTOR_HOME={home}", str(EXE), *extra]
    return _json_of(argv)


def first_screen(runs: int) -> list[Figure]:
    if not TOOL.exists():
        return [Figure("first screen, built-in pack (x minimal app)", None, "x", 1.3, f"{TOOL} not found")]
    out = []
    for label, extra, marker, budget in (
        ("first screen, built-in pack (x minimal app)", [], "Authentication", 1.3),
        # The big pack's map is long: its Authentication track is below the first screen. Its first track's
        # header ("... 0/248 lessons done") is drawn in the same frame as the rest of the list, as the
        # minimal app's text is.
        ("first screen, 1,000-lesson pack (x minimal app)", ["--pack", str(big_pack())], "lessons done", 1.5),
    ):
        try:
            got = _first_screen_run(marker, extra, runs)
            # Textual fills a Footer once the screen's bindings are known, a few frames later, in the
            # minimal app too (whose own text is its marker); when ours shows its keys is reported here.
            keys = _first_screen_run("Open lesson", extra, runs)
        except Exception as exc:  # one pack's failure must not hide the other's figure
            out.append(Figure(label, None, "x", budget, f"could not measure: {str(exc)[-300:]}"))
            continue
        out.append(
            Figure(
                label,
                round(got["ratio_median"], 2),
                "x",
                budget,
                f"median {got['median_ms']:.0f} ms vs {got['baseline_median_ms']:.0f} ms; the key line in the "
                f"footer at {keys['median_ms']:.0f} ms ({keys['ratio_median']:.2f} x)",
                f"first_screen.py --baseline --marker {marker!r} --runs {runs} -- backend-tutor {' '.join(extra)}",
            )
        )
    return out


def validate(runs: int) -> list[Figure]:
    """Warm: the home keeps the parse cache of the previous run (an author validating again after an
    edit; the first, uncounted pair fills it). Cold: a fresh home every time, nothing cached."""
    big = big_pack()
    env = _home()
    pairs = []
    for _ in range(runs + 1):  # alternate the two; the first pair warms the file and parse caches
        pairs.append(
            (
                _wall([str(EXE), "pack", "validate", str(big)], env),
                _wall([str(EXE), "pack", "validate", str(ROOT / "lessons")], env),
            )
        )
    pairs = pairs[1:]
    big_median = statistics.median(b for b, _ in pairs)
    beyond = statistics.median(b - s for b, s in pairs)
    builtin = statistics.median(s for _, s in pairs)
    cold = statistics.median(_wall([str(EXE), "pack", "validate", str(big)], _home()) for _ in range(max(1, runs)))
    return [
        Figure(
            "pack validate, 1,000 lessons (whole process)",
            round(big_median, 2),
            "s",
            2.0,
            f"unchanged since the last run; built-in pack {builtin:.2f} s",
            "backend-tutor pack validate BIGPACK",
        ),
        Figure(
            "pack validate, 1,000 lessons beyond the built-in pack",
            round(beyond, 2),
            "s",
            1.0,
            "median of the pairwise differences",
            "backend-tutor pack validate BIGPACK / lessons, alternated",
        ),
        Figure(
            "pack validate, 1,000 lessons, first run (nothing cached)",
            round(cold, 2),
            "s",
            2.0,
            "a fresh home each run: every file parsed, the parse cache written",
            "BACKEND_TUTOR_HOME=$(mktemp -d) backend-tutor pack validate BIGPACK",
        ),
    ]


def sql(runs: int) -> list[Figure]:
    got = _json_of([str(PYTHON), str(BENCH / "sql_build.py"), "--runs", str(runs), "--json"])
    command = f"benchmarks/sql_build.py --runs {runs}"
    return [
        Figure("build a 1,000,000-row lesson table", got["build"], "s", 1.5, f"{got['mb']} MB database", command),
        Figure(
            "reset it (its content copied back into the live file)",
            got["reset"],
            "s",
            0.1,
            f"a fresh copy at a lesson start {got['fresh_copy']} s",
            command,
        ),
    ]


def sql_worker(runs: int) -> list[Figure]:
    got = _json_of([str(PYTHON), str(BENCH / "sql_worker.py"), "--runs", str(runs), "--json"])
    return [
        Figure(
            "lesson opens -> first SQL statement answered",
            got["first_answer"],
            "s",
            0.3,
            f"open {got['open']} s; a statement {got['round_trip_ms']} ms through the worker "
            f"({got['in_process_ms']} ms in process); worker {got['worker_mb']} MB",
            f"benchmarks/sql_worker.py --runs {runs}",
        ),
        Figure(
            "a stuck statement: answer past its time limit",
            got["restart_past_limit"],
            "s",
            1.0,
            "kill margin 0.5 s, the kill, a new worker started",
            f"benchmarks/sql_worker.py --runs {runs}",
        ),
    ]


def checks(runs: int) -> list[Figure]:
    got = _json_of([str(PYTHON), str(BENCH / "checks.py"), "--json"])
    return [
        Figure(
            "any check, beyond the learner's own query",
            got["check_overhead_max_ms"],
            "ms",
            50,
            f"worst {got['check_overhead_max_step']}; median {got['check_overhead_median_ms']} ms "
            f"over {got['checks']} built-in steps"
            + (
                f"; not timed (solution failed in this replay): {got['solutions_failed_in_this_replay']}"
                if got.get("solutions_failed_in_this_replay")
                else ""
            ),
            "benchmarks/checks.py",
        ),
        Figure(
            "traffic check against 10,000 recorded requests",
            max(got["traffic_check_found_last_median_ms"], got["traffic_check_not_found_median_ms"]),
            "ms",
            50,
            f"found at the end {got['traffic_check_found_last_median_ms']} ms, "
            f"not found {got['traffic_check_not_found_median_ms']} ms",
            "benchmarks/checks.py",
        ),
    ]


def api(runs: int) -> list[Figure]:
    start = _json_of([str(PYTHON), str(BENCH / "api_startup.py"), "--runs", str(max(runs, 5)), "--json"])
    cost = _json_of([str(PYTHON), str(BENCH / "api_recorder.py"), "--rounds", str(runs), "--json"])
    return [
        Figure(
            "lesson opens -> first sandbox response",
            start["first"],
            "s",
            0.3,
            f"imports {start['imports']} s, start {start['start']} s",
            "benchmarks/api_startup.py",
        ),
        Figure(
            "recorder + tracing cost on a cached GET",
            round(cost["cost"] * 100, 1),
            "%",
            20,
            f"{cost['on_rps']} vs {cost['off_rps']} req/s",
            f"benchmarks/api_recorder.py --rounds {runs}",
        ),
    ]


PACK_TEST_BUDGET = 540
"""Seconds for `pack test` of the built-in pack on 2 quiet cores. It was 90 s for 32 lessons and 894 cases;
the pack now holds 48 lessons and 2,861 cases, most of them the expensive kind (a build-it case
starts the learner's app, an upstream case waits out real timeouts, a load test sends hundreds of
requests): docs/performance.md, 2026-12-07 night."""


def pack_test(runs: int) -> list[Figure]:
    times = [_wall([str(EXE), "pack", "test", str(ROOT / "lessons")], _home()) for _ in range(max(1, runs // 3))]
    return [
        Figure(
            "pack test, built-in pack (builds included)",
            round(statistics.median(times), 1),
            "s",
            PACK_TEST_BUDGET,
            f"{len(times)} run(s), a fresh home each",
            "backend-tutor pack test",
        )
    ]


def mutants(runs: int) -> list[Figure]:
    argv = [str(EXE), "pack", "test", str(ROOT / "lessons"), "--mutants", "--json"]
    started = time.perf_counter()
    done = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=3600, env={**os.environ, **_home()}, check=False
    )
    seconds = time.perf_counter() - started
    summary = json.loads(done.stdout).get("mutants", {})
    score = summary.get("score")
    score_text = "?" if score is None else f"{score * 100:.1f}" if score <= 1 else f"{score:.1f}"
    return [
        Figure(
            "pack test --mutants, built-in pack",
            round(seconds, 1),
            "s",
            600,
            f"1 run; {summary.get('generated', '?')} mutants, score {score_text}%, exit {done.returncode}",
            "backend-tutor pack test --mutants",
        )
    ]


def verify(runs: int) -> list[Figure]:
    got = _json_of([str(PYTHON), str(BENCH / "verify.py"), "--runs", str(max(1, runs // 3)), "--json"], timeout=3600)
    return [
        Figure(
            "progress verify of the whole built-in pack, x pack test",
            got["ratio"],
            "x",
            1.0,
            got["detail"],
            f"benchmarks/verify.py --runs {max(1, runs // 3)}",
        )
    ]


def memory(runs: int) -> list[Figure]:
    got = _json_of([str(PYTHON), str(BENCH / "memory.py"), "--json"])
    return [
        Figure(
            "memory on the course map", got["course_map_mb"], "MB", 80, "VmRSS, built-in pack", "benchmarks/memory.py"
        ),
        Figure(
            "memory, both sandboxes on 1,000,000 rows",
            got["lesson_1m_rows_both_sandboxes_mb"],
            "MB",
            150,
            f"VmRSS after a real request; the SQL worker beside it {got.get('sql_worker_mb', 0)} MB",
            "benchmarks/memory.py",
        ),
    ]


def _optional(script: str, label: str, key: str, budget: float, unit: str) -> Callable[[int], list[Figure]]:
    def measure(runs: int) -> list[Figure]:
        path = BENCH / script
        if not path.exists():
            return [Figure(label, None, unit, budget, f"benchmarks/{script} not found")]
        got = _json_of([str(PYTHON), str(path), "--runs", str(runs), "--json"])
        return [Figure(label, got[key], unit, budget, got.get("detail", ""), f"benchmarks/{script} --runs {runs}")]

    return measure


MEASURES: dict[str, Callable[[int], list[Figure]]] = {
    "first_screen": first_screen,
    "validate": validate,
    "sql": sql,
    "sql_worker": sql_worker,
    "checks": checks,
    "api": api,
    "pack_test": pack_test,
    "quit": _optional("quit_time.py", "quit: key -> shell prompt, sandboxes running", "median_s", 0.3, "s"),
    "build_it": _optional("buildit_save_to_verdict.py", "build-it verdict after a save", "median_s", 1.5, "s"),
    "memory": memory,
    "verify": verify,
    "mutants": mutants,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="", help=f"comma-separated: {', '.join(MEASURES)}")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    chosen = [n for n in args.only.split(",") if n] or list(MEASURES)
    unknown = set(chosen) - set(MEASURES)
    if unknown:
        parser.error(f"unknown figure(s): {', '.join(sorted(unknown))}")
    compile_all = [str(PYTHON), "-m", "compileall", "-q", "tutor", "sandboxes"]
    subprocess.run(compile_all, cwd=ROOT, check=True, capture_output=True)
    figures: list[Figure] = []
    for name in chosen:
        try:
            figures.extend(MEASURES[name](args.runs))
        except Exception as exc:  # one broken measurement must not hide the others
            figures.append(Figure(name, None, "", 0, f"could not measure: {str(exc)[:300]}"))
        if not args.json:
            print(f"measured {name}", file=sys.stderr)
    if args.json:
        print(json.dumps({"figures": [asdict(f) | {"ok": f.ok} for f in figures], "machine": _machine()}, indent=2))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"backend-tutor performance ({_machine()})")
        for column in ("figure", "median", "budget", "within", "detail"):
            table.add_column(column)
        for f in figures:
            shown = "-" if f.value is None else f"{f.value:g} {f.unit}"
            verdict = {True: "yes", False: "NO", None: "not measured"}[f.ok]
            table.add_row(f.name, shown, f"{f.budget:g} {f.unit}", verdict, f.detail)
        Console(width=200).print(table)
    return 0 if all(f.ok for f in figures) else 1


def _machine() -> str:
    cores = os.cpu_count()
    return f"{cores} cores, Python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d')}"


if __name__ == "__main__":
    sys.exit(main())
