"""A pack written for an earlier release checks for what the sandbox no longer sends: `pack test` says
the case failed and names the likely cause (the change, and what to check instead)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli
from tutor.http.retired import CHALLENGE, RATE_LIMIT, READ_PRECONDITION, likely_cause

EARLIER = Path(__file__).resolve().parent / "fixtures" / "earlier-release-pack"


def test_pack_test_names_the_retired_rate_limit_header(tutor_home: Path) -> None:
    result = run_cli("pack", "test", str(EARLIER), home=tutor_home, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if "limits/remaining" in line and "solution" in line)
    assert "response header RateLimit-Remaining: missing" in line
    assert "likely cause: the sandbox no longer sends RateLimit-Limit, RateLimit-Remaining" in line
    assert 'RateLimit: "bucket";r=REMAINING;t=SECONDS' in line and "CHANGELOG.md" in line


def test_the_likely_causes() -> None:
    assert likely_cause("first difference: response header ratelimit-reset: missing") == RATE_LIMIT
    assert likely_cause("response header X-RateLimit-Limit: missing") == RATE_LIMIT
    old = (
        'first difference: response header WWW-Authenticate: expected \'Bearer error="invalid_token", '
        'error_description="token expired"\', got \'Bearer realm="sandbox", error="invalid_token", ...\''
    )
    assert likely_cause(old) == CHALLENGE
    assert likely_cause("response header WWW-Authenticate: missing") is None  # no 401 at all: another cause
    assert likely_cause("status: expected 200, got 404") is None


def test_pack_test_names_the_read_that_now_answers_412(tutor_home: Path) -> None:
    result = run_cli("pack", "test", str(EARLIER), "--lesson", "validators", home=tutor_home, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if "validators/revalidate" in line and "solution" in line)
    assert "status: expected 304, got 412" in line and READ_PRECONDITION in line
    assert likely_cause("status: expected 200, got 412 | sent: POST /v1/books | if-match: x") is None  # a write
