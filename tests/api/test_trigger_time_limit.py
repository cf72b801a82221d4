"""A learner's trigger runs inside the API's own writes: the request's SQL has a time limit, and a
trigger that would make a POST take minutes gets a 503 that says why, with nothing of it kept."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from sandboxes.api import database
from sandboxes.api.sandbox import ApiSandbox
from tests.api.helpers import make_db, settings

SPIN = "CREATE TRIGGER spin AFTER INSERT ON books BEGIN SELECT count(*) FROM books a, books b, books c, books d; END"


def test_a_slow_trigger_stops_at_the_requests_time_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "REQUEST_SQL_SECONDS", 1.0)
    db = make_db(tmp_path / "lesson.db", books=200)
    with sqlite3.connect(db) as conn:
        conn.execute(SPIN)  # 200**4 rows to count: hours
    api = ApiSandbox.start(settings(), database=db)
    try:
        with httpx.Client(base_url=api.base_url, trust_env=False, timeout=60) as client:
            started = time.monotonic()
            slow = client.post("/v1/books", json={"title": "Spun", "author_id": 1, "year": 2000})
            elapsed = time.monotonic() - started
            assert slow.status_code == 503 and elapsed < 2.0, (slow.status_code, elapsed)
            assert "ran past 1 s and was stopped; nothing of it was kept" in slow.json()["detail"]
            with sqlite3.connect(db) as conn:
                assert conn.execute("SELECT count(*) FROM books WHERE title = 'Spun'").fetchone() == (0,)
            assert client.get("/v1/books/3").status_code == 200  # reads are as fast as ever
            with sqlite3.connect(db) as conn:
                conn.execute("DROP TRIGGER spin")
            created = client.post("/v1/books", json={"title": "Spun", "author_id": 1, "year": 2000})
            assert created.status_code == 201
    finally:
        api.stop()
