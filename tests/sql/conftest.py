"""A small bookstore sandbox (same shape as the lesson's, fewer rows) for the SQL tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandboxes.sql.sandbox import SqlSandbox
from tutor.pack.sandbox_sql import SqlSettings
from tutor.paths import Home

BOOKS = {
    "tables": [
        {
            "name": "authors",
            "rows": 500,
            "seed": 1,
            "primary_key": "id",
            "columns": [
                {"name": "id", "gen": "sequence"},
                {"name": "name", "gen": "words", "min": 2, "max": 2},
                {"name": "country", "gen": "choice", "values": ["FR", "DE", "US"], "weights": [1, 2, 5]},
            ],
        },
        {
            "name": "books",
            "rows": 20000,
            "seed": 2,
            "primary_key": "id",
            "columns": [
                {"name": "id", "gen": "sequence"},
                {"name": "title", "gen": "words", "min": 1, "max": 4},
                {"name": "author_id", "gen": "foreign_key", "table": "authors"},
                {"name": "year", "gen": "int", "min": 1950, "max": 2024},
                {"name": "price", "gen": "float", "min": 3, "max": 60},
                {
                    "name": "published",
                    "gen": "date",
                    "start": "1990-01-01",
                    "end": "2024-12-31",
                    "null_fraction": 0.1,
                },
                {"name": "isbn", "gen": "template", "template": "isbn-{n}"},
            ],
        },
    ],
    "sql": "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT NOT NULL);",
    "time_limit": 1.0,
}


def settings(**changes: object) -> SqlSettings:
    data = {**BOOKS, **changes}
    return SqlSettings.model_validate(data)


@pytest.fixture
def home(tutor_home: Path) -> Home:
    return Home(tutor_home).ensure()


@pytest.fixture
def sandbox(home: Home, tmp_path: Path) -> Iterator[SqlSandbox]:
    box = SqlSandbox.open(settings(), pack_root=tmp_path, home=home, lesson_id="books")
    try:
        yield box
    finally:
        box.close()
