"""A fresh login sandbox: how long it takes to start, and how long each first failed login takes.

Each run is a fresh interpreter that loads what the course map needs (the pack format), then, in a
worker thread as the app does: imports the sandbox, starts the API of a lesson with seeded accounts
(`login-gives-nothing-away` by default) and gets its first response over real HTTP ("start"). At
once it sends one failed login ("early": a seeded account in odd runs, an unknown username in even
ones), which may arrive while the sandbox is still hashing the seeded passwords. Then ("ready") it
waits until those hashes are made, and sends failed logins in turn: each seeded account with a wrong
password and an unknown username, twice each. A login with a wrong password must cost the same
whether the account exists or not, from the very first try: the figures that matter are the ratio of
a seeded account's first failed login to an unknown user's, and of the two early kinds.

    .venv/bin/python benchmarks/login_timing.py [--runs 5] [--lesson ID] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, threading, time, http.client
import yaml
import tutor.pack.models  # what the course map already loaded
from tutor.pack.sandbox_api import ApiSettings
lesson = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
settings = ApiSettings.model_validate(lesson["sandboxes"]["api"])
seeded = [user.username for user in settings.auth.users]
out = {}

def post(port, username):
    body = json.dumps({"username": username, "password": "not-the-password"})
    connection = http.client.HTTPConnection("127.0.0.1", port)
    t0 = time.perf_counter()
    connection.request("POST", "/auth/login", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    took = time.perf_counter() - t0
    connection.close()
    assert response.status == 401, response.status
    return took

def lesson_opens():
    early = seeded[0] if int(sys.argv[2]) % 2 else "nobody-early"
    t0 = time.perf_counter()
    from sandboxes.api.sandbox import ApiSandbox
    api = ApiSandbox.start(settings, database=None)
    connection = http.client.HTTPConnection("127.0.0.1", api.port)
    connection.request("GET", "/health")
    assert connection.getresponse().status == 200
    connection.close()
    out["start"] = time.perf_counter() - t0
    out["early_kind"] = "seeded" if early in seeded else "unknown"
    out["early"] = post(api.port, early)
    auth = api.app.state.auth
    if hasattr(auth, "_hashed"):
        auth._hashed.wait()
    out["ready"] = time.perf_counter() - t0
    logins = {}
    for round in (1, 2):
        for name in seeded:  # each account, then an unknown name, in turn
            logins[f"{name}#{round}"] = post(api.port, name)
            logins[f"unknown-{name}#{round}"] = post(api.port, f"nobody-{name}-{round}")
    out["logins"] = logins
    api.stop()

worker = threading.Thread(target=lesson_opens)
worker.start(); worker.join()
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lesson", default="auth/03-login-gives-nothing-away.yaml", help="a lesson file in lessons/")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = parser.parse_args()
    lesson = ROOT / "lessons" / args.lesson
    results = []
    for run in range(args.runs):
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(lesson), str(run + 1)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(done.stdout))
    names = list(results[0]["logins"])
    logins = {name: statistics.median(r["logins"][name] for r in results) for name in names}
    first_seeded = [v for k, v in logins.items() if k.endswith("#1") and not k.startswith("unknown-")]
    first_unknown = [v for k, v in logins.items() if k.endswith("#1") and k.startswith("unknown-")]
    early = {
        kind: round(statistics.median([r["early"] for r in results if r["early_kind"] == kind] or [0.0]), 4)
        for kind in ("seeded", "unknown")
    }
    summary = {
        "start": round(statistics.median(r["start"] for r in results), 4),
        "ready": round(statistics.median(r["ready"] for r in results), 4),
        "early_seeded": early["seeded"],
        "early_unknown": early["unknown"],
        "first_seeded": round(max(first_seeded), 4),
        "first_unknown": round(min(first_unknown), 4),
        "ratio": round(max(first_seeded) / min(first_unknown), 2),
        "logins": {k: round(v, 4) for k, v in logins.items()},
    }
    if args.json:
        print(json.dumps(summary))
        return
    print(f"lesson opens -> first response: median {summary['start'] * 1000:.1f} ms over {args.runs} runs")
    print(f"lesson opens -> seeded passwords hashed: median {summary['ready'] * 1000:.1f} ms")
    print(
        f"a failed login sent at once: seeded account {early['seeded'] * 1000:.0f} ms, "
        f"unknown user {early['unknown'] * 1000:.0f} ms (medians)"
    )
    for name, value in logins.items():
        print(f"  {name:>28}: median {value * 1000:7.1f} ms")
    print(
        f"slowest first failed login of a seeded account / quickest first of an unknown user: "
        f"{summary['first_seeded'] * 1000:.0f} / {summary['first_unknown'] * 1000:.0f} ms = {summary['ratio']}x"
    )


if __name__ == "__main__":
    main()
