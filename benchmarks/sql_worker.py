"""The learner's SQL in a worker process: what it costs a lesson's start, a statement and a restart.

    .venv/bin/python benchmarks/sql_worker.py [--runs 5] [--rows 1000000] [--json]

On a cached 1,000,000-row lesson database (39 MB; built once first, not timed):
- open: `SqlSandbox.open` returning (the live copy; the worker is started, not waited for);
- first answer: from the start of `open` to the first learner statement's answer (the worker ready);
- round trip: one `SELECT 1` through the worker, against the same statement on an in-process guarded
  connection (median of 200 each);
- restart: a statement that never reaches SQLite's progress handler, with a 0.5 s time limit: its
  answer comes after the limit plus this much (the kill margin, the kill, a new worker);
- reset: `SqlSandbox.reset()`, the template's content copied into the live file (backup API);
- worker memory: the worker's resident memory after a query, and the tutor's (this process).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from sql_build import settings  # benchmarks/ is the script's own folder

from sandboxes.sql.guard import GuardedConnection
from sandboxes.sql.sandbox import SqlSandbox
from tutor.paths import Home


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bt-worker-"))
    try:
        spec = settings(args.rows)
        home = Home(work / "home")
        SqlSandbox.open(spec, pack_root=work, home=home, lesson_id="warm", start_learner=False).close()
        opens, firsts, trips, local, restarts, resets = [], [], [], [], [], []
        worker_mb = tutor_mb = 0.0
        for run in range(args.runs):
            started = time.perf_counter()
            box = SqlSandbox.open(spec, pack_root=work, home=home, lesson_id=f"lesson-{run}")
            opens.append(time.perf_counter() - started)
            box.run_learner("SELECT 1")
            firsts.append(time.perf_counter() - started)
            try:
                samples = []
                for _ in range(200):
                    begin = time.perf_counter()
                    box.run_learner("SELECT 1")
                    samples.append(time.perf_counter() - begin)
                trips.append(statistics.median(samples))
                box.run_learner("SELECT count(*), avg(amount) FROM orders")
                pid = box._learner.pid if box._learner is not None else None
                worker_mb = rss_mb(pid) if pid else 0.0
                tutor_mb = rss_mb(os.getpid())
                box.settings = box.settings.model_copy(update={"time_limit": 0.5})
                begin = time.perf_counter()
                box.run_learner("SELECT length(printf('%.*c', 2000000000, 'x'))")
                restarts.append(time.perf_counter() - begin - 0.5)
                box.run_learner("DELETE FROM orders WHERE id % 7 = 0")
                begin = time.perf_counter()
                box.reset()
                resets.append(time.perf_counter() - begin)
            finally:
                box.close()
            guarded = GuardedConnection(str(box.path), time_limit=5)
            samples = []
            for _ in range(200):
                begin = time.perf_counter()
                guarded.run("SELECT 1")
                samples.append(time.perf_counter() - begin)
            local.append(statistics.median(samples))
            guarded.close()
        got = {
            "open": statistics.median(opens),
            "first_answer": statistics.median(firsts),
            "round_trip_ms": statistics.median(trips) * 1000,
            "in_process_ms": statistics.median(local) * 1000,
            "restart_past_limit": statistics.median(restarts),
            "reset": statistics.median(resets),
            "worker_mb": worker_mb,
            "tutor_mb": tutor_mb,
        }
        if args.json:
            print(json.dumps({k: round(v, 4) for k, v in got.items()}))
            return
        print(f"{args.rows:,} rows, {args.runs} runs (medians)")
        print(f"open (worker started, not waited for)  {got['open'] * 1000:8.1f} ms")
        print(f"open -> first statement answered       {got['first_answer'] * 1000:8.1f} ms")
        print(f"SELECT 1 through the worker            {got['round_trip_ms']:8.3f} ms")
        print(f"SELECT 1 on an in-process connection   {got['in_process_ms']:8.3f} ms")
        print(f"answer after the limit, with a restart {got['restart_past_limit'] * 1000:8.1f} ms")
        print(f"reset (backup into the live file)      {got['reset'] * 1000:8.1f} ms")
        print(f"worker resident memory                 {got['worker_mb']:8.1f} MB (tutor: {got['tutor_mb']:.1f} MB)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
