"""SQL sandbox figures: build a 1,000,000-row x 5-column table; make a fresh copy for a lesson start/reset.

    .venv/bin/python benchmarks/sql_build.py [--runs 5] [--rows 1000000]

Prints medians (and min/max) over the runs. Targets (issue 4): build <= 1.5 s, fresh copy <= 0.1 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from sandboxes.sql.build import build_database, fresh_copy
from sandboxes.sql.sandbox import SqlSandbox
from tutor.pack.sandbox_sql import SqlSettings
from tutor.paths import Home


def settings(rows: int) -> SqlSettings:
    return SqlSettings.model_validate(
        {
            "tables": [
                {
                    "name": "orders",
                    "rows": rows,
                    "seed": 1,
                    "primary_key": "id",
                    "columns": [
                        {"name": "id", "gen": "sequence"},
                        {"name": "customer_id", "gen": "int", "min": 1, "max": 50000},
                        {"name": "amount", "gen": "float", "min": 1, "max": 500},
                        {"name": "ordered_on", "gen": "date", "start": "2015-01-01", "end": "2024-12-31"},
                        {
                            "name": "status",
                            "gen": "choice",
                            "values": ["new", "paid", "shipped", "cancelled"],
                            "weights": [1, 3, 5, 1],
                        },
                    ],
                }
            ]
        }
    )


def line(label: str, samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return f"{label:<44} median {statistics.median(ms):8.1f} ms   (min {min(ms):.1f}, max {max(ms):.1f}, n={len(ms)})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true", help="print the medians (seconds) as one JSON line")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bt-bench-"))
    try:
        spec = settings(args.rows)
        builds = []
        for run in range(args.runs):
            target = work / f"build-{run}.db"
            started = time.perf_counter()
            build_database(spec, work, target)
            builds.append(time.perf_counter() - started)
        template = work / "build-0.db"
        size = template.stat().st_size / 1e6
        copies = []
        for _ in range(args.runs):
            started = time.perf_counter()
            fresh_copy(template, work / "live" / "copy.db")
            copies.append(time.perf_counter() - started)
            time.sleep(0.2)  # let the old copy's background delete finish
        home = Home(work / "home")
        box = SqlSandbox.open(spec, pack_root=work, home=home, lesson_id="bench")
        resets = []
        try:
            for _ in range(args.runs):
                box.run_learner("DELETE FROM orders WHERE id % 7 = 0")  # the learner changed every page
                started = time.perf_counter()
                box.reset()
                resets.append(time.perf_counter() - started)
        finally:
            box.close()
        if args.json:
            medians = {"build": builds, "fresh_copy": copies, "reset": resets}
            print(json.dumps({k: round(statistics.median(v), 4) for k, v in medians.items()} | {"mb": round(size)}))
            return
        print(f"{args.rows:,} rows x 5 columns, database {size:.0f} MB")
        print(line("build (INSERT ... SELECT, recursive CTE)", builds))
        print(line("fresh copy (file copy + atomic rename)", copies))
        print(line("SqlSandbox.reset() (backup into the live file)", resets))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
