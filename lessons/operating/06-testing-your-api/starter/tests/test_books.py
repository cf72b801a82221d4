"""Tests of the books API in app.py. Run them yourself from this folder with

    BACKEND_TUTOR_DB=path/to/books.db python -m pytest -q tests

(the tutor runs them on every save, against the app and against copies of it with a bug planted).
"""

import app
import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client():
    # TestClient calls the app in this process, through its ASGI interface: no server, no port.
    return TestClient(app.app)


def test_a_book_can_be_read(client):
    response = client.get("/books/1")
    assert response
