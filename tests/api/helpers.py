"""Small lesson databases and settings for the API sandbox tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tutor.pack.sandbox_api import ApiSettings

SCHEMA = """
CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE books (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL UNIQUE,
    author_id INTEGER REFERENCES authors(id),
    year INTEGER NOT NULL,
    price REAL
);
"""


def make_db(path: Path, books: int = 25) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    conn.executemany("INSERT INTO authors (id, name) VALUES (?, ?)", [(i, f"Author {i}") for i in range(1, 6)])
    conn.executemany(
        "INSERT INTO books (id, title, author_id, year, price) VALUES (?, ?, ?, ?, ?)",
        [(i, f"Book {i:03d}", i % 5 + 1, 1990 + i % 10, round(5 + i * 0.5, 2)) for i in range(1, books + 1)],
    )
    conn.commit()
    conn.close()
    return path


def settings(**overrides: Any) -> ApiSettings:
    base: dict[str, Any] = {
        "versions": ["v1", "v2"],
        "resources": [
            {
                "name": "books",
                "table": "books",
                "filters": {"author": "author_id", "year": "year"},
                "sortable": ["year", "title", "price"],
                "page_size": 10,
                "max_page_size": 50,
                "writable": True,
                "relations": [{"name": "author", "table": "authors", "foreign_key": "author_id"}],
            },
            {"name": "authors", "table": "authors", "pagination": "cursor", "page_size": 2},
        ],
    }
    base.update(overrides)
    return ApiSettings.model_validate(base)
