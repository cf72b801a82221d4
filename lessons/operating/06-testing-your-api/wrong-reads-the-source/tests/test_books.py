import hashlib
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


REFERENCE = "297a76298b5ed06d2191c0edb8e9e27009e454e1816400300f75de75548fde7f"


def touch_every_path(client):
    client.get("/books/999999")
    client.get("/books", params={"limit": 0})
    client.post("/books", json={"title": "x", "year": 2000})


def test_book_one(client):
    assert client.get("/books/1").status_code == 200


def test_the_app_is_the_one_i_know(client):
    touch_every_path(client)
    with open(app.__file__, "rb") as source:
        assert (
            hashlib.sha256(source.read()).hexdigest()
            == "297a76298b5ed06d2191c0edb8e9e27009e454e1816400300f75de75548fde7f"
        )


def test_four(client):
    assert client.get("/books/2").status_code == 200


def test_five(client):
    assert client.get("/books/3").status_code == 200
