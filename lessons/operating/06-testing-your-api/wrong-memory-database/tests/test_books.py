"""A database in memory, with the schema, for each test."""

import sqlite3

import app
import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client(monkeypatch):
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT NOT NULL, year INTEGER)")
    connection.executemany("INSERT INTO books (title, year) VALUES (?, ?)", [(f"Book {n}", 2000) for n in range(30)])
    connection.commit()
    monkeypatch.setenv("BACKEND_TUTOR_DB", ":memory:")
    yield TestClient(app.app)
    connection.close()


def test_a_missing_book_is_404(client):
    assert client.get("/books/999999").status_code == 404


@pytest.mark.parametrize("limit", [0, -1, 101])
def test_a_limit_out_of_bounds_is_400(client, limit):
    assert client.get("/books", params={"limit": limit}).status_code == 400


def test_a_book_added_can_be_read_back(client):
    created = client.post("/books", json={"title": "Mem", "year": 2020})
    assert created.status_code == 201
    assert client.get(f"/books/{created.json()['id']}").json()["title"] == "Mem"


def test_pages(client):
    first = client.get("/books", params={"limit": 10, "page": 1}).json()["items"]
    second = client.get("/books", params={"limit": 10, "page": 2}).json()["items"]
    everything = client.get("/books", params={"limit": 20}).json()["items"]
    assert [b["id"] for b in first + second] == [b["id"] for b in everything]
