"""The book list's order comes from its ORDER BY, not from the order SQLite happened to read the rows in.

Each test's docstring is what a learner reads when it fails.
"""

import sqlite3

import app
from starlette.testclient import TestClient


def test_the_page_keeps_its_order_when_sqlite_reads_the_other_way(monkeypatch):
    """GET /books?limit=20 lists books 1 to 20 because the query says so (ORDER BY books.id), not by
    luck: with SQLite free to read the tables the other way round (PRAGMA reverse_unordered_selects),
    the page must stay the same."""
    original = sqlite3.connect

    def connect(*args, **kwargs):
        connection = original(*args, **kwargs)
        connection.execute("PRAGMA reverse_unordered_selects = ON")
        return connection

    monkeypatch.setattr(sqlite3, "connect", connect)
    with TestClient(app.app) as client:
        items = client.get("/books", params={"limit": 20}).json()["items"]
    ids = [item["id"] for item in items]
    assert ids == list(range(1, 21)), f"with SQLite reading the other way round, the page held books {ids[:5]}..."
