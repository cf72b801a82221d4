"""Throughput of a cached GET with the traffic recorder (and its tracing) on, against the bare app, in one run.

Two servers from the same settings and database, one wrapped in the recorder and one not, driven
alternately by the same client (rounds interleaved so machine noise hits both alike). Target: the
recorder costs at most 20%.

    .venv/bin/python benchmarks/api_recorder.py [--requests 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from sandboxes.api.app import build_app
from sandboxes.api.recorder import TrafficRecorder
from sandboxes.api.server import ThreadedServer
from tutor.pack.sandbox_api import ApiSettings


def make_db(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT, year INTEGER)")
    conn.executemany("INSERT INTO books VALUES (?, ?, ?)", [(i, f"Book {i}", 1950 + i % 70) for i in range(1, 501)])
    conn.commit()
    conn.close()
    return path


def rate(client: httpx.Client, url: str, n: int) -> float:
    begin = time.perf_counter()
    for _ in range(n):
        response = client.get(url)
        assert response.status_code == 200 and response.headers["x-cache"] == "HIT"
    return n / (time.perf_counter() - begin)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = parser.parse_args()
    settings = ApiSettings.model_validate(
        {
            "resources": [{"name": "books", "table": "books", "page_size": 20}],
            "caching": {"etag": True, "cache_control": "max-age=60", "app_cache_ttl": 3600},
        }
    )
    db = make_db(Path(tempfile.mkdtemp()) / "bench.db")
    recorder = TrafficRecorder()
    servers = {
        "recorder on": ThreadedServer(build_app(settings, database=db, recorder=recorder)),
        "recorder off": ThreadedServer(build_app(settings, database=db)),
    }
    rates: dict[str, list[float]] = {name: [] for name in servers}
    try:
        for server in servers.values():
            server.start()
        with httpx.Client(trust_env=False) as client:
            urls = {name: f"http://127.0.0.1:{s.port}/v1/books?limit=20" for name, s in servers.items()}
            for url in urls.values():
                client.get(url)  # fill the app cache
                rate(client, url, 200)  # warm up
            for _ in range(args.rounds):
                for name, url in urls.items():
                    rates[name].append(rate(client, url, args.requests))
    finally:
        for server in servers.values():
            server.stop()
    on, off = statistics.median(rates["recorder on"]), statistics.median(rates["recorder off"])
    # the ratio pair by pair (round by round), so drift in the machine's speed cancels out
    pairs = [a / b for a, b in zip(rates["recorder on"], rates["recorder off"], strict=True)]
    if args.json:
        print(json.dumps({"on_rps": round(on), "off_rps": round(off), "cost": round(1 - statistics.median(pairs), 4)}))
        return
    for name, values in rates.items():
        print(f"{name:>13}: median {statistics.median(values):7.0f} req/s  ({', '.join(f'{v:.0f}' for v in values)})")
    cost = 1 - on / off
    print(
        f"recorder cost: {cost:.1%} of cached-GET throughput (on/off = {on / off:.3f}; target <= 20%): "
        f"{'OK' if cost <= 0.20 else 'OVER'}; {len(recorder.all())} exchanges logged"
    )


if __name__ == "__main__":
    main()
