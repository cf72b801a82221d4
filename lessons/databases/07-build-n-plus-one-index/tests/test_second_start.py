"""The app started a second time on the database it has already migrated, as the next deployment starts it.

The tutor imported `app` once before these tests (a first start on a fresh copy of the lesson database);
here its module code runs again on the same database, and its start-up code (FastAPI's lifespan or
startup handlers) both times. Each test's docstring is what a learner reads when it fails.
"""

import importlib

import app
from starlette.testclient import TestClient


def test_second_start():
    """Your app must start a second time on the same database, as the next deployment does:
    a migration that already ran must not fail (`CREATE INDEX IF NOT EXISTS`)."""
    with TestClient(app.app):
        pass
    second = importlib.reload(app)
    with TestClient(second.app) as client:
        assert client.get("/authors/7/books").status_code == 200, "after a second start, /authors/7/books fails"
