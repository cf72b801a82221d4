import os
import shutil

import app
import pytest
from fastapi.testclient import TestClient

created = {}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    copy = tmp_path_factory.mktemp("db") / "books.db"
    shutil.copyfile(os.environ["BACKEND_TUTOR_DB"], copy)
    os.environ["BACKEND_TUTOR_DB"] = str(copy)
    return TestClient(app.app)


def test_a_missing_book_is_404(client):
    assert client.get("/books/999999").status_code == 404


@pytest.mark.parametrize("limit", [0, 101])
def test_a_limit_out_of_bounds_is_400(client, limit):
    assert client.get("/books", params={"limit": limit}).status_code == 400


def test_add_a_book(client):
    response = client.post("/books", json={"title": "Testing in Practice", "year": 2024})
    assert response.status_code == 201
    created["id"] = response.json()["id"]


def test_the_added_book_can_be_read(client):
    assert client.get(f"/books/{created['id']}").json()["title"] == "Testing in Practice"


def test_pages_do_not_repeat(client):
    first = client.get("/books", params={"limit": 10, "page": 1}).json()["items"]
    second = client.get("/books", params={"limit": 10, "page": 2}).json()["items"]
    assert not {b["id"] for b in first} & {b["id"] for b in second}
