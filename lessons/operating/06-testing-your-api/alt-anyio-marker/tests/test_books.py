"""httpx's AsyncClient on the app in process, with anyio's pytest marker."""

import os
import shutil

import app
import httpx
import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def database(tmp_path, monkeypatch):
    copy = tmp_path / "books.db"
    shutil.copyfile(os.environ["BACKEND_TUTOR_DB"], copy)
    monkeypatch.setenv("BACKEND_TUTOR_DB", str(copy))


@pytest.fixture
async def client(database):
    transport = httpx.ASGITransport(app=app.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.mark.anyio
async def test_a_missing_book_is_404(client):
    assert (await client.get("/books/999999")).status_code == 404


@pytest.mark.anyio
@pytest.mark.parametrize("limit", [0, -1, 101])
async def test_a_limit_out_of_bounds_is_400(client, limit):
    assert (await client.get("/books", params={"limit": limit})).status_code == 400


@pytest.mark.anyio
async def test_a_book_added_can_be_read_back(client):
    created = await client.post("/books", json={"title": "Async", "year": 2020})
    assert created.status_code == 201
    read = await client.get(f"/books/{created.json()['id']}")
    assert read.status_code == 200 and read.json()["title"] == "Async"


@pytest.mark.anyio
async def test_pages(client):
    first = (await client.get("/books", params={"limit": 10, "page": 1})).json()["items"]
    second = (await client.get("/books", params={"limit": 10, "page": 2})).json()["items"]
    everything = (await client.get("/books", params={"limit": 20})).json()["items"]
    assert [b["id"] for b in first + second] == [b["id"] for b in everything]
