"""The request workbench in a tiny host app, against a real sandbox API on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input, OptionList, Select, Static, TabbedContent, TextArea

from sandboxes.api.sandbox import ApiSandbox
from tests.api.helpers import make_db, settings
from tests.api.workbench_host import FakeSession, WorkbenchHost
from tutor.app.messages import WorkbenchActed
from tutor.app.widgets.load_tool import LoadTool
from tutor.app.widgets.request_workbench import RequestWorkbench
from tutor.app.widgets.response_view import ResponseView
from tutor.app.widgets.traffic_view import TrafficView
from tutor.http.curl import to_curl
from tutor.http.load import LoadStats, percentile
from tutor.http.request import RequestSpec, parse_headers
from tutor.http.response import format_ms, server_time_ms

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiSandbox]:
    db = make_db(tmp_path_factory.mktemp("db") / "lesson.db")
    sandbox = ApiSandbox.start(settings(caching={"app_cache_ttl": 30, "etag": True}), database=db)
    yield sandbox
    sandbox.stop()


async def _send(pilot, method: str, url: str, headers: str = "", body: str = "") -> RequestWorkbench:
    wb = pilot.app.query_one(RequestWorkbench)
    wb.query_one("#rw-method", Select).value = method
    wb.query_one("#rw-url", Input).value = url
    wb.query_one("#rw-headers", TextArea).text = headers
    wb.query_one("#rw-body", TextArea).text = body
    wb.query_one("#rw-url", Input).focus()
    await pilot.press("ctrl+r")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    return wb


async def test_send_shows_response_history_traffic_and_posts_message(api: ApiSandbox, tutor_home: Path) -> None:
    app = WorkbenchHost(FakeSession(api, tutor_home))
    async with app.run_test(size=(120, 40)) as pilot:
        wb = await _send(pilot, "GET", "/v1/books/2")
        status = str(wb.query_one("#rw-status", Static).render())
        assert "GET /v1/books/2  ->  200 OK" in status
        assert wb.query_one("#rw-tabs", TabbedContent).active == "rw-tab-response"
        assert '"title": "Book 002"' in wb.query_one("#rw-response", ResponseView).text
        exchange = api.recorder.all()[-1]
        assert exchange.source == "workbench" and exchange.path == "/v1/books/2"
        assert isinstance(app.messages[-1], WorkbenchActed) and app.messages[-1].workbench == "api"

        wb = await _send(pilot, "POST", "/v1/books", "Idempotency-Key: k1", '{"title": 5}')
        assert "422" in str(wb.query_one("#rw-status", Static).render())
        assert api.recorder.all()[-1].request_header("content-type") == "application/json"
        assert wb.history is not None
        assert [e.request.label() for e in wb.history.entries()] == ["GET /v1/books/2", "POST /v1/books"]
        assert wb.query_one("#rw-history", OptionList).option_count == 2

        traffic = wb.query_one(TrafficView)
        traffic.refresh_traffic()
        assert traffic.last_id == api.recorder.last_id

        # History recalls a request into the editor (newest first: the GET is the second).
        wb.query_one("#rw-history", OptionList).highlighted = 1
        wb.query_one("#rw-history", OptionList).action_select()
        await pilot.pause()
        assert wb.query_one("#rw-url", Input).value == "/v1/books/2"
        assert wb.query_one("#rw-method", Select).value == "GET"


async def test_copy_as_curl_and_full_urls(api: ApiSandbox) -> None:
    app = WorkbenchHost(FakeSession(api))
    async with app.run_test(size=(120, 40)) as pilot:
        wb = app.query_one(RequestWorkbench)
        wb.query_one("#rw-method", Select).value = "POST"
        wb.query_one("#rw-url", Input).value = api.base_url + "/v1/books"
        wb.query_one("#rw-body", TextArea).text = '{"title": "It\'s"}'
        await pilot.press("ctrl+s")
        await pilot.pause()
        expected = (
            f"curl -i {api.base_url}/v1/books -H 'Content-Type: application/json' "
            '--data-raw \'{"title": "It\'"\'"\'s"}\''
        )
        assert app.clipboard == expected
        assert str(wb.query_one("#rw-curl", Static).render()) == expected


async def test_outside_traffic_shows_up_live(api: ApiSandbox) -> None:
    app = WorkbenchHost(FakeSession(api))
    async with app.run_test(size=(120, 40)) as pilot:
        traffic = app.query_one(TrafficView)
        before = traffic.last_id
        import httpx

        async with httpx.AsyncClient(trust_env=False) as client:
            await client.get(api.base_url + "/v1/books/3")
        await pilot.pause(0.4)
        assert traffic.last_id > before
        assert api.recorder.all()[-1].source == "outside"


async def test_load_tool_reports_percentiles_and_cache_ratio(api: ApiSandbox) -> None:
    app = WorkbenchHost(FakeSession(api))
    async with app.run_test(size=(120, 40)) as pilot:
        wb = app.query_one(RequestWorkbench)
        wb.query_one("#rw-url", Input).value = "/v1/books/4"
        load = wb.query_one(LoadTool)
        load.query_one("#load-n", Input).value = "30"
        load.query_one("#load-c", Input).value = "3"
        for _ in range(2):
            await pilot.press("f9")
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert load.last is not None and load.previous is not None
        assert load.last.requests == 30 and load.last.errors == 0
        assert load.last.hit_ratio == 1.0
        assert "p95" in str(load.query_one("#load-now", Static).render())
        # a real chart: axes labelled, the percentiles and the hit ratio in its title
        chart = str(load.query_one("#load-chart").render())
        assert "p50" in chart and "p99" in chart and "cache hits 100%" in chart and "ms" in chart
        assert str(load.query_one("#load-before", Static).render()).startswith("before:")


def test_pure_helpers() -> None:
    assert parse_headers("A: 1\nnot a header\n# comment\nB:2") == ({"A": "1", "B": "2"}, ["not a header"])
    assert percentile([1, 2, 3, 4], 0.5) in (2, 3) and percentile([], 0.9) == 0.0
    stats = LoadStats.build(4, 2, [(1.0, 200, "HIT"), (2.0, 200, "MISS"), (3.0, 500, None), (9.0, 0, None)], 1.0)
    assert stats.errors == 2 and stats.hit_ratio == 0.5 and stats.p(0.99) == 9.0
    assert to_curl(RequestSpec("GET", "/x"), "http://h") == "curl -i http://h/x"
    # curl sends POST when given data: a GET with a body must say -X GET, or the copy does something else
    assert to_curl(RequestSpec("GET", "/x", body='{"a": 1}'), "http://h").startswith("curl -i -X GET http://h/x")
    assert "-X" not in to_curl(RequestSpec("POST", "/x", body="{}"), "http://h")
    assert to_curl(RequestSpec("HEAD", "/x"), "http://h") == "curl -I http://h/x"
    assert server_time_ms("db;dur=0.11, total;dur=0.26") == 0.26
    assert server_time_ms('app;dur="3.5";desc="x"') == 3.5
    assert server_time_ms(None) is None and server_time_ms("miss") is None
    assert format_ms(0.26) == "0.26 ms" and format_ms(17.64) == "17.6 ms" and format_ms(1234.0) == "1,234 ms"


async def test_a_request_typed_while_the_api_starts_goes_once_it_runs(api: ApiSandbox) -> None:
    """The workbench exists before its API: the URL box takes text at once, Send says it waits, and
    the request goes as soon as the session's API runs."""
    app = WorkbenchHost(FakeSession(None))
    async with app.run_test(size=(80, 24)) as pilot:
        assert "starting" in str(app.query_one("#rw-base", Static).render())
        app.query_one("#rw-url", Input).focus()
        await pilot.press(*"/v1/books/5")
        before = api.recorder.last_id
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert "goes as soon as the lesson's API runs" in str(app.query_one("#rw-status", Static).render())
        assert api.recorder.last_id == before
        app.query_one(RequestWorkbench).attach(FakeSession(api))
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert api.recorder.all()[-1].path == "/v1/books/5"
        assert "GET /v1/books/5  ->  200 OK" in str(app.query_one("#rw-status", Static).render())
        assert api.base_url in str(app.query_one("#rw-base", Static).render())


async def test_an_empty_url_is_not_sent_as_the_index(api: ApiSandbox) -> None:
    """The greyed example in the URL box is not a value: Send with it empty says so, sends nothing."""
    app = WorkbenchHost(FakeSession(api))
    async with app.run_test(size=(80, 24)) as pilot:
        before = api.recorder.last_id
        wb = app.query_one(RequestWorkbench)
        wb.query_one("#rw-url", Input).focus()
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert api.recorder.last_id == before
        assert "Type a path first" in str(wb.query_one("#rw-status", Static).render())


async def test_the_response_shows_the_servers_own_time_beside_the_round_trip(api: ApiSandbox) -> None:
    app = WorkbenchHost(FakeSession(api))
    async with app.run_test(size=(120, 40)) as pilot:
        await _send(pilot, "GET", "/v1/books/5")
        wb = await _send(pilot, "GET", "/v1/books/5")  # a cache hit
        status = str(wb.query_one("#rw-status", Static).render())
        exchange = api.recorder.all()[-1]
        assert exchange.header("x-cache") == "HIT"
        server = server_time_ms(exchange.header("server-timing"))
        assert server is not None and server < 1.0
        assert f"server {format_ms(server)}" in status and "round trip" in status


async def test_sending_from_the_body_shows_the_response_and_a_token_can_be_reused(api: ApiSandbox) -> None:
    app = WorkbenchHost(FakeSession(api))
    async with app.run_test(size=(120, 40)) as pilot:
        wb = app.query_one(RequestWorkbench)
        wb.query_one("#rw-url", Input).value = "/v1/books/2"
        wb.query_one("#rw-tabs", TabbedContent).active = "rw-tab-request"
        await pilot.pause()
        wb.query_one("#rw-body", TextArea).focus()
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert wb.query_one("#rw-tabs", TabbedContent).active == "rw-tab-response"
        assert app.focused is wb.query_one("#rw-response", ResponseView).area

        class Answer:
            def json(self) -> dict[str, str]:
                return {"access_token": "abc.def.ghi", "token_type": "bearer"}

        wb.last_response = Answer()
        wb.query_one("#rw-headers", TextArea).text = "Authorization: Bearer old\nAccept: application/json"
        await pilot.press("ctrl+u")
        await pilot.pause()
        headers = wb.query_one("#rw-headers", TextArea).text.splitlines()
        assert headers == ["Accept: application/json", "Authorization: Bearer abc.def.ghi"]


async def test_f10_moves_the_lesson_clock_without_touching_the_request_being_composed(api: ApiSandbox) -> None:
    app = WorkbenchHost(FakeSession(api))
    async with app.run_test(size=(80, 24)) as pilot:
        wb = app.query_one(RequestWorkbench)
        wb.query_one("#rw-url", Input).value = "/v1/books/7"
        wb.query_one("#rw-url", Input).focus()
        before = api.app.state.clock.offset
        await pilot.press("f10")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert api.app.state.clock.offset == before + 60
        assert "POST /_sandbox/clock  ->  200 OK" in str(wb.query_one("#rw-status", Static).render())
        assert '"offset_seconds"' in wb.query_one("#rw-response", ResponseView).text
        assert wb.query_one("#rw-url", Input).value == "/v1/books/7"
