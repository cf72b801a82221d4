import app
import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client():
    return TestClient(app.app)


def test_a_missing_book_is_404(client):
    assert client.get("/books/999999").status_code == 404


@pytest.mark.parametrize("limit", [0, 101])
def test_a_limit_out_of_bounds_is_400(client, limit):
    assert client.get("/books", params={"limit": limit}).status_code == 400


def test_a_book_added_can_be_read_back(client):
    book_id = client.post("/books", json={"title": "Testing in Practice", "year": 2024}).json()["id"]
    assert client.get(f"/books/{book_id}").json()["title"] == "Testing in Practice"


def test_pages_do_not_repeat(client):
    first = client.get("/books", params={"limit": 10, "page": 1}).json()["items"]
    second = client.get("/books", params={"limit": 10, "page": 2}).json()["items"]
    assert not {b["id"] for b in first} & {b["id"] for b in second}
