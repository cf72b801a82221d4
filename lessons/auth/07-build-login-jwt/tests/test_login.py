"""What a failed login may tell. Each test's docstring is what a learner reads when it fails."""

import statistics
import time

import app
from fastapi.testclient import TestClient

client = TestClient(app.app)


def login(username: str, password: str):
    return client.post("/login", json={"username": username, "password": password})


def test_same_answer():
    """A wrong password and an unknown username must get the very same answer, status, body and
    headers: any difference tells an attacker which usernames exist."""
    wrong = login("ada", "not her password")
    unknown = login("mallory", "not her password")
    assert wrong.status_code == 401, f"a wrong password for ada got {wrong.status_code}, not 401"
    assert unknown.status_code == 401, f"an unknown user got {unknown.status_code}, not 401"
    assert unknown.text == wrong.text, f"the bodies differ: {wrong.text} for ada, {unknown.text} for mallory"
    assert dict(unknown.headers) == dict(wrong.headers), (
        f"the headers differ: {dict(wrong.headers)} for ada, {dict(unknown.headers)} for mallory"
    )


def test_a_challenge_with_every_401():
    """A 401 must say how to authenticate with a WWW-Authenticate header (RFC 9110, section 15.5.2)."""
    refused = login("ada", "not her password")
    assert "www-authenticate" in refused.headers, "the 401 for a wrong password has no WWW-Authenticate header"


def test_same_time():
    """An unknown username must take about as long to refuse as a wrong password: check the password
    against a dummy hash, so the time of the answer does not tell which usernames exist."""
    known, unknown = [], []
    for attempt in range(3):
        started = time.perf_counter()
        login("ada", f"guess number {attempt}")
        known.append(time.perf_counter() - started)
        started = time.perf_counter()
        login(f"nobody-{attempt}", f"guess number {attempt}")
        unknown.append(time.perf_counter() - started)
    quick, slow = statistics.median(unknown) * 1000, statistics.median(known) * 1000
    assert quick >= 0.25 * slow, f"an unknown user was refused in {quick:.0f} ms, a wrong password in {slow:.0f} ms"


def test_bounded_input():
    """A password of 100,000 characters must be refused before it is hashed (422 or 400): a login must
    not do unbounded work for whoever asks."""
    huge = login("ada", "x" * 100_000)
    assert huge.status_code in (400, 422), f"a 100,000-character password got {huge.status_code}"
