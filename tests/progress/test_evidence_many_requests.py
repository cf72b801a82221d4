"""A step's evidence is captured in time that grows with its requests, not their square: a brute force
of a one-time code (hundreds of requests, each answered with the same words) is kept in about a second."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.conftest import BUILTIN
from tutor.evidence import capture
from tutor.pack.loader import load_pack_or_raise
from tutor.paths import Home
from tutor.session import Session


def test_hundreds_of_guesses_are_captured_quickly_with_the_token_carried(tmp_path: Path) -> None:
    pack = load_pack_or_raise(BUILTIN)
    lesson = pack.lesson("mfa-and-brute-force")
    assert lesson is not None
    step = next(s for s in lesson.steps if s.id == "brute")
    with Session(pack, lesson, Home(tmp_path).ensure()) as session:
        session.start()
        session.begin_step(step)
        assert session.api is not None
        with httpx.Client(base_url=session.api.base_url, trust_env=False, timeout=30) as c:
            pending = c.post("/auth/login", json={"username": "bob", "password": "builder-1234"}).json()["mfa_token"]
            for n in range(600):
                c.post("/auth/mfa/verify", json={"mfa_token": pending, "code": f"x{n:03d}"})
        started = time.perf_counter()
        evidence = capture(session, step, None)
        seconds = time.perf_counter() - started
    requests = [item for item in evidence["action"]["requests"] if "method" in item]  # waits aside
    assert len(requests) == 601
    assert requests[0]["save"] == {"mfa_token": "json:mfa_token"}
    assert requests[-1]["body"] == '{"mfa_token":"{mfa_token}","code":"x599"}'
    # before, every answer's values stayed candidates for every later request: about a minute here
    assert seconds < 15, f"capturing 601 requests took {seconds:.1f} s"
