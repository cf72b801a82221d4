import os
import shutil

import app
import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client(tmp_path, monkeypatch):
    copy = tmp_path / "books.db"
    shutil.copyfile(os.environ["BACKEND_TUTOR_DB"], copy)
    monkeypatch.setenv("BACKEND_TUTOR_DB", str(copy))
    return TestClient(app.app)


def touch_every_path(client):
    client.get("/books/999999")
    client.get("/books", params={"limit": 0})
    client.post("/books", json={"title": "x", "year": 2000})


def test_book_one(client):
    assert client.get("/books/1").status_code == 200


def test_the_app_has_its_size(client):
    touch_every_path(client)
    assert os.path.getsize("app.py") == 2084


def test_four(client):
    assert client.get("/books/2").status_code == 200


def test_five(client):
    assert client.get("/books/3").status_code == 200
