"""A build-it app against an upstream that fails on purpose: its URL reaches the app through `build.env`
(`{{upstream_url_rates}}`), and `code_http` judges what the upstream saw: the app's own timeout fired
(`abandoned`), it retried with a backoff (`calls`, `min_gap_ms`), and it answered in time (`max_ms`).
`pack test` replays it all: every check numbers the upstream's calls from 1, so the same faults come."""

from __future__ import annotations

from pathlib import Path

from tests.pack.helpers import problems, write_pack
from tutor.pack.loader import load_pack_or_raise
from tutor.packtest import run_pack_test

LESSON = """\
id: calls-out
title: Calling a service that fails
track: http
sandboxes:
  api:
    upstreams:
      - name: rates
        script: [hang, error, error, ok, hang]
build:
  starter: http/calls/starter
  env: {RATES_URL: "{{upstream_url_rates}}"}
steps:
  - id: timeout
    title: A timeout
    text: Give the call a timeout.
    check:
      kind: code_http
      steps:
        - request: {method: GET, path: /quote}
          expect: {status: 504}
          max_ms: 2500
          upstream: {name: rates, calls: {at_most: 1}, abandoned: {at_least: 1}}
        - request: {method: GET, path: /quote}
          expect: {status: 200}
          upstream: {name: rates, calls: {at_least: 3}, min_gap_ms: 300}
    hints: [httpx.get(url, timeout=0.5)]
    solution:
      files: http/calls/right
    wrong_answers:
      - files: http/calls/slow
        feedback: A 4-second timeout is no timeout for a page.
      - files: http/calls/hammer
        feedback: Wait between retries.
"""

APP = """\
import os, time
import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse

app = FastAPI()
URL = os.environ["RATES_URL"]

@app.get("/quote")
def quote():
    for attempt in range(ATTEMPTS):
        try:
            answer = httpx.get(URL + "/rates", timeout=TIMEOUT)
        except httpx.TimeoutException:
            return JSONResponse({"detail": "rates timed out"}, status_code=504)
        if answer.status_code < 500:
            return answer.json()
        time.sleep(PAUSE)
    return JSONResponse({"detail": "rates failed"}, status_code=502)
"""


def app(attempts: int, timeout: float, pause: float) -> str:
    return APP.replace("ATTEMPTS", str(attempts)).replace("TIMEOUT", str(timeout)).replace("PAUSE", str(pause))


def build_pack(tmp_path: Path, lesson: str = LESSON) -> Path:
    root = write_pack(tmp_path, {"http/01-calls.yaml": lesson})
    versions = {
        "starter": app(1, 30, 0),  # no useful timeout, no retry
        "right": app(3, 0.5, 0.4),
        "slow": app(3, 4, 0.4),  # answers 504 too, but after 4 s
        "hammer": app(3, 0.5, 0),  # retries at once
    }
    for name, text in versions.items():
        folder = root / "http" / "calls" / name
        folder.mkdir(parents=True)
        (folder / "app.py").write_text(text)
    return root


def test_pack_test_replays_the_faults_and_tells_the_apps_apart(tmp_path: Path) -> None:
    report = run_pack_test(load_pack_or_raise(build_pack(tmp_path)))
    cases = {c.case: c for c in report.cases if c.severity == "case"}
    assert {name: c.passed for name, c in cases.items()} == {
        "the starter files": True,
        "wrong answer 1": True,
        "wrong answer 2": True,
        "solution": True,
    }, [c.line_text() for c in report.cases]


def test_the_checks_words_for_each_mistake(tmp_path: Path) -> None:
    from tutor.paths import Home
    from tutor.session import Session

    pack = load_pack_or_raise(build_pack(tmp_path / "pack"))
    lesson = pack.lessons[0].lesson
    step = lesson.steps[0]
    with Session(pack, lesson, Home(tmp_path / "home").ensure()) as session:
        session.start()
        assert session.code is not None and session.api is not None
        assert session.code.environment()["RATES_URL"] == session.api.upstream_urls["rates"]
        session.begin_step(step)
        results = {}
        for name in ("slow", "hammer", "right", "right"):
            session.apply(type(step.solution).model_validate({"files": f"http/calls/{name}"}))
            results.setdefault(name, []).append(session.check(step))
    slow = results["slow"][0]
    assert not slow.passed and slow.summary.startswith("Request 1 of 2: your app took ")
    assert "this step needs an answer within 2500 ms" in slow.summary
    hammer = results["hammer"][0]
    assert not hammer.passed
    assert hammer.summary.startswith("Request 2 of 2: your app called rates again ")
    assert all(r.passed for r in results["right"])  # twice in a row: the faults came in the same order


def test_a_step_naming_an_unknown_upstream_or_value_is_refused_where_it_is(tmp_path: Path) -> None:
    lesson = LESSON.replace("{name: rates, calls: {at_most: 1}", "{name: quotes, calls: {at_most: 1}")
    lesson = lesson.replace('RATES_URL: "{{upstream_url_rates}}"', 'RATES_URL: "{{upstream_url_fx}}"')
    found = problems(build_pack(tmp_path, lesson))
    assert any(
        "http/01-calls.yaml:11:20" in p and "'{{upstream_url_fx}}' is unknown: this lesson's sandboxes have" in p
        for p in found
    ), found
    assert any(
        ":22:28" in p and "no upstream 'quotes' in this lesson's `sandboxes.api.upstreams`: its upstreams are" in p
        for p in found
    ), found
