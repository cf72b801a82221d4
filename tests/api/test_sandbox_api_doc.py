"""docs/sandbox-api.md cannot drift from the code: every route the app serves and every setting is in
it, every response header the examples meet is described, and every `curl` line in it is run (with
the real curl) against its reference lesson and must answer the status and headers shown."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel
from starlette.applications import Starlette

from sandboxes.api.sandbox import ApiSandbox
from tests.conftest import REPO
from tests.pack.helpers import MANIFEST, write_pack
from tutor.pack import sandbox_api, sandbox_cors, sandbox_log_history
from tutor.pack.loader import load_pack_or_raise
from tutor.paths import Home
from tutor.session import Session

DOC = (REPO / "docs" / "sandbox-api.md").read_text(encoding="utf-8")
REFERENCE = re.search(r"```yaml reference-lesson\n(.*?)```", DOC, re.S)
BLOCKS = re.findall(r"```console\n(.*?)```", DOC, re.S)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiSandbox]:
    assert REFERENCE is not None, "the reference lesson block is missing"
    root = write_pack(tmp_path_factory.mktemp("pack"), {"http/reference.yaml": REFERENCE.group(1)}, MANIFEST)
    pack = load_pack_or_raise(root)
    lesson = pack.lessons[0].lesson
    with Session(pack, lesson, Home(tmp_path_factory.mktemp("home")).ensure()) as session:
        session.start()
        assert session.api is not None
        yield session.api


def _routes(api: ApiSandbox) -> list[tuple[str, str]]:
    app: Any = api.app.app
    while not isinstance(app, Starlette):
        app = app.app
    settings = api.settings
    found = []
    for route in app.routes:
        path = route.path
        for version in settings.versions:
            for resource in settings.resources:
                path = re.sub(rf"^/{version}/{resource.name}(?=/|$)", "/v1/{resource}", path)
        for method in sorted(route.methods - {"HEAD"}):
            found.append((method, path))
    return found


def test_every_route_is_documented(reference: ApiSandbox) -> None:
    routes = _routes(reference)
    assert len(routes) >= 18
    missing = [f"{m} {p}" for m, p in routes if f"`{m} {p}`" not in DOC]
    assert missing == []


def _fields(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


@pytest.mark.parametrize(
    "model",
    [
        sandbox_api.ApiSettings,
        sandbox_api.Resource,
        sandbox_api.Relation,
        sandbox_api.HttpCaching,
        sandbox_api.RateLimit,
        sandbox_api.Auth,
        sandbox_api.WeakAuth,
        sandbox_api.LoginThrottle,
        sandbox_api.PasswordReset,
        sandbox_api.WeakReset,
        sandbox_api.Mfa,
        sandbox_api.WeakMfa,
        sandbox_api.RequestLogs,
        sandbox_api.Upstream,
        sandbox_api.Latency,
        sandbox_api.Outage,
        sandbox_api.UpstreamClient,
        sandbox_api.CircuitBreaker,
        sandbox_api.Jobs,
        sandbox_api.JobKind,
        sandbox_api.OnWrite,
        sandbox_api.Webhooks,
        sandbox_api.WebhookEvent,
        sandbox_api.EdgeCache,
        sandbox_cors.Cors,
        sandbox_cors.CorsWeak,
        sandbox_cors.Redirect,
        sandbox_log_history.LogHistory,
        sandbox_log_history.HistoryTraffic,
    ],
)
def test_every_setting_is_documented(model: type[BaseModel]) -> None:
    missing = [name for name in _fields(model) if f"`{name}`" not in DOC]
    assert missing == [], f"{model.__name__}: {missing}"


def _pattern(expected: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in expected.split("*")), re.S)


def _run(command: str, values: dict[str, str], fails: int = 0) -> tuple[int, list[tuple[str, str]], str]:
    """Run one documented curl line; `fails`: the curl exit code the doc shows (a reset, a timeout), with
    its message as the body."""
    args = shlex.split(command)
    for name, value in values.items():
        args = [a.replace(f"${name}", value) for a in args]
    assert args[0] == "curl"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    result = subprocess.run(args, capture_output=True, text=True, timeout=20, env=env)
    if fails:
        assert result.returncode == fails, f"{command}: curl exited {result.returncode}, {result.stderr}"
        return 0, [], result.stderr.strip()
    assert result.returncode == 0, result.stderr
    head, _, body = result.stdout.replace("\r\n", "\n").partition("\n\n")
    lines = head.splitlines()
    status = int(lines[0].split()[1])
    headers = [(k.strip().lower(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])]
    return status, headers, body


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_every_curl_line_answers_what_the_doc_shows(reference: ApiSandbox) -> None:
    assert len(BLOCKS) >= 20
    values = {"API": reference.base_url, "UPSTREAM": next(iter(reference.upstream_urls.values()))}
    seen: set[str] = set()
    for block in BLOCKS:
        lines = [line for line in block.splitlines() if line.strip()]
        assert lines[0].startswith("$ curl "), block
        failure = re.match(r"curl: \((\d+)\) (.*)", lines[1])
        if failure:  # what curl itself says when no answer came (a reset, a timeout)
            _, _, message = _run(lines[0][2:], values, fails=int(failure.group(1)))
            assert _pattern(lines[1]).fullmatch(message), f"{lines[0]}\n-> {message}"
            continue
        status, headers, body = _run(lines[0][2:], values)
        expected_status = int(lines[1].split()[1])
        assert status == expected_status, f"{lines[0]}\n-> {status} {body[:300]}"
        for line in lines[2:]:
            name, _, value = line.partition(": ")
            actual = [v for k, v in headers if k == name.lower()]
            assert actual, f"{lines[0]}\n-> no {name} header in {headers}"
            assert any(_pattern(value).fullmatch(v) for v in actual), f"{lines[0]}\n-> {name}: {actual}"
        seen.update(k for k, _ in headers)
        etag = [v for k, v in headers if k == "etag"]
        if etag:
            values["ETAG"] = etag[0]
        location = [v for k, v in headers if k == "location" and v.startswith("/")]
        if location:
            values["LOCATION"] = location[0]
        if body.startswith("{"):
            data = json.loads(body)
            for key, var in (("access_token", "TOKEN"), ("refresh_token", "REFRESH")):
                if isinstance(data, dict) and key in data:
                    values[var] = data[key]
            if isinstance(data, dict) and data.get("messages"):
                values["RESET"] = data["messages"][0]["token"]  # a reset mail's token, from the mailbox
            if isinstance(data, dict) and "mfa_token" in data:
                values["MFA_TOKEN"] = data["mfa_token"]
            if isinstance(data, dict) and data.get("codes"):
                values["CODE"] = data["codes"][0]["code"]  # the code on the learner's device
    undocumented = sorted(
        name for name in seen - {"server", "content-length", "content-type"} if name not in DOC.lower()
    )
    assert undocumented == []
