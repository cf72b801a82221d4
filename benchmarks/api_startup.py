"""Time from "a lesson opens" to the sandbox API's first response, imports included, off the UI thread.

Each run is a fresh interpreter that has already loaded what the course map needs (the pack format,
i.e. pydantic), then, in a worker thread as the app does: imports the sandbox, starts it, and gets
the first response over real HTTP. Target: at most 0.3 s.

    .venv/bin/python benchmarks/api_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, threading, time, socket
import tutor.pack.models  # what the course map already loaded
from tutor.pack.sandbox_api import ApiSettings
settings = ApiSettings.model_validate({"resources": [{"name": "books", "table": "books"}],
                                       "caching": {"etag": True, "app_cache_ttl": 30}})
out = {}
def lesson_opens():
    t0 = time.perf_counter()
    from sandboxes.api.sandbox import ApiSandbox
    t_import = time.perf_counter()
    api = ApiSandbox.start(settings, database=None)
    t_start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", api.port)) as s:  # the first client, as curl would be
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    t_first = time.perf_counter()
    assert data.startswith(b"HTTP/1.1 200"), data[:50]
    api.stop()
    out.update(imports=t_import - t0, start=t_start - t_import, first=t_first - t0,
               stop=time.perf_counter() - t_first)
worker = threading.Thread(target=lesson_opens)
worker.start(); worker.join()
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    results = []
    for _ in range(args.runs):
        done = subprocess.run([sys.executable, "-c", CHILD], cwd=root, capture_output=True, text=True, check=True)
        results.append(json.loads(done.stdout))
    if args.json:
        print(json.dumps({key: round(statistics.median(r[key] for r in results), 4) for key in results[0]}))
        return
    for key in ("imports", "start", "first", "stop"):
        values = [r[key] * 1000 for r in results]
        print(f"{key:>8}: median {statistics.median(values):6.1f} ms   (min {min(values):.1f}, max {max(values):.1f})")
    median = statistics.median(r["first"] for r in results)
    print(
        f"lesson opens -> first response: median {median * 1000:.1f} ms over {args.runs} runs "
        f"(target <= 300 ms): {'OK' if median <= 0.3 else 'OVER'}"
    )


if __name__ == "__main__":
    main()
