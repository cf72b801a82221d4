"""The traffic check's fast path (lazy differences, method/path pre-filter, early drop) picks the same
closest exchange, with the same differences in the same words, as scoring every exchange in full."""

from __future__ import annotations

import itertools
import json
from typing import Any

from sandboxes.api.recorder import Exchange
from tutor.checks.http_match import closest, matches, request_differences, response_differences
from tutor.pack.specs_http import TrafficExpectation


def exchange(number: int, method: str, path: str, query: str, status: int, body: Any, auth: str | None) -> Exchange:
    headers = [("authorization", auth)] if auth else []
    return Exchange(
        id=number,
        time=0.0,
        source="outside",
        method=method,
        path=path,
        query=query,
        request_headers=headers,
        request_body=b"",
        status=status,
        response_headers=[("content-type", "application/json")],
        response_body=json.dumps(body).encode(),
    )


def slow_closest(expectation: TrafficExpectation, log: list[Exchange]) -> tuple[Exchange, list[str]] | None:
    best, best_score = None, 0
    for e in log:
        request_diffs = request_differences(expectation.request, e)
        diffs = request_diffs + response_differences(expectation.response, e)
        score = 2 * len(request_diffs) + len(diffs)
        if best is None or score <= best_score:
            best, best_score = (e, diffs), score
    return best


def test_fast_closest_agrees_with_scoring_everything() -> None:
    log = [
        exchange(n, method, path, query, status, {"id": n % 3}, auth)
        for n, (method, path, query, status, auth) in enumerate(
            itertools.product(
                ("GET", "POST", "DELETE"),
                ("/v1/books", "/v1/books/", "/v1/books/7", "/v1/authors"),
                ("", "limit=5", "limit=5&offset=5"),
                (200, 204, 404),
                (None, "Bearer x"),
            )
        )
    ]
    expectations = [
        {"request": {"method": "GET", "path": "/v1/books", "query": {"limit": "5", "offset": "5"}}, "response": {}},
        {
            "request": {"method": "DELETE", "path": "/v1/books/7", "headers": {"Authorization": "*"}},
            "response": {"status": 204},
        },
        {"request": {"path": "/v1/authors"}, "response": {"status": [200, 201], "json": {"id": 2}}},
        {"request": {"method": "PATCH"}, "response": {"status": 200}},
        {"request": {"path_pattern": "/v1/books/[0-9]+"}, "response": {"status": 404, "json": {"id": 1}}},
    ]
    for raw in expectations:
        expectation = TrafficExpectation.model_validate(raw)
        for window in (log, log[::-1], log[:7], log[40:41]):
            assert closest(expectation, window) == slow_closest(expectation, window)
            for e in window:
                full = not request_differences(expectation.request, e) and not response_differences(
                    expectation.response, e
                )
                assert matches(expectation, e) is full


def test_json_values_in_the_differences_are_spelled_as_json() -> None:
    """`{"single_flight": false}` sent for `{"single_flight": true}`: the difference says `expected true`
    (the body's own word), not Python's `True`."""
    expectation = TrafficExpectation.model_validate(
        {"request": {"method": "PUT", "path": "/_sandbox/caching", "json": {"single_flight": True, "note": None}}}
    )
    sent = exchange(1, "PUT", "/_sandbox/caching", "", 422, {}, None)
    sent.request_body = b'{"single_flight": false, "note": 1}'
    sent.request_headers = [("content-type", "application/json")]
    words = " ".join(request_differences(expectation.request, sent))
    assert "expected true, sent false" in words and "True" not in words
    assert "expected null, sent 1" in words and "None" not in words
