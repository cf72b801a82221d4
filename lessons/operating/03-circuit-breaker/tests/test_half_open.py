"""What the breaker does when its open time is over. Each test's docstring is what a learner reads when it fails.

The tests stand in for the stock service (a small server of their own, whose answers they choose) and move
the clock forward instead of waiting 30 seconds: `time.monotonic()` and `time.time()` jump ahead.
"""

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Stock:
    """A stock service whose next answers the test decides: "ok" or "error", and what it got."""

    def __init__(self) -> None:
        self.failing = True
        self.calls = 0
        stock = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stock.calls += 1
                status, body = (503, {"detail": "down"}) if stock.failing else (200, {"copies": 4})
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


STOCK = Stock()
os.environ["STOCK_URL"] = STOCK.url

import app  # noqa: E402 - after STOCK_URL points at the tests' own stock service
from fastapi.testclient import TestClient  # noqa: E402

if isinstance(getattr(app, "STOCK_URL", None), str):
    app.STOCK_URL = STOCK.url


class Clock:
    """time.monotonic() and time.time() with a number of seconds added, which the tests raise."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.ahead = 0.0
        real_monotonic, real_time = time.monotonic, time.time
        monkeypatch.setattr(time, "monotonic", lambda: real_monotonic() + self.ahead)
        monkeypatch.setattr(time, "time", lambda: real_time() + self.ahead)


@pytest.fixture
def client():
    with TestClient(app.app, raise_server_exceptions=False) as c:
        yield c


def open_the_breaker(client: TestClient) -> None:
    STOCK.failing = True
    for _ in range(3):
        client.get("/stock")
    before = STOCK.calls
    refused = client.get("/stock")
    assert refused.status_code == 503 and STOCK.calls == before, (
        "after 3 failed calls in a row the breaker should refuse at once (503) without calling stock "
        f"(got {refused.status_code}, {STOCK.calls - before} call(s) to stock)"
    )


def test_after_the_open_time_one_trial_call_goes_through(client, monkeypatch):
    """When the open time is over, the next request calls stock again (a trial); its success closes the breaker."""
    clock = Clock(monkeypatch)
    open_the_breaker(client)
    clock.ahead += 31
    STOCK.failing = False
    before = STOCK.calls
    trial = client.get("/stock")
    assert STOCK.calls == before + 1, f"31 s after the breaker opened, a request made {STOCK.calls - before} call(s)"
    assert trial.status_code == 200, f"the trial call succeeded, but the answer was {trial.status_code}"
    after = client.get("/stock")
    assert after.status_code == 200 and STOCK.calls == before + 2, "after a successful trial, calls go through again"


def test_a_failed_trial_opens_it_again_at_once(client, monkeypatch):
    """When the trial call fails, the breaker opens again at once: the next request is refused without a call."""
    clock = Clock(monkeypatch)
    client.get("/stock")  # a success first: whatever an earlier test left, the count starts from 0
    STOCK.failing = False
    client.get("/stock")
    clock.ahead += 31
    client.get("/stock")
    open_the_breaker(client)
    clock.ahead += 31
    before = STOCK.calls
    trial = client.get("/stock")
    assert STOCK.calls == before + 1, f"31 s after the breaker opened, a request made {STOCK.calls - before} call(s)"
    assert trial.status_code == 502, f"the trial call failed, but the answer was {trial.status_code}"
    again = client.get("/stock")
    assert again.status_code == 503 and STOCK.calls == before + 1, (
        "after a failed trial the breaker should be open again, refusing at once (503) without calling stock "
        f"(got {again.status_code}, {STOCK.calls - before - 1} more call(s) to stock)"
    )
