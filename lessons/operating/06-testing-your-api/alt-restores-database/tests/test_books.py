"""Tests of the books API in app.py, each on a fresh copy of the database."""

import os

import app
import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client():
    """The lesson's database itself, put back byte for byte after each test."""
    path = os.environ["BACKEND_TUTOR_DB"]
    with open(path, "rb") as original:
        saved = original.read()
    yield TestClient(app.app)
    with open(path, "wb") as back:
        back.write(saved)


def test_a_missing_book_is_404(client):
    assert client.get("/books/999999").status_code == 404


@pytest.mark.parametrize("limit", [0, -1, 101, 1000])
def test_a_limit_out_of_bounds_is_400(client, limit):
    assert client.get("/books", params={"limit": limit}).status_code == 400


def test_a_book_added_can_be_read_back(client):
    """A book created with POST /books is there when it is read afterwards."""
    created = client.post("/books", json={"title": "Testing in Practice", "year": 2024})
    assert created.status_code == 201
    book_id = created.json()["id"]
    read = client.get(f"/books/{book_id}")
    assert read.status_code == 200
    assert read.json()["title"] == "Testing in Practice"


def test_pages_do_not_repeat_or_skip_books(client):
    """Pages 1 and 2 of 10 are 20 different books, in order, the first twenty of the whole list."""
    first = client.get("/books", params={"limit": 10, "page": 1}).json()["items"]
    second = client.get("/books", params={"limit": 10, "page": 2}).json()["items"]
    ids = [book["id"] for book in first + second]
    assert len(ids) == 20
    assert len(set(ids)) == 20
    everything = client.get("/books", params={"limit": 20}).json()["items"]
    assert ids == [book["id"] for book in everything]
