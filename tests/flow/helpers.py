"""Sandbox APIs for the flow tests: the API tests' small bookshop, started on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sandboxes.api.sandbox import ApiSandbox
from tests.api.helpers import make_db, settings

PER_ROW = {"name": "author", "table": "authors", "foreign_key": "author_id", "strategy": "per_row", "switchable": True}


def books(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "books",
        "table": "books",
        "filters": {"author": "author_id", "year": "year"},
        "page_size": 10,
        "max_page_size": 1000,
        "relations": [PER_ROW],
    }
    base.update(overrides)
    return base


@contextmanager
def running(tmp_path: Path, *, rows: int = 25, **overrides: Any) -> Iterator[ApiSandbox]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    db = make_db(tmp_path / "lesson.db", books=rows)
    overrides.setdefault("resources", [books()])
    overrides.setdefault("versions", ["v1"])
    api = ApiSandbox.start(settings(**overrides), database=db)
    try:
        yield api
    finally:
        api.stop()


def kinds(exchange: Any) -> list[str]:
    """The event kinds in order, runs of one kind (20 SQL statements, two auth events) collapsed to one."""
    out: list[str] = []
    for event in exchange.trace:
        if not (out and out[-1] == event.kind):
            out.append(event.kind)
    return out


def ordered(exchange: Any) -> bool:
    return all(a.at_ms <= b.at_ms for a, b in zip(exchange.trace, exchange.trace[1:], strict=False))
