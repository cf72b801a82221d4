"""The bookstore's list endpoint. Today it returns every book at once; make it page with a cursor.

Run by the tutor with a fresh copy of the lesson database; its path is in BACKEND_TUTOR_DB.
"""

import os
import sqlite3
from contextlib import closing

from fastapi import FastAPI

app = FastAPI()


def db() -> sqlite3.Connection:
    connection = sqlite3.connect(os.environ["BACKEND_TUTOR_DB"])
    connection.row_factory = sqlite3.Row
    return connection


@app.get("/books")
def list_books() -> dict:
    with closing(db()) as connection:  # closing(): `with connection` alone would leave it open
        rows = connection.execute("SELECT id, title, year FROM books ORDER BY id").fetchall()
    return {"items": [dict(row) for row in rows]}
