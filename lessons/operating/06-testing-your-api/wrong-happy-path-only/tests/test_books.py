import app
import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client():
    return TestClient(app.app)


def test_a_book_can_be_read(client):
    assert client.get("/books/1").status_code == 200


def test_a_page_of_books(client):
    response = client.get("/books", params={"limit": 10})
    assert response.status_code == 200
    assert len(response.json()["items"]) == 10
