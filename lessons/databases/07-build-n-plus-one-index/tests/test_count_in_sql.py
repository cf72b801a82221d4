"""The author's count comes back from SQLite as one number, not as rows counted in Python.

Each test's docstring is what a learner reads when it fails.
"""

import sqlite3

import app
from starlette.testclient import TestClient


class CountingCursor(sqlite3.Cursor):
    """A cursor that counts the rows Python takes from it, however they are taken."""

    rows = 0

    def fetchone(self):
        row = super().fetchone()
        CountingCursor.rows += row is not None
        return row

    def fetchmany(self, *args, **kwargs):
        rows = super().fetchmany(*args, **kwargs)
        CountingCursor.rows += len(rows)
        return rows

    def fetchall(self):
        rows = super().fetchall()
        CountingCursor.rows += len(rows)
        return rows

    def __next__(self):
        row = super().__next__()
        CountingCursor.rows += 1
        return row


class CountingConnection(sqlite3.Connection):
    def cursor(self, factory=CountingCursor):
        return super().cursor(factory)

    def execute(self, sql, parameters=()):
        return self.cursor().execute(sql, parameters)


def test_the_count_is_one_row_from_sqlite(monkeypatch):
    """GET /authors/7/stats takes one row from SQLite, the count itself (SELECT COUNT(*) ... WHERE
    author_id = ?), instead of fetching the author's books to count them in Python."""
    original = sqlite3.connect

    def connect(*args, **kwargs):
        kwargs.setdefault("factory", CountingConnection)
        return original(*args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", connect)
    with TestClient(app.app) as client:
        CountingCursor.rows = 0
        answer = client.get("/authors/7/stats").json()
    assert answer == {"books": 35}, f"/authors/7/stats answered {answer}"
    assert CountingCursor.rows <= 1, f"answering it took {CountingCursor.rows} rows out of SQLite"
