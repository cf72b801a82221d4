"""A payment worker under at-least-once delivery. Each test's docstring is what a learner reads when it fails.

The tests stand in for the payment provider (a small server of their own, which counts the charges it
makes and fails when a test asks it to) and for the queue: they deliver jobs to POST /jobs/charge, again
and at the same moment, as a queue does after a lost acknowledgement. A restarted worker, and a second
worker beside the first, are the app served by uvicorn in a Python process of its own on the same
database file: nothing of the first process's memory reaches them, only what is in the database.
"""

import importlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


class Provider:
    """A payment provider that takes the money on every POST /charges, like one without idempotency keys.
    `fail_next`: its next N calls answer 503 and charge nothing; `delay`: seconds each call takes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                time.sleep(provider.delay)
                with provider.lock:
                    provider.calls += 1
                    if provider.fail_next > 0:
                        provider.fail_next -= 1
                        status, answer = 503, {"detail": "the provider is unavailable"}
                    else:
                        provider.charges.append(body)
                        status, answer = 200, {"id": f"ch_{len(provider.charges)}"}
                data = json.dumps(answer).encode()
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

    def reset(self) -> None:
        self.calls = 0
        self.fail_next = 0
        self.delay = 0.0
        self.charges: list[dict] = []

    def charged(self, order_id: int) -> int:
        return sum(1 for c in self.charges if c.get("order_id") == order_id)


PROVIDER = Provider()
os.environ["PAYMENTS_URL"] = PROVIDER.url

import app  # noqa: E402 - after PAYMENTS_URL points at the tests' own provider
from fastapi.testclient import TestClient  # noqa: E402


class Process:
    """The learner's app served by uvicorn in a Python process of its own, as `uvicorn app:app` runs it:
    its memory is its own; only the database file is shared."""

    def __init__(self, db: Path) -> None:
        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            port = free.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.log = db.parent / f"worker-{port}.log"
        with self.log.open("wb") as log:
            command = [sys.executable, "-m", "uvicorn", "app:app", "--app-dir", str(Path(app.__file__).parent)]
            self.proc = subprocess.Popen(  # noqa: S603 - the tutor's own Python serving the learner's app
                [*command, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                cwd=db.parent,
                env={**os.environ, "BACKEND_TUTOR_DB": str(db), "PAYMENTS_URL": PROVIDER.url},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        try:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    return
                except OSError:
                    said = self.log.read_text(errors="replace").strip().splitlines()[-3:]
                    assert self.proc.poll() is None, f"your app did not start as a process of its own: {said}"
                    assert time.monotonic() < deadline, "your app took more than 30 s to start as a process of its own"
                    time.sleep(0.05)
        except BaseException:
            self.stop()
            raise

    def deliver(self, job: dict) -> int:
        import httpx

        return httpx.post(f"{self.url}/jobs/charge", json=job, timeout=20).status_code

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Worker:
    """The learner's app started on a database file. `restart()` starts it again on the same file, in a
    process of its own; `second=True` is another worker process beside the first."""

    def __init__(self, db: Path, second: bool = False) -> None:
        self.db = db
        self.client: TestClient | None = None
        self.process: Process | None = None
        if second:
            self.process = Process(db)
        else:
            self.start()

    def start(self) -> None:
        os.environ["BACKEND_TUTOR_DB"] = str(self.db)
        module = importlib.reload(app)
        for name in ("PAYMENTS_URL",):
            if isinstance(getattr(module, name, None), str):
                setattr(module, name, PROVIDER.url)
        for name in ("DB_PATH", "DB", "DATABASE"):
            if isinstance(getattr(module, name, None), str):
                setattr(module, name, str(self.db))
        self.client = TestClient(module.app, raise_server_exceptions=False)
        self.client.__enter__()

    def stop(self) -> None:
        if self.client is not None:
            self.client.__exit__(None, None, None)
            self.client = None
        if self.process is not None:
            self.process.stop()
            self.process = None

    def restart(self) -> None:
        """A new worker process on the same database, as after a deploy or a crash."""
        self.stop()
        self.process = Process(self.db)

    def deliver(self, job_id: str, order_id: int, amount_cents: int = 1250) -> int:
        job = {"job_id": job_id, "order_id": order_id, "amount_cents": amount_cents}
        if self.process is not None:
            return self.process.deliver(job)
        assert self.client is not None
        return self.client.post("/jobs/charge", json=job).status_code


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Worker]:
    PROVIDER.reset()
    one = Worker(tmp_path / "worker.db")
    yield one
    one.stop()


@pytest.fixture
def other(worker: Worker) -> Iterator[Worker]:
    """A second worker process beside `worker`, on the same database; stopped whatever the test's outcome."""
    second = Worker(worker.db, second=True)
    yield second
    second.stop()


def test_a_job_charges_the_card_once(worker: Worker) -> None:
    """A job delivered once is charged once and acknowledged with a 2xx."""
    status = worker.deliver("job-1", order_id=1)
    assert 200 <= status < 300, f"your worker answered {status} to a job it could charge"
    assert PROVIDER.charged(1) == 1, f"the provider was charged {PROVIDER.charged(1)} times for one job"


def test_a_job_delivered_again_is_acknowledged_and_not_charged_again(worker: Worker) -> None:
    """A job delivered again (its acknowledgement was lost) is acknowledged with a 2xx and not charged again."""
    first = worker.deliver("job-1", order_id=1)
    assert 200 <= first < 300, f"your worker answered {first} to a job it could charge"
    again = worker.deliver("job-1", order_id=1)
    charged = PROVIDER.charged(1)
    assert charged == 1, f"the same job delivered twice charged the card {charged} times"
    assert 200 <= again < 300, (
        f"your worker answered {again} to a job it had already done: the queue will keep delivering it; "
        "acknowledge it with a 2xx"
    )
    other = worker.deliver("job-2", order_id=2, amount_cents=4999)
    assert 200 <= other < 300 and PROVIDER.charged(2) == 1, "another job (job-2) was not charged"
    same_amount = worker.deliver("job-3", order_id=3)
    assert 200 <= same_amount < 300 and PROVIDER.charged(3) == 1, (
        "another job for the same amount as job-1 (job-3, order 3) was not charged: the key is the job, "
        "not what it charges"
    )


def test_a_restarted_worker_still_knows_the_jobs_it_did(worker: Worker) -> None:
    """After a restart, a job delivered again is not charged again: what was done is kept in the database."""
    worker.deliver("job-1", order_id=1)
    worker.restart()
    again = worker.deliver("job-1", order_id=1)
    charged = PROVIDER.charged(1)
    assert charged == 1, f"after a restart, the job delivered again charged the card {charged} times"
    assert 200 <= again < 300, f"after a restart, your worker answered {again} to a job it had already done"


def test_a_failed_charge_is_not_acknowledged_and_runs_again(worker: Worker) -> None:
    """When the provider fails, the worker answers 5xx, and the next delivery of the job does charge the card."""
    PROVIDER.fail_next = 1
    first = worker.deliver("job-1", order_id=1)
    assert 500 <= first < 600, (
        f"the provider failed and your worker answered {first}: the queue forgets a job it gets a 2xx for, "
        "and this one was never charged"
    )
    again = worker.deliver("job-1", order_id=1)
    charged = PROVIDER.charged(1)
    assert charged == 1, f"the job delivered again after a failed charge charged the card {charged} times, not once"
    assert 200 <= again < 300, f"your worker answered {again} to the delivery that charged the card"


def test_two_deliveries_at_the_same_moment_charge_once(worker: Worker, other: Worker) -> None:
    """Two worker processes given the same job at once charge it once: the claim is one step in the database."""
    PROVIDER.delay = 0.5
    start = threading.Barrier(2)
    answers: list[int] = []

    def deliver(one: Worker) -> None:
        start.wait()
        answers.append(one.deliver("job-7", order_id=7))

    threads = [threading.Thread(target=deliver, args=(one,)) for one in (worker, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    charged = PROVIDER.charged(7)
    assert charged == 1, f"two deliveries of the same job at the same moment charged the card {charged} times"
    assert any(200 <= s < 300 for s in answers), f"neither delivery was acknowledged: {answers}"
    other.stop()
    PROVIDER.delay = 0.0
    later = worker.deliver("job-7", order_id=7)
    assert 200 <= later < 300 and PROVIDER.charged(7) == 1, (
        f"a delivery after both answered {later}: the job was charged, so acknowledge it without charging again"
    )
