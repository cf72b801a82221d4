"""Each test gets a database the fixture builds itself: the tests know every row in it."""

import sqlite3

import app
import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client(tmp_path, monkeypatch):
    path = tmp_path / "test.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT NOT NULL, year INTEGER)")
        connection.executemany(
            "INSERT INTO books (id, title, year) VALUES (?, ?, ?)", [(n, f"Book {n}", 2000) for n in range(1, 26)]
        )
    connection.close()
    monkeypatch.setenv("BACKEND_TUTOR_DB", str(path))
    return TestClient(app.app)


def test_a_missing_book_is_404(client):
    assert client.get("/books/26").status_code == 404


@pytest.mark.parametrize("limit", [0, -1, 101])
def test_a_limit_out_of_bounds_is_400(client, limit):
    assert client.get("/books", params={"limit": limit}).status_code == 400


def test_a_book_added_can_be_read_back(client):
    created = client.post("/books", json={"title": "New", "year": 2024})
    assert created.status_code == 201
    assert client.get(f"/books/{created.json()['id']}").json() == {"id": 26, "title": "New", "year": 2024}


def test_pages_are_the_rows_in_order(client):
    pages = [client.get("/books", params={"limit": 10, "page": p}).json()["items"] for p in (1, 2, 3)]
    assert [b["id"] for page in pages for b in page] == list(range(1, 26))
