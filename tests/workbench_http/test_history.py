"""The request workbench's memory, on disk per lesson: the history (searchable, two responses side by
side) and the requests kept by name. A damaged file loses only what is damaged."""

from __future__ import annotations

from pathlib import Path

from tutor.http.history import HISTORY_LIMIT, RequestHistory, SavedRequests
from tutor.http.request import RequestSpec
from tutor.http.response import ResponseRecord, side_by_side


def record(status: int, cache: str, body: bytes = b'{"id": 7, "title": "Dune"}') -> ResponseRecord:
    headers = [("content-type", "application/json"), ("x-cache", cache), ("etag", '"abc"')]
    return ResponseRecord.build(status, "OK", headers, body, 1.5)


def test_history_is_kept_on_disk_in_order_and_searchable(tmp_path: Path) -> None:
    history = RequestHistory(tmp_path)
    history.add(RequestSpec("GET", "/v1/books/7"), record(200, "MISS"), at=1.0)
    history.add(
        RequestSpec("POST", "/auth/login", {"Content-Type": "application/json"}, '{"u": "alice"}'), None, at=2.0
    )
    again = RequestHistory(tmp_path)  # the next run of the tutor reads the same file
    assert [e.request.label() for e in again.entries()] == ["GET /v1/books/7", "POST /auth/login"]
    assert again.entries()[0].response is not None and again.entries()[0].response.header("x-cache") == "MISS"
    assert [e.request.url for e in again.search("alice")] == ["/auth/login"]  # in a request body
    assert [e.request.url for e in again.search("dune")] == ["/v1/books/7"]  # in a response body, any case
    assert [e.request.url for e in again.search("x-cache: miss")] == ["/v1/books/7"]  # in a header
    assert len(again.search("")) == 2


def test_history_keeps_the_newest_and_survives_a_damaged_line(tmp_path: Path) -> None:
    history = RequestHistory(tmp_path)
    for number in range(HISTORY_LIMIT + 5):
        history.add(RequestSpec("GET", f"/v1/books/{number}"), None, at=float(number))
    entries = history.entries()
    assert len(entries) == HISTORY_LIMIT and entries[-1].request.url == f"/v1/books/{HISTORY_LIMIT + 4}"
    with history.path.open("a", encoding="utf-8") as out:
        out.write('{"request": {"method": 7}}\nnot json at all\n')
    assert len(history.entries()) == HISTORY_LIMIT  # the damaged lines are skipped, the rest is read
    history.add(RequestSpec("GET", "/health"), None)
    assert "not json" not in history.path.read_text(encoding="utf-8")  # the next write is whole again


def test_saved_requests_by_name(tmp_path: Path) -> None:
    saved = SavedRequests(tmp_path)
    login = RequestSpec("POST", "/auth/login", {"Content-Type": "application/json"}, '{"username": "alice"}')
    saved.save("  log in   as alice ", login)
    saved.save("list", RequestSpec("GET", "/v1/books"))
    assert SavedRequests(tmp_path).all() == {"list": RequestSpec("GET", "/v1/books"), "log in as alice": login}
    saved.remove("list")
    assert list(saved.all()) == ["log in as alice"]
    saved.path.write_text("{broken", encoding="utf-8")
    assert saved.all() == {}


def test_two_responses_side_by_side_line_up_headers_by_name() -> None:
    """A MISS against a HIT: the status and body are the same, x-cache differs, and a header only one
    of them has stands opposite a gap."""
    miss = record(200, "MISS")
    hit = ResponseRecord.build(
        200, "OK", [("x-cache", "HIT"), ("content-type", "application/json"), ("age", "3"), ("etag", '"abc"')],
        b'{"id": 7, "title": "Dune"}', 0.3,
    )  # fmt: skip
    rows = side_by_side(miss.lines(), hit.lines())
    changed = [(r.left, r.right) for r in rows if r.change == "changed"]
    assert ("x-cache: MISS", "x-cache: HIT") in changed
    assert any(r.change == "right" and r.right == "age: 3" for r in rows)
    assert all(r.change == "same" for r in rows if r.left and r.left.startswith(('"title"', "  ")))
