"""Tests of the books API in app.py: the answers it gives when the request is wrong."""

import app
import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client():
    return TestClient(app.app)


def test_a_book_can_be_read(client):
    response = client.get("/books/1")
    assert response.status_code == 200
    assert response.json()["id"] == 1


def test_a_missing_book_is_404(client):
    """A book that does not exist answers 404."""
    assert client.get("/books/999999").status_code == 404


@pytest.mark.parametrize("limit", [0, -1, 101, 1000])
def test_a_limit_out_of_bounds_is_400(client, limit):
    """A page size outside 1 to 100 answers 400."""
    assert client.get("/books", params={"limit": limit}).status_code == 400


def test_the_bounds_themselves_are_served(client):
    assert len(client.get("/books", params={"limit": 1}).json()["items"]) == 1
    assert len(client.get("/books", params={"limit": 100}).json()["items"]) == 100
