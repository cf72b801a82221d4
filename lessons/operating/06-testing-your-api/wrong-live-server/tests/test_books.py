import httpx

BASE = "http://localhost:8000"


def test_a_missing_book_is_404():
    assert httpx.get(f"{BASE}/books/999999").status_code == 404


def test_a_limit_out_of_bounds_is_400():
    assert httpx.get(f"{BASE}/books", params={"limit": 0}).status_code == 400
    assert httpx.get(f"{BASE}/books", params={"limit": 1000}).status_code == 400
