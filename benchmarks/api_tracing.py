"""What request tracing costs: a cached GET with tracing on, against the same app with it off, in one run.

Two servers from the same settings and database, both wrapped in the traffic recorder, one tracing
(the default) and one with `build_app(..., tracing=False)`, driven alternately by the same client in
interleaved rounds so machine noise hits both alike. Target: tracing costs at most 10% of cached-GET
throughput. For information, the same comparison on an uncached page that runs 22 SQL statements
(an N+1 list), where every statement is timed, counted in VM steps and planned.

    .venv/bin/python benchmarks/api_tracing.py [--requests 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
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
    conn.execute("CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT, year INTEGER, author_id INTEGER)")
    conn.executemany("INSERT INTO authors VALUES (?, ?)", [(i, f"Author {i}") for i in range(1, 41)])
    conn.executemany(
        "INSERT INTO books VALUES (?, ?, ?, ?)", [(i, f"Book {i}", 1950 + i % 70, i % 40 + 1) for i in range(1, 501)]
    )
    conn.commit()
    conn.close()
    return path


def rate(client: httpx.Client, url: str, n: int, cache: str | None) -> float:
    begin = time.perf_counter()
    for _ in range(n):
        response = client.get(url)
        assert response.status_code == 200 and response.headers.get("x-cache") == cache
    return n / (time.perf_counter() - begin)


def compare(settings: ApiSettings, db: Path, path: str, n: int, rounds: int, cache: str | None) -> dict[str, float]:
    recorders = {"tracing on": TrafficRecorder(), "tracing off": TrafficRecorder()}
    servers = {
        name: ThreadedServer(build_app(settings, database=db, recorder=rec, tracing=name == "tracing on"))
        for name, rec in recorders.items()
    }
    rates: dict[str, list[float]] = {name: [] for name in servers}
    try:
        for server in servers.values():
            server.start()
        with httpx.Client(trust_env=False) as client:
            urls = {name: f"http://127.0.0.1:{s.port}{path}" for name, s in servers.items()}
            for url in urls.values():
                client.get(url)  # warm up (and fill the app cache when there is one)
                rate(client, url, 50, cache)
            for _ in range(rounds):
                for name, url in urls.items():
                    rates[name].append(rate(client, url, n, cache))
        last_on = recorders["tracing on"].all()[-1]
        last_off = recorders["tracing off"].all()[-1]
        assert last_on.trace and not last_off.trace, "tracing on must record events, off none"
    finally:
        for server in servers.values():
            server.stop()
    for name, values in rates.items():
        print(f"  {name:>11}: median {statistics.median(values):7.0f} req/s  ({', '.join(f'{v:.0f}' for v in values)})")
    return {name: statistics.median(values) for name, values in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    db = make_db(Path(tempfile.mkdtemp()) / "bench.db")
    relation = {"name": "author", "table": "authors", "foreign_key": "author_id", "strategy": "per_row"}
    cached = ApiSettings.model_validate(
        {
            "resources": [{"name": "books", "table": "books", "page_size": 20, "relations": [relation]}],
            "caching": {"etag": True, "cache_control": "max-age=60", "app_cache_ttl": 3600},
        }
    )
    uncached = ApiSettings.model_validate(
        {
            "resources": [{"name": "books", "table": "books", "page_size": 20, "relations": [relation]}],
        }
    )

    print(f"cached GET /v1/books (app cache HIT), {args.requests} requests x {args.rounds} rounds each:")
    medians = compare(cached, db, "/v1/books", args.requests, args.rounds, "HIT")
    on, off = medians["tracing on"], medians["tracing off"]
    cost = 1 - on / off
    print(
        f"tracing cost on a cached GET: {cost:.1%} of throughput (on/off = {on / off:.3f}; target <= 10%): "
        f"{'OK' if cost <= 0.10 else 'OVER'}"
    )

    small = max(args.requests // 10, 50)
    print(f"uncached GET /v1/books, 22 SQL statements (N+1), {small} requests x {args.rounds} rounds each:")
    medians = compare(uncached, db, "/v1/books", small, args.rounds, None)
    on, off = medians["tracing on"], medians["tracing off"]
    print(f"tracing cost with 22 traced statements: {1 - on / off:.1%} of throughput (for information)")


if __name__ == "__main__":
    main()
