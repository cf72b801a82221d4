"""/openapi.json is the truth: schemathesis, a schema-driven fuzzer, runs every one of its checks against
the built-in lessons' APIs, anonymously and logged in as the lesson's first user, and finds no server
error, no schema-valid request refused, no schema-violating request accepted, no undocumented status,
no response that breaks its schema, no Allow header that lies.

Bounded in time on two cores: the lessons fuzzed are a few that together turn on every API setting the
built-in lessons use (see `_covering`); a fixed seed (the same cases every run, so a failure is
reproducible with the printed `st replay` or curl line), 5 examples per operation in the fuzzing and
stateful phases, no shrinking; the coverage phase (schemathesis's own boundary values for every
parameter and body field) runs in full. The lesson's deliberate `latency_ms` is set to 0: it changes
no answer, only how long the run takes.

Four allowances, where no schema can say what the server rightly refuses:
- a list with cursor pagination answers 400 to a `cursor` it did not give out (a cursor is opaque,
  docs/sandbox-api.md, "The cursor format"); for those GET operations, 400 is accepted;
- with `idempotency_keys`, an `Idempotency-Key` used again with another body is 422 (as the IETF
  httpapi Idempotency-Key draft says); for those POST operations, 422 is accepted.
- with `password_reset`, a reset confirm answers 400 to a token the server did not mail (a token is
  a random secret, docs/sandbox-api.md, "Password reset"); for that POST, 400 is accepted.
- a writable resource whose table has a CHECK constraint (`total_cents > 0`) answers 422 to a value the
  constraint refuses: a CHECK is any SQL expression, which a schema cannot carry; for its POST, PUT and
  PATCH, 422 is accepted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sandboxes.api.sandbox import ApiSandbox
from tests.conftest import BUILTIN, REPO
from tutor.pack.loader import load_pack_or_raise
from tutor.pack.sandbox_api import ApiSettings
from tutor.paths import Home
from tutor.session import Session

PACK = load_pack_or_raise(BUILTIN)
API_LESSONS = [entry.lesson.id for entry in PACK.lessons if entry.lesson.sandboxes.api is not None]


def _features(value: Any, prefix: str = "") -> set[str]:
    """The settings a lesson's API turns on, as paths (`caching.etag=True`, `resources[].pagination`)."""
    if isinstance(value, dict):
        return set().union(*(_features(v, f"{prefix}.{k}" if prefix else k) for k, v in value.items()), set())
    if isinstance(value, list):
        return set().union(*(_features(v, prefix + "[]") for v in value), set())
    return {f"{prefix}={value}" if isinstance(value, bool) else prefix}


def _covering(lesson_ids: list[str]) -> list[str]:
    """Few lessons that, together, turn on every API setting any built-in lesson uses (greedy set cover):
    each setting's routes, bodies and headers are fuzzed at least once. BACKEND_TUTOR_FUZZ_ALL=1 fuzzes
    every lesson's API instead (about half a minute each on two cores)."""
    features = {}
    for lesson_id in lesson_ids:
        lesson = PACK.lesson(lesson_id)
        assert lesson is not None and lesson.sandboxes.api is not None
        features[lesson_id] = _features(lesson.sandboxes.api.model_dump(exclude_defaults=True, mode="json"))
    left = set().union(*features.values())
    chosen: list[str] = []
    while left:
        best = max(sorted(features), key=lambda lesson_id: len(features[lesson_id] & left))
        chosen.append(best)
        left -= features[best]
    return chosen


POSITIVE = ["2xx", "3xx", "401", "403", "404", "409", "429"]


def _checked_tables(database: Path | None) -> set[str]:
    """The tables of the lesson's database that have a CHECK constraint."""
    if database is None:
        return set()
    import sqlite3

    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    finally:
        connection.close()
    return {name for name, sql in rows if sql and "CHECK" in sql.upper()}


def _config(settings: ApiSettings, logged_in: bool = False, checked: frozenset[str] = frozenset()) -> str:
    """schemathesis.toml: the two allowances above, and nothing else; `logged_in`: every request carries
    the access token of the lesson's first user (fetched from /auth/login, fetched again after a 401,
    since the fuzzer's own POST /auth/logout revokes it)."""
    lines: list[str] = []
    if logged_in:
        assert settings.auth is not None and settings.auth.users
        user = settings.auth.users[0]
        lines += [
            "[auth.dynamic.openapi.bearer]",
            'path = "/auth/login"',
            f"payload = {{ username = {json.dumps(user.username)}, password = {json.dumps(user.password)} }}",
            'extract_selector = "/access_token"',
            "retry_on = [401]",
            "",
        ]
    if settings.auth is not None and settings.auth.password_reset is not None:
        lines += [
            "[[operations]]",
            'include-path = "/auth/password-reset/confirm"',
            'include-method = "POST"',
            "[operations.checks.positive_data_acceptance]",
            f"expected-statuses = {json.dumps([*POSITIVE, '400'])}",
            "",
        ]
    for resource in settings.resources:
        allowances = []
        if resource.pagination == "cursor":
            allowances.append(("GET", "400"))
        if settings.idempotency_keys and resource.writable:
            allowances.append(("POST", "422"))
        if resource.writable and resource.table in checked:
            allowances += [("POST", "422"), ("PUT", "422"), ("PATCH", "422")]
        for method, status in allowances:
            for version in settings.versions:
                path = f"/{version}/{resource.name}" + ("" if method == "POST" else "/{id}")
                lines += [
                    "[[operations]]",
                    f'include-path = "{path}"',
                    f'include-method = "{method}"',
                    "[operations.checks.positive_data_acceptance]",
                    f"expected-statuses = {json.dumps([*POSITIVE, status])}",
                    "",
                ]
    return "\n".join(lines)


FUZZED = API_LESSONS if os.environ.get("BACKEND_TUTOR_FUZZ_ALL") else _covering(API_LESSONS)


def _logs_in_with_a_password(lesson_id: str) -> bool:
    """Whether the lesson's first user gets an access token from /auth/login alone: not with a second factor
    (`mfa`), whose code no schema can supply (tests/api/test_mfa.py covers that login over real HTTP)."""
    auth = PACK.lesson(lesson_id).sandboxes.api.auth  # type: ignore[union-attr]
    if auth is None or not auth.users:
        return False
    return auth.mfa is None or bool(auth.mfa.accounts and auth.users[0].username not in auth.mfa.accounts)


RUNS = [(lesson_id, False) for lesson_id in FUZZED] + [
    (lesson_id, True) for lesson_id in FUZZED if _logs_in_with_a_password(lesson_id)
]


def test_the_builtin_pack_has_api_lessons_to_fuzz() -> None:
    assert len(API_LESSONS) >= 4, API_LESSONS


@pytest.mark.slow
@pytest.mark.parametrize(("lesson_id", "logged_in"), RUNS, ids=[f"{i}-{'in' if li else 'out'}" for i, li in RUNS])
def test_schemathesis_finds_nothing(lesson_id: str, logged_in: bool, tmp_path: Path) -> None:
    lesson = next(e.lesson for e in PACK.lessons if e.lesson.id == lesson_id)
    api_settings = lesson.sandboxes.api
    assert api_settings is not None
    fast = api_settings.model_copy(
        update={"resources": [r.model_copy(update={"latency_ms": 0}) for r in api_settings.resources]}
    )
    config = tmp_path / "schemathesis.toml"
    with Session(
        PACK,
        lesson.model_copy(update={"sandboxes": lesson.sandboxes.model_copy(update={"api": None})}),
        Home(tmp_path).ensure(),
    ) as session:
        session.start()  # the lesson's database, if it has one
        database = session.sql.path if session.sql is not None else None
        config.write_text(_config(api_settings, logged_in, frozenset(_checked_tables(database))), encoding="utf-8")
        api = ApiSandbox.start(fast, database=database)
        try:
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "schemathesis.cli",
                    "--config-file",
                    str(config),
                    "run",
                    f"{api.base_url}/openapi.json",
                    "--checks",
                    "all",
                    "--max-examples",
                    "5",
                    "--seed",
                    "1",
                    "--no-shrink",
                    "--workers",
                    "1",
                    "--request-timeout",
                    "10",
                ],
                capture_output=True,
                text=True,
                timeout=180,
                cwd=tmp_path,  # its reports, if any, land here
                env={
                    **os.environ,
                    "SCHEMATHESIS_HOOKS": "tests.api.schemathesis_hooks",
                    "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
                },
            )
        finally:
            api.stop()
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout or " passed" in result.stdout
