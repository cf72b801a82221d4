import app
import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client():
    return TestClient(app.app)


def test_a_missing_book(client):
    response = client.get("/books/999999")
    assert response


def test_a_bad_limit(client):
    assert client.get("/books", params={"limit": 0})
    assert client.get("/books", params={"limit": 1000}).json()
