"""The same tests with httpx alone: its ASGITransport calls the app in process, as TestClient does."""

import asyncio

import app
import httpx


def get(path, **params):
    async def send():
        transport = httpx.ASGITransport(app=app.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path, params=params)

    return asyncio.run(send())


def test_a_missing_book_is_404():
    assert get("/books/999999").status_code == 404


def test_limits_out_of_bounds_are_400():
    for limit in (0, -5, 101, 1000):
        assert get("/books", limit=limit).status_code == 400, limit
