"""The flow summary: statement shapes, N+1 grouping, the summary line and the text waterfall."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandboxes.api.flow import Flow, bars, normalise, waterfall
from sandboxes.api.recorder import Exchange, TraceEvent
from tests.flow.helpers import running


@pytest.mark.parametrize(
    ("sql", "shape"),
    [
        ("SELECT * FROM authors WHERE id = 7", "SELECT * FROM authors WHERE id = ?"),
        ("SELECT * FROM authors WHERE id = ?", "SELECT * FROM authors WHERE id = ?"),
        ("SELECT * FROM t WHERE name = 'O''Brien' AND x > -1.5e3", "SELECT * FROM t WHERE name = ? AND x > ?"),
        ("SELECT * FROM t2 WHERE id IN (1, 2, 3)", "SELECT * FROM t2 WHERE id IN (?...)"),
        ("SELECT * FROM t2 WHERE id IN (?,?,?,?)", "SELECT * FROM t2 WHERE id IN (?...)"),
        ("select  *\n from t where a = :a and b = ?3", "select * from t where a = ? and b = ?"),
        ('INSERT INTO "t1" ("c1") VALUES (?, ?)', 'INSERT INTO "t1" ("c1") VALUES (?...)'),
    ],
)
def test_normalise(sql: str, shape: str) -> None:
    assert normalise(sql) == shape


def _event(at: float, kind: str, label: str, duration: float | None = None, **data: object) -> TraceEvent:
    return TraceEvent(at, kind, label, duration, dict(data))


def synthetic(n: int = 50, *, cache: str = "MISS") -> Exchange:
    """GET /v1/books?author=7 with a cache miss, one list query and n per-row lookups."""
    events = [_event(0.0, "received", "GET /v1/books", source="outside"), _event(0.4, "cache", cache, key="/v1/books")]
    events.append(
        _event(
            1.0,
            "sql",
            "list",
            20.0,
            sql="SELECT * FROM books WHERE author_id = ?",
            params=["7"],
            rows=n,
            vm_steps=3000,
            vm_exact=True,
            plan=[[2, 0, "SCAN books"]],
            full_scans=["books"],
        )
    )
    for i in range(n):
        events.append(
            _event(
                22.0 + i * 3.5,
                "sql",
                "one",
                3.0,
                sql="SELECT * FROM authors WHERE id = ?",
                params=[i + 1],
                rows=1,
                vm_steps=10,
                vm_exact=True,
                plan=[[2, 0, "SEARCH authors USING INTEGER PRIMARY KEY (rowid=?)"]],
                full_scans=[],
            )
        )
    events.append(_event(211.0, "response", "200", status=200, bytes=4096))
    exchange = Exchange(1, 0.0, "outside", "GET", "/v1/books", "author=7", [], b"", status=200, duration_ms=212.0)
    exchange.trace = events
    return exchange


def test_n_plus_one_is_grouped_and_named() -> None:
    flow = Flow.of(synthetic(50))
    assert flow.statement_count == 51 and [g.count for g in flow.groups] == [1, 50]
    assert [g.shape for g in flow.n_plus_one] == ["SELECT * FROM authors WHERE id = ?"]
    assert flow.total_vm_steps == 3000 + 500 and flow.vm_steps_exact
    assert flow.summary() == (
        "GET /v1/books?author=7 -> cache MISS -> 51 SQL statements (50 alike: N+1; full scan of books) -> 200 in 212 ms"
    )
    lines = flow.explain_lines()
    assert "N+1: the same query 50 times" in lines[1] and "FULL SCAN of books" in lines[2]


def test_two_alike_is_not_yet_n_plus_one() -> None:
    assert Flow.of(synthetic(2)).n_plus_one == []


def test_cache_hit_summary_says_no_sql_only_when_it_matters() -> None:
    hit = synthetic(0, cache="HIT")
    hit.trace = [e for e in hit.trace if e.kind != "sql"]
    assert Flow.of(hit).summary() == "GET /v1/books?author=7 -> cache HIT -> 200 in 212 ms"


def test_waterfall_draws_to_scale_with_words() -> None:
    flow = Flow.of(synthetic(50))
    rows = bars(flow)
    assert [b.kind for b in rows] == ["received", "cache", "sql", "sql", "response"]
    assert rows[3].count == 50 and rows[3].flag == "N+1" and rows[2].flag == "FULL SCAN"
    lines = waterfall(flow, track=40)
    list_bar, lookups = lines[3], lines[4]
    # The list query takes 20 of 212 ms: about 4 cells of 40; the lookups most of the rest.
    assert list_bar.count("=") in (3, 4, 5) and 30 <= lookups.count("=") <= 36
    assert "<- N+1" in lookups and "<- FULL SCAN" in list_bar and "SQL x50" in lookups


def test_real_request_flow_and_the_fixed_endpoint(tmp_path: Path) -> None:
    with running(tmp_path) as api:
        before = Flow.of(api.send("GET", "/v1/books"))
        switched = api.send("PUT", "/_sandbox/relations/books/author", json={"strategy": "join"})
        after = Flow.of(api.send("GET", "/v1/books"))
        listing = api.send("GET", "/_sandbox/relations").json()
        bad = api.send("PUT", "/_sandbox/relations/books/author", json={"strategy": "magic"})
        unknown = api.send("PUT", "/_sandbox/relations/books/nope", json={"strategy": "join"})
    assert before.statement_count == 12 and before.n_plus_one[0].count == 10
    assert "12 SQL statements (10 alike: N+1)" in before.summary()
    assert switched.status == 200 and switched.json()["strategy"] == "select_in"
    assert after.statement_count == 3 and not after.n_plus_one
    assert after.groups[-1].shape == 'SELECT * FROM "authors" WHERE id IN (?...)'
    assert listing["relations"][0]["strategy"] == "select_in"
    assert bad.status == 422 and unknown.status == 404


@pytest.mark.parametrize("switchable", [False, True])
def test_no_controls_unless_a_relation_is_switchable(tmp_path: Path, switchable: bool) -> None:
    from tests.flow.helpers import books

    relation = {
        "name": "author",
        "table": "authors",
        "foreign_key": "author_id",
        "strategy": "per_row",
        "switchable": switchable,
    }
    with running(tmp_path, resources=[books(relations=[relation])]) as api:
        assert api.send("GET", "/_sandbox/relations").status == (200 if switchable else 404)
        assert ("/_sandbox/relations" in api.send("GET", "/").json()["sandbox_controls"]) is switchable
        assert ("/_sandbox/relations" in api.send("GET", "/openapi.json").json()["paths"]) is switchable


@pytest.mark.parametrize(
    ("sql", "params", "expected"),
    [
        ('SELECT * FROM "books" ORDER BY "id" LIMIT ? OFFSET ?', [5, 250000], (5, 250000)),
        ('SELECT * FROM "books" ORDER BY "id" LIMIT ?', [5], (5, 0)),
        ("SELECT * FROM books WHERE title = '?' ORDER BY id LIMIT 10 OFFSET ?", [40], (10, 40)),
        ("SELECT * FROM books ORDER BY id LIMIT 30, 10", [], (10, 30)),
        ("SELECT * FROM books ORDER BY id LIMIT ?2 OFFSET ?1", [7, 3], (3, 7)),
        ("SELECT * FROM books ORDER BY id", [], (None, None)),
        ("SELECT * FROM books ORDER BY id LIMIT :n OFFSET :o", {"n": 1, "o": 2}, (None, None)),
    ],
)
def test_limit_and_offset_are_read_from_the_statement(sql: str, params: object, expected: tuple) -> None:
    from sandboxes.api.flow import _limit_offset

    assert _limit_offset(sql, params) == expected


def test_a_deep_offset_is_not_called_cheap(tmp_path: Path) -> None:
    """A page that a LIMIT stops early is not a full scan, but the rows its OFFSET skips are still read: the
    flow says how many, on the plan line and on the summary line, instead of calling the page cheap."""
    with running(tmp_path, rows=3000, resources=[{"name": "books", "table": "books", "max_page_size": 50}]) as api:
        first = Flow.of(api.send("GET", "/v1/books", params={"limit": 5}))
        deep = Flow.of(api.send("GET", "/v1/books", params={"limit": 5, "offset": 2500}))
    first_page, deep_page = first.statements[-1], deep.statements[-1]
    assert "OFFSET" in deep_page.sql and deep_page.rows == 5
    assert "stops after the LIMIT's 5 rows: not a full scan" in first_page.plan_text()
    assert "2,500 rows read and thrown away for the OFFSET" in deep_page.plan_text()
    assert "2,505 rows read in all" in deep_page.plan_text()
    assert "not a full scan" not in deep_page.plan_text()
    assert "an OFFSET reads and skips 2,500 rows" in deep.summary()
    assert "OFFSET" not in first.summary()
