"""A sandbox that fails to start, or dies mid-lesson, is reported and can be restarted with Ctrl+T."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from tests.pack.helpers import write_pack
from tutor.app.widgets.request_workbench import RequestWorkbench

pytestmark = pytest.mark.anyio
SIZE = (120, 40)

MANIFEST = """\
id: restart-pack
title: Restart pack
version: 1.0.0
tracks:
  - {id: http, title: HTTP}
"""
LESSON = """\
id: items
title: Items
track: http
sandboxes:
  sql:
    sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'a');"
  api:
    resources:
      - {name: items, table: t}
steps:
  - id: get
    title: Get them
    text: Send GET /v1/items.
    check:
      kind: http_traffic
      expect:
        - request: {method: GET, path: /v1/items}
          response: {status: 200}
    solution:
      requests: [{method: GET, path: /v1/items}]
"""


@pytest.fixture
def api_pack(tmp_path: Path) -> Path:
    return write_pack(tmp_path / "pack", {"http/01.yaml": LESSON}, manifest=MANIFEST)


async def test_a_dead_api_is_reported_and_restarted_on_the_same_port(
    app_factory: Any, settle: Any, api_pack: Path
) -> None:
    app = app_factory(api_pack)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_lesson("items")
        await settle(pilot)
        screen = app.screen
        api = screen.session.api
        assert api is not None and api.alive
        port = api.port
        # an HTTP step: the request workbench is in front, the prompt names the learner's own tools, and
        # each workbench's top line says where they reach the sandbox
        from textual.widgets import TabbedContent

        assert screen.query_one("#workbench-tabs", TabbedContent).active == "workbench-api"
        prompt = str(screen.query_one("#answer-prompt", Static).render())
        assert "curl" in prompt and "sqlite3" in prompt
        assert api.base_url in str(screen.query_one("#rw-base", Static).render())
        assert "live.db" in str(screen.query_one("#sql-path", Static).render())
        api.stop()  # the server dies under the learner
        screen.watch_sandboxes()
        assert screen.reported_problems == ["the sandbox API has stopped"]
        await pilot.press("f12")
        await settle(pilot)
        assert screen.session.api is not api
        assert screen.session.api.alive
        assert screen.session.api.port == port
        screen.watch_sandboxes()
        assert screen.reported_problems == []
        assert screen.query(RequestWorkbench)


async def test_a_sandbox_that_fails_to_start_says_why_and_can_retry(
    app_factory: Any, settle: Any, api_pack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sandboxes.api.sandbox import ApiSandbox
    from sandboxes.api.server import SandboxStartError

    real_start = ApiSandbox.start.__func__  # type: ignore[attr-defined]
    calls = []

    def flaky_start(cls: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise SandboxStartError("port 8000 is in use")
        return real_start(cls, *args, **kwargs)

    monkeypatch.setattr(ApiSandbox, "start", classmethod(flaky_start))
    app = app_factory(api_pack)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_lesson("items")
        await settle(pilot)
        error = str(app.screen.query_one(".workbench-error", Static).render())
        assert "could not start" in error and "port 8000 is in use" in error and "F12" in error and "Ctrl+P" in error
        await pilot.press("f12")
        await settle(pilot)
        assert app.screen.session.api is not None and app.screen.session.api.alive
        assert app.screen.query(RequestWorkbench)


async def test_http_step_sent_from_the_request_workbench_is_checked(
    app_factory: Any, settle: Any, api_pack: Path
) -> None:
    from textual.widgets import Input

    app = app_factory(api_pack)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_lesson("items")
        await settle(pilot)
        await pilot.press("f5")  # nothing sent yet
        await settle(pilot)
        assert "Not yet" in str(app.screen.query_one("#verdict", Static).render())
        url = app.screen.query_one("#rw-url", Input)
        url.focus()
        url.value = "/v1/items"
        await pilot.press("ctrl+r")  # send, from inside the lesson (F5 is the lesson's check)
        await settle(pilot)
        await pilot.pause(0.3)
        await pilot.press("f5")
        await settle(pilot)
        assert "Passed" in str(app.screen.query_one("#verdict", Static).render())


def test_the_api_keeps_its_port_across_runs_of_the_same_lesson(tutor_home) -> None:
    """curl lines in the learner's other terminal keep working after the tutor restarts."""
    from tests.conftest import BUILTIN
    from tutor.pack.loader import load_pack_or_raise
    from tutor.paths import Home
    from tutor.session import Session

    pack = load_pack_or_raise(BUILTIN)
    lesson = pack.lesson("n-plus-one")
    assert lesson is not None
    with Session(pack, lesson, Home(tutor_home)) as first:
        first.start()
        assert first.api is not None
        port = first.api.port
    with Session(pack, lesson, Home(tutor_home)) as again:
        again.start()
        assert again.api is not None and again.api.port == port
    # another program has the port now: the next run takes another, and says nothing is wrong
    # (another tutor cannot hold it: it cannot open the same lesson, see tests/test_lesson_lock.py)
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        with Session(pack, lesson, Home(tutor_home)) as third:
            third.start()
            assert third.api is not None and third.api.port != port
