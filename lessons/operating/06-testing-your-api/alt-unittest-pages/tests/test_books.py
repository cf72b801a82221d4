import os
import shutil
import tempfile
import unittest
from unittest import mock

import app
from fastapi.testclient import TestClient


class Books(unittest.TestCase):
    def setUp(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        copy = os.path.join(folder, "books.db")
        shutil.copyfile(os.environ["BACKEND_TUTOR_DB"], copy)
        patch = mock.patch.dict(os.environ, {"BACKEND_TUTOR_DB": copy})
        patch.start()
        self.addCleanup(patch.stop)
        self.client = TestClient(app.app)

    def test_a_missing_book_is_404(self):
        self.assertEqual(self.client.get("/books/999999").status_code, 404)

    def test_limits_out_of_bounds_are_400(self):
        for limit in (0, 101):
            self.assertEqual(self.client.get("/books", params={"limit": limit}).status_code, 400, f"limit={limit}")

    def test_a_book_added_can_be_read_back(self):
        made = self.client.post("/books", json={"title": "Testing in Practice", "year": 2024})
        self.assertEqual(made.status_code, 201)
        read = self.client.get(f"/books/{made.json()['id']}")
        self.assertEqual(read.status_code, 200)
        self.assertEqual(read.json()["title"], "Testing in Practice")

    def test_pages_do_not_repeat(self):
        first = self.client.get("/books", params={"limit": 10, "page": 1}).json()["items"]
        second = self.client.get("/books", params={"limit": 10, "page": 2}).json()["items"]
        ids = [b["id"] for b in first + second]
        self.assertEqual(len(set(ids)), 20)
