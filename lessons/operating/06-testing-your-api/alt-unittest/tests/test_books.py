import unittest

import app
from fastapi.testclient import TestClient


class BookErrors(unittest.TestCase):
    def setUp(self):
        self.client = TestClient(app.app)

    def test_a_missing_book_is_404(self):
        self.assertEqual(self.client.get("/books/999999").status_code, 404)

    def test_limits_out_of_bounds_are_400(self):
        for limit in (0, 101):
            self.assertEqual(self.client.get("/books", params={"limit": limit}).status_code, 400, f"limit={limit}")
