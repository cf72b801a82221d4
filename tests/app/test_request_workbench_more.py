"""The request workbench as a learner uses it, by keys: a pasted curl command becomes the request, copy as
curl carries the session cookie, the history outlives the tutor and is searched, replayed and compared
side by side, requests are kept by name, and `/` finds text in a response. A real sandbox API."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual import events
from textual.widgets import Input, OptionList, Select, Static, TabbedContent, TextArea

from sandboxes.api.sandbox import ApiSandbox
from tests.api.helpers import make_db, settings
from tests.api.workbench_host import FakeSession, WorkbenchHost
from tutor.app.widgets.request_dialogs import DiffScreen
from tutor.app.widgets.request_workbench import RequestWorkbench
from tutor.app.widgets.response_view import ResponseView
from tutor.http.curl import parse_curl
from tutor.pack.sandbox_api import ApiSettings

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiSandbox]:
    db = make_db(tmp_path_factory.mktemp("db") / "lesson.db")
    sandbox = ApiSandbox.start(settings(caching={"app_cache_ttl": 30, "etag": True}), database=db)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[ApiSandbox]:
    """An API that answers a login with a session cookie (as the sessions lesson does)."""
    db = make_db(tmp_path / "auth.db")
    config = {
        "resources": [{"name": "books", "table": "books"}],
        "auth": {"cookie_sessions": True, "users": [{"username": "alice", "password": "wonderland-42"}]},
    }
    sandbox = ApiSandbox.start(ApiSettings.model_validate(config), database=db)
    yield sandbox
    sandbox.stop()


async def sent(pilot: Any) -> None:
    await pilot.press("ctrl+r")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


def status(app: Any) -> str:
    return str(app.query_one("#rw-status", Static).render())


async def test_a_pasted_curl_command_becomes_the_request(api: ApiSandbox, tutor_home: Path) -> None:
    """The workbench's own `try:` line and a multi-line POST, pasted into the URL box."""
    app = WorkbenchHost(FakeSession(api, tutor_home))
    async with app.run_test(size=(80, 24)) as pilot:
        url = app.query_one("#rw-url", Input)
        url.focus()
        app.post_message(events.Paste(api.curl_example()))
        await pilot.pause()
        await sent(pilot)
        assert "GET /v1/books  ->  200 OK" in status(app)
        command = (
            f"curl -i -X POST {api.base_url}/v1/books \\\n"
            "  -H 'Content-Type: application/json' -H 'Idempotency-Key: paste-1' \\\n"
            '  -d \'{"title": "Pasted", "year": 2024, "author_id": 1, "price": 9.5}\''
        )
        url.focus()
        app.post_message(events.Paste(command))
        await pilot.pause()
        wb = app.query_one(RequestWorkbench)
        assert app.query_one("#rw-method", Select).value == "POST" and url.value == "/v1/books"
        assert "Idempotency-Key: paste-1" in app.query_one("#rw-headers", TextArea).text
        await sent(pilot)
        exchange = api.recorder.all()[-1]
        assert (exchange.method, exchange.path, exchange.status) == ("POST", "/v1/books", 201)
        assert exchange.request_header("idempotency-key") == "paste-1"
        assert wb.last_record is not None and wb.last_record.status == 201
        # one it cannot take says why, and sends nothing
        before = api.recorder.last_id
        url.focus()
        app.post_message(events.Paste(f"curl -b jar.txt {api.base_url}/auth/me"))
        await pilot.pause()
        assert api.recorder.last_id == before and url.value == "/v1/books"


async def test_a_curl_typed_and_sent_at_once_goes_without_a_toast_over_the_response(
    api: ApiSandbox, tutor_home: Path
) -> None:
    """Typed into the URL box and sent with Ctrl+R, a curl command used to leave "From curl: ... Ctrl+R
    sends it." lying over the response's body for seconds after it had been sent."""
    app = WorkbenchHost(FakeSession(api, tutor_home))
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one("#rw-url", Input).focus()
        await pilot.pause()
        burst(app, *f"curl -X POST {api.base_url}/v1/books -H 'Content-Type: application/json' -d '{{}}'")
        await pilot.pause(0.2)
        await sent(pilot)
        assert "POST /v1/books  ->  422" in status(app)
        assert [n.title for n in app._notifications] == []  # the status line says what went
        app.query_one("#rw-url", Input).focus()
        app.post_message(events.Paste(api.curl_example()))  # pasted, not yet sent: it says which key sends it
        await pilot.pause()
        assert [n.title for n in app._notifications] == ["curl"]


async def test_copy_as_curl_carries_the_session_cookie(sessions: ApiSandbox, tutor_home: Path) -> None:
    """Logged in through the workbench, GET /auth/me answers 200 because the client sends the session
    cookie; the copied curl command must send it too, or it gets 401."""
    app = WorkbenchHost(FakeSession(sessions, tutor_home))
    async with app.run_test(size=(120, 40)) as pilot:
        url = app.query_one("#rw-url", Input)
        url.focus()
        await pilot.press(*"POST /auth/login", "tab")
        await pilot.press(*"Content-Type: application/json", "tab")
        await pilot.press(*'{"username": "alice", "password": "wonderland-42"}')
        await sent(pilot)
        assert "200" in status(app)
        url.focus()
        await pilot.press("ctrl+l", *"/auth/me")
        await sent(pilot)
        assert "GET /auth/me  ->  200 OK" in status(app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        command = app.clipboard
        assert "-b" in command and "session=" in command
        spec = parse_curl(command, sessions.base_url)
        with httpx.Client(base_url=sessions.base_url, trust_env=False) as fresh:  # no cookie jar of its own
            assert fresh.request(spec.method, spec.url, headers=spec.headers).status_code == 200
        curl = subprocess.run(["which", "curl"], capture_output=True, text=True).stdout.strip()
        if curl:  # the real curl, as the learner would paste it in a terminal
            import shlex

            out = subprocess.run([*shlex.split(command), "-s", "-o", "/dev/null", "-w", "%{http_code}"],
                                 capture_output=True, text=True, timeout=30)  # fmt: skip
            assert out.stdout.strip().endswith("200"), out


async def test_history_is_kept_searched_replayed_and_compared(api: ApiSandbox, tutor_home: Path) -> None:
    app = WorkbenchHost(FakeSession(api, tutor_home))
    async with app.run_test(size=(120, 40)) as pilot:
        url = app.query_one("#rw-url", Input)
        for path in ("/v1/books/3", "/v1/books/3", "/v1/books?limit=2"):  # a MISS, then a HIT
            url.focus()
            await pilot.press("ctrl+l", *path)
            await sent(pilot)
    # a new run of the tutor reads the lesson's history back
    app = WorkbenchHost(FakeSession(api, tutor_home))
    async with app.run_test(size=(120, 40)) as pilot:
        wb = app.query_one(RequestWorkbench)
        history = app.query_one("#rw-history", OptionList)
        assert history.option_count == 3
        app.query_one("#rw-tabs", TabbedContent).active = "rw-tab-history"
        search = app.query_one("#rw-history-search", Input)
        search.focus()
        await pilot.press(*"books/3", "enter")  # filter, then Enter goes to the list
        assert history.option_count == 2 and app.focused is history
        before = api.recorder.last_id
        history.highlighted = 0
        await pilot.press("r")  # replay
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert api.recorder.last_id > before and api.recorder.all()[-1].path == "/v1/books/3"
        search.value = "books/3"
        await pilot.pause()
        app.query_one("#rw-history").focus()
        history.highlighted = history.option_count - 1  # the oldest: the MISS
        await pilot.press("d")
        history.highlighted = history.option_count - 2  # the next: the HIT
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, DiffScreen)
        rows = app.screen.rows
        assert any(r.change == "changed" and "x-cache" in (r.left or "") for r in rows)
        await pilot.press("escape")
        assert wb.marked is None


async def test_keep_a_request_by_name_and_search_the_response(api: ApiSandbox, tutor_home: Path) -> None:
    app = WorkbenchHost(FakeSession(api, tutor_home))
    async with app.run_test(size=(120, 40)) as pilot:
        url = app.query_one("#rw-url", Input)
        url.focus()
        await pilot.press(*"/v1/books?limit=3")
        await pilot.press("ctrl+k")
        await pilot.pause()
        await pilot.press("ctrl+a", "ctrl+k", *"three books", "enter")
        await pilot.pause()
        saved = app.query_one("#rw-saved", OptionList)
        assert saved.option_count == 1 and "three books" in str(saved.get_option_at_index(0).prompt)
        await pilot.press("ctrl+l")
        assert url.value == ""
        app.query_one("#rw-tabs", TabbedContent).active = "rw-tab-saved"
        saved.focus()
        saved.highlighted = 0
        await pilot.press("enter")
        assert url.value == "/v1/books?limit=3" and app.focused is url
        await sent(pilot)
        view = app.query_one("#rw-response", ResponseView)
        view.focus()
        await pilot.press("slash", *"book 00")
        await pilot.pause()
        assert view.current == 0 and len(view.matches) == 3  # Book 001, 002, 003
        await pilot.press("enter")
        assert view.current == 1
        await pilot.press("escape")
        assert app.focused is view.area and view.area.selected_text == "Book 00"  # the second match, selected
        assert "Book 002" in view.area.document.get_line(view.area.selection.start[0])


def burst(app: Any, *keys: str) -> None:
    """Keys as a terminal delivers a paste or a fast typist: all of them queued at once, none waited for."""
    for key in keys:
        if len(key) == 1:
            app.post_message(events.Key(key, key))
        else:
            app.post_message(events.Key(key, "\t" if key == "tab" else None))


async def test_a_burst_of_keys_sends_what_was_typed_in_order(sessions: ApiSandbox, tutor_home: Path) -> None:
    """Typed faster than the screen keeps up: the login's text went into the URL box (the focus moved a
    moment after Tab), Send read the fields before the keys before it had reached them, and the
    second request cancelled the first. Every request now goes, with what was typed before its key."""
    app = WorkbenchHost(FakeSession(sessions, tutor_home))
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one("#rw-url", Input).focus()
        await pilot.pause()
        burst(
            app,
            *"POST /auth/login", "tab", *"Content-Type: application/json", "tab",
            *'{"username": "alice", "password": "wonderland-42"}', "ctrl+r",
            "ctrl+l", *"/auth/me", "ctrl+r",
        )  # fmt: skip
        for _ in range(100):
            await pilot.pause(0.05)
            await app.workers.wait_for_complete()
            sent = [e for e in sessions.recorder.all() if e.source == "workbench"]
            if len(sent) >= 2:
                break
        sent = [(e.method, e.path, e.status) for e in sessions.recorder.all() if e.source == "workbench"]
        assert sent == [("POST", "/auth/login", 200), ("GET", "/auth/me", 200)], sent
