import app
import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client():
    return TestClient(app.app)


def test_a_missing_book_says_so(client):
    body = client.get("/books/999999").json()
    assert body["detail"] == "no such book"


def test_a_limit_out_of_bounds_is_400(client):
    assert client.get("/books", params={"limit": 0}).status_code == 400
    assert client.get("/books", params={"limit": 1000}).status_code == 400
