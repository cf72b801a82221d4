import app
import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client():
    return TestClient(app.app)


def test_a_missing_book_is_404(client):
    assert client.get("/books/999999").status_code == 404


def test_a_limit_too_big_is_400(client):
    assert client.get("/books", params={"limit": 1000}).status_code == 400
