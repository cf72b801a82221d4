"""Upstreams that fail on purpose: a second service on its own port on 127.0.0.1, whose faults follow
from its seed and each call's number (so the same seed gives the same faults, and a restored state
replays them), with outages on the lesson clock; and the sandbox's own route that calls it with a
timeout, retries with backoff and jitter, a circuit breaker and a bulkhead."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from sandboxes.api import logs
from sandboxes.api.sandbox import ApiSandbox
from sandboxes.api.upstream import plan
from tutor.pack.sandbox_api import ApiSettings

FAULTY = {
    "name": "payments",
    "seed": 7,
    "latency": {"median_ms": 2, "p99_ms": 40},
    "error_rate": 0.25,
    "reset_rate": 0.1,
    "drip_rate": 0.05,
    "drip_bytes_per_second": 2000,
    "switchable": True,
}


def start(*upstreams: dict[str, Any], **more: Any) -> ApiSandbox:
    return ApiSandbox.start(ApiSettings.model_validate({"upstreams": list(upstreams), **more}), database=None)


@pytest.fixture
def sandbox() -> Iterator[ApiSandbox]:
    api = start(FAULTY, logs={})
    yield api
    api.stop()


def outcome(client: httpx.Client, url: str) -> str:
    """What a caller sees of one call: its status, or how it failed."""
    try:
        return str(client.get(url).status_code)
    except httpx.TimeoutException:
        return "timeout"
    except httpx.TransportError:
        return "reset"


def run_calls(api: ApiSandbox, count: int, timeout: float = 2.0) -> list[str]:
    url = api.upstream_urls["payments"] + "/charge"
    with httpx.Client(trust_env=False, timeout=timeout) as client:
        return [outcome(client, url) for _ in range(count)]


def recorded(api: ApiSandbox, count: int) -> list[Any]:
    hub = api.app.state.upstreams
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        calls = hub.all_calls("payments")
        if len(calls) >= count and all(c.done for c in calls):
            return calls
        time.sleep(0.01)
    raise AssertionError("the calls were not all recorded")


def test_the_same_seed_gives_the_same_faults_and_another_seed_other_ones() -> None:
    faults = {"error_rate": 0.3, "reset_rate": 0.1, "hang_rate": 0.05, "latency": {"median_ms": 10, "p99_ms": 200}}
    first = [plan("payments", 7, n, faults) for n in range(1, 201)]
    assert first == [plan("payments", 7, n, faults) for n in range(1, 201)]
    assert first != [plan("payments", 8, n, faults) for n in range(1, 201)]
    kinds = [fault for fault, _ in first]
    assert 40 <= kinds.count("error") <= 80 and 8 <= kinds.count("reset") <= 35 and kinds.count("ok") > 80
    latencies = sorted(ms for _, ms in first)
    assert 7 <= latencies[100] <= 14 and 80 <= latencies[197] <= 400  # median ~10, p99 ~200


def test_two_upstreams_with_one_seed_meet_the_same_faults_over_real_http() -> None:
    one, two = start(FAULTY), start(FAULTY)
    try:
        seen_one, seen_two = run_calls(one, 40), run_calls(two, 40)
        assert seen_one == seen_two
        assert {"200", "503", "reset"} <= set(seen_one)
        faults = [c.fault for c in recorded(one, 40)]
        assert faults == [c.fault for c in recorded(two, 40)]
        assert faults == [plan("payments", 7, n, one.app.state.upstreams.faults("payments"))[0] for n in range(1, 41)]
    finally:
        one.stop()
        two.stop()


def test_a_restored_state_replays_the_same_faults(sandbox: ApiSandbox) -> None:
    run_calls(sandbox, 5)
    snapshot = sandbox.snapshot()
    first = run_calls(sandbox, 25)
    sandbox.restore(snapshot)
    assert run_calls(sandbox, 25) == first
    numbers = [c.number for c in recorded(sandbox, 55)]
    assert numbers[5:30] == numbers[30:55] == list(range(6, 31))


def test_script_comes_first_then_the_rates() -> None:
    api = start({"name": "payments", "script": ["error", "reset", "ok", "error"], "error_rate": 0})
    try:
        assert run_calls(api, 7) == ["503", "reset", "200", "503", "200", "200", "200"]
    finally:
        api.stop()


def test_an_outage_is_a_window_of_lesson_time() -> None:
    api = start({"name": "payments", "outages": [{"start": 60, "seconds": 30, "behaviour": "error"}]})
    try:
        assert run_calls(api, 2) == ["200", "200"]
        api.advance_clock(61)
        assert run_calls(api, 2) == ["503", "503"]
        assert all(c.outage for c in recorded(api, 4)[2:])
        api.advance_clock(30)
        assert run_calls(api, 1) == ["200"]
    finally:
        api.stop()


def test_an_outage_started_by_hand_ends_with_the_clock_or_by_hand(sandbox: ApiSandbox) -> None:
    with httpx.Client(base_url=sandbox.base_url, trust_env=False, timeout=5) as c:
        started = c.post("/_sandbox/upstreams/payments/outage", json={"seconds": 120, "behaviour": "reset"})
        assert started.status_code == 201
        assert [o["now"] for o in started.json()["outages"]] == [True]
        assert set(run_calls(sandbox, 5)) == {"reset"}
        sandbox.advance_clock(121)
        run_calls(sandbox, 3)  # after the window, the rates decide again
        assert [c.outage for c in recorded(sandbox, 8)] == [True] * 5 + [False] * 3
        c.post("/_sandbox/upstreams/payments/outage", json={"seconds": 600})
        assert set(run_calls(sandbox, 3)) == {"503"}
        ended = c.delete("/_sandbox/upstreams/payments/outage")
        assert ended.json()["ended"] == 1 and ended.json()["outages"] == []
        bad = c.post("/_sandbox/upstreams/payments/outage", json={"seconds": -1, "behaviour": "smoke"})
        assert bad.status_code == 422
        assert {e["field"] for e in bad.json()["errors"]} == {"seconds", "behaviour"}


def test_faults_are_switched_only_where_the_lesson_allows() -> None:
    api = start({"name": "fixed"}, {"name": "open", "switchable": True})
    try:
        with httpx.Client(base_url=api.base_url, trust_env=False, timeout=5) as c:
            assert c.put("/_sandbox/upstreams/fixed", json={"error_rate": 1}).status_code == 403
            assert c.post("/_sandbox/upstreams/fixed/outage", json={"seconds": 5}).status_code == 403
            too_much = c.put("/_sandbox/upstreams/open", json={"error_rate": 0.8, "reset_rate": 0.5})
            assert too_much.status_code == 422
            assert "at most 1" in too_much.json()["errors"][0]["message"]
            assert c.put("/_sandbox/upstreams/open", json={"colour": "red"}).status_code == 422
            switched = c.put("/_sandbox/upstreams/open", json={"error_rate": 1, "retry_after": 3})
            assert switched.status_code == 200 and switched.json()["faults"]["error_rate"] == 1
            answer = httpx.get(api.upstream_urls["open"] + "/x", trust_env=False)
            assert (answer.status_code, answer.headers["retry-after"]) == (503, "3")
            assert answer.headers["content-type"] == "application/problem+json"
            assert c.get("/_sandbox/upstreams/nothing").status_code == 404
    finally:
        api.stop()


def test_each_fault_as_a_caller_meets_it() -> None:
    api = start({"name": "payments", "script": ["hang", "drip", "reset", "error", "ok"], "drip_bytes_per_second": 40})
    try:
        url = api.upstream_urls["payments"] + "/pay"
        with httpx.Client(trust_env=False, timeout=0.3) as client:
            assert outcome(client, url) == "timeout"  # hang: nothing comes back
        with httpx.Client(trust_env=False, timeout=5) as client:
            begin = time.perf_counter()
            dripped = client.get(url)
            took = time.perf_counter() - begin
            assert dripped.status_code == 200 and dripped.json()["call"] == 2
            assert took >= len(dripped.content) / 40 * 0.8  # the body trickled at 40 bytes a second
            assert outcome(client, url) == "reset"
            assert outcome(client, url) == "503"
            assert client.get(url).json() == {"service": "payments", "call": 5, "path": "/pay", "ok": True}
        calls = recorded(api, 5)
        assert [c.fault for c in calls] == ["hang", "drip", "reset", "error", "ok"]
        assert [c.abandoned for c in calls] == [True, False, False, False, False]
        assert [c.status for c in calls] == [0, 200, 0, 503, 200]
    finally:
        api.stop()


def test_a_caller_that_times_out_is_seen_giving_up(sandbox: ApiSandbox) -> None:
    api = start({"name": "payments", "latency": {"median_ms": 400}})
    try:
        url = api.upstream_urls["payments"] + "/slow"
        with httpx.Client(trust_env=False, timeout=0.1) as client:
            assert outcome(client, url) == "timeout"
        with httpx.Client(trust_env=False, timeout=2) as client:
            assert outcome(client, url) == "200"
        gave_up, waited = recorded(api, 2)
        assert gave_up.abandoned and gave_up.status == 0 and gave_up.duration_ms < 350
        assert not waited.abandoned and waited.duration_ms >= 390
    finally:
        api.stop()


def test_calls_in_flight_are_counted(sandbox: ApiSandbox) -> None:
    api = start({"name": "payments", "latency": {"median_ms": 300}})
    try:
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(lambda _: run_calls(api, 1), range(6)))
        assert max(c.in_flight for c in recorded(api, 6)) >= 4
        with httpx.Client(base_url=api.base_url, trust_env=False) as c:
            assert c.get("/_sandbox/upstreams/payments").json()["stats"]["all"]["max_in_flight"] >= 4
    finally:
        api.stop()


def test_the_upstream_listens_on_loopback_only(sandbox: ApiSandbox) -> None:
    servers = sandbox.upstream_servers
    assert servers is not None
    assert all(s.getsockname()[0] == "127.0.0.1" for s in servers._sockets.values())
    assert sandbox.upstream_urls["payments"].startswith("http://127.0.0.1:")


def test_calls_are_log_lines_of_their_own_service(sandbox: ApiSandbox) -> None:
    run_calls(sandbox, 6)
    url = sandbox.upstream_urls["payments"] + "/charge"
    httpx.get(url, headers={"X-Request-Id": "order-77"}, trust_env=False)
    calls = recorded(sandbox, 7)
    deadline = time.monotonic() + 5
    while len(list(logs.read(sandbox.log_path))) < 7 and time.monotonic() < deadline:
        time.sleep(0.01)
    lines = [r for r in logs.read(sandbox.log_path) if r["service"] == "payments"]
    assert [(r["call"], r["fault"]) for r in lines] == [(c.number, c.fault) for c in calls]
    assert logs.story(sandbox.log_path, "order-77")[0]["path"] == "/charge"


# -- the sandbox's own route, called with a client policy --------------------------------------------
ROUTED = {
    "name": "rates",
    "script": ["error", "reset", "ok", "error", "error", "error", "error"],
    "route": "/v1/rates",
    "client": {"timeout_ms": 500, "retries": 2, "backoff_ms": 50, "jitter": "none", "switchable": True},
}


def test_the_route_retries_with_backoff_and_says_how_many_attempts(tmp_path: Any) -> None:
    api = start(ROUTED, logs={})
    try:
        with httpx.Client(base_url=api.base_url, trust_env=False, timeout=5) as c:
            ok = c.get("/v1/rates", headers={"X-Request-Id": "quote-1"})
            assert (ok.status_code, ok.headers["x-upstream-attempts"]) == (200, "3")
            assert ok.json()["call"] == 3
            failed = c.get("/v1/rates")
            assert (failed.status_code, failed.headers["x-upstream-attempts"]) == (502, "3")
            assert failed.json()["detail"] == "rates answered 503 (3 attempts)"
        first = api.app.state.upstreams.all_calls("rates")[:3]
        gaps = [(b.arrived - a.arrived) * 1000 for a, b in itertools.pairwise(first)]
        assert gaps[0] >= 50 and gaps[1] >= 100  # 50 ms, then doubled
        assert {c.request_id for c in first} == {"quote-1"}  # the id travels with each attempt
        exchange = next(e for e in api.recorder.all() if e.request_id == "quote-1")
        labels = [e.label for e in exchange.trace if e.kind in ("upstream", "backoff")]
        assert labels == [
            "rates attempt 1: 503",
            "wait 50 ms before retry 1",
            "rates attempt 2: reset",
            "wait 100 ms before retry 2",
            "rates attempt 3: 200",
        ]
        deadline = time.monotonic() + 5
        while len(story := logs.story(api.log_path, "quote-1")) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [r["service"] for r in story].count("rates") == 3
        assert next(r for r in story if r["service"] == "api")["upstream_calls"] == 3
    finally:
        api.stop()


def test_jitter_is_random_between_requests_and_the_same_on_replay() -> None:
    routed = {**ROUTED, "script": [], "error_rate": 1.0}
    routed["client"] = {**ROUTED["client"], "retries": 3, "backoff_ms": 40, "jitter": "full"}
    api = start(routed)
    try:

        def waits() -> list[str]:
            with httpx.Client(base_url=api.base_url, trust_env=False, timeout=5) as c:
                c.get("/v1/rates")
            exchange = api.recorder.wait_for_ref("never") or api.recorder.all()[-1]
            return [e.label for e in exchange.trace if e.kind == "backoff"]

        snapshot = api.snapshot()
        first, second = waits(), waits()
        assert len(first) == 3 and first != second
        api.restore(snapshot)
        assert waits() == first
    finally:
        api.stop()


def test_a_timeout_is_a_504_and_a_breaker_opens_then_tries_again_on_the_lesson_clock() -> None:
    routed = {
        "name": "rates",
        "script": ["hang", "hang", "error", "ok", "ok"],
        "route": "/v1/rates",
        "client": {"timeout_ms": 100, "breaker": {"failures": 3, "open_seconds": 30}},
    }
    api = start(routed)
    try:
        with httpx.Client(base_url=api.base_url, trust_env=False, timeout=5) as c:
            assert c.get("/v1/rates").status_code == 504
            assert c.get("/v1/rates").status_code == 504
            assert c.get("/v1/rates").status_code == 502  # the third failure in a row opens it
            refused = c.get("/v1/rates")
            assert refused.status_code == 503 and 29 <= int(refused.headers["retry-after"]) <= 30
            state = c.get("/_sandbox/upstreams/rates").json()["breaker"]
            assert state["state"] == "open" and state["failures_in_a_row"] == 3
            assert len(api.app.state.upstreams.all_calls("rates")) == 3  # no call while open
            api.advance_clock(31)
            trial = c.get("/v1/rates")
            assert trial.status_code == 200 and trial.json()["call"] == 4
            assert c.get("/_sandbox/upstreams/rates").json()["breaker"]["state"] == "closed"
    finally:
        api.stop()


def test_a_bulkhead_refuses_at_once_what_does_not_fit() -> None:
    routed = {
        "name": "rates",
        "latency": {"median_ms": 400},
        "route": "/v1/rates",
        "client": {"timeout_ms": 2000, "bulkhead": 2},
    }
    api = start(routed)
    try:
        barrier = threading.Barrier(5)

        def one(_: int) -> tuple[int, float]:
            with httpx.Client(base_url=api.base_url, trust_env=False, timeout=5) as c:
                barrier.wait()
                begin = time.perf_counter()
                status = c.get("/v1/rates").status_code
                return status, time.perf_counter() - begin

        with ThreadPoolExecutor(5) as pool:
            results = list(pool.map(one, range(5)))
        statuses = sorted(s for s, _ in results)
        assert statuses == [200, 200, 503, 503, 503]
        assert all(t < 0.3 for s, t in results if s == 503)  # refused at once, not queued
        assert max(c.in_flight for c in api.app.state.upstreams.all_calls("rates")) <= 2
    finally:
        api.stop()


def test_the_client_policy_switch_stands_in_for_the_code_change() -> None:
    api = start({**ROUTED, "script": ["error", "ok"]})
    try:
        with httpx.Client(base_url=api.base_url, trust_env=False, timeout=5) as c:
            assert c.put("/_sandbox/upstreams/rates/client", json={"retries": 0}).status_code == 200
            assert c.get("/v1/rates").status_code == 502
            bad = c.put("/_sandbox/upstreams/rates/client", json={"retries": 99, "jitter": "lots"})
            assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} == {"retries", "jitter"}
            described = c.put("/_sandbox/upstreams/rates/client", json={"retries": 1, "breaker": {"failures": 2}})
            assert described.json()["client"]["breaker"] == {"failures": 2, "open_seconds": 30.0}
            assert c.get("/v1/rates").status_code == 200
    finally:
        api.stop()


def test_a_lesson_without_upstreams_starts_nothing_for_them() -> None:
    api = ApiSandbox.start(ApiSettings.model_validate({}), database=None)
    try:
        assert api.upstream_servers is None and api.upstream_urls == {}
        assert httpx.get(api.base_url + "/_sandbox/upstreams", trust_env=False).status_code == 404
        assert not any(t.name == "sandbox-upstreams" for t in threading.enumerate())
    finally:
        api.stop()


def test_bad_settings_are_refused_when_the_lesson_loads() -> None:
    with pytest.raises(ValueError, match="at most 1"):
        ApiSettings.model_validate({"upstreams": [{"name": "a", "error_rate": 0.7, "hang_rate": 0.5}]})
    with pytest.raises(ValueError, match="same `name`"):
        ApiSettings.model_validate({"upstreams": [{"name": "a"}, {"name": "a"}]})
    with pytest.raises(ValueError, match="already serves"):
        ApiSettings.model_validate({"upstreams": [{"name": "a", "route": "/health"}]})
    with pytest.raises(ValueError, match="p99_ms"):
        ApiSettings.model_validate({"upstreams": [{"name": "a", "latency": {"median_ms": 50, "p99_ms": 10}}]})
