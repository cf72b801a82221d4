from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sandboxes.sql.build import SqlBuildError, build_database, ensure_template, settings_key
from sandboxes.sql.generate import GENERATOR_VERSION, P, draw, draw_py, state_at
from sandboxes.sql.words import WORDS

from .conftest import settings


def dump(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT * FROM books ORDER BY id").fetchall()
        rows += conn.execute("SELECT * FROM authors ORDER BY id").fetchall()
        return rows
    finally:
        conn.close()


def test_same_settings_same_data(tmp_path: Path) -> None:
    build_database(settings(), tmp_path, tmp_path / "a.db")
    build_database(settings(), tmp_path, tmp_path / "b.db")
    assert dump(tmp_path / "a.db") == dump(tmp_path / "b.db")


def test_seed_changes_data(tmp_path: Path) -> None:
    other = settings()
    changed = other.model_copy(update={"tables": [other.tables[0], other.tables[1].model_copy(update={"seed": 3})]})
    build_database(settings(), tmp_path, tmp_path / "a.db")
    build_database(changed, tmp_path, tmp_path / "b.db")
    assert dump(tmp_path / "a.db") != dump(tmp_path / "b.db")


def test_known_values_are_stable(tmp_path: Path) -> None:
    """The generator is part of the course: the same rows for every learner, release after release
    (bump GENERATOR_VERSION when this must change)."""
    assert GENERATOR_VERSION == 1
    build_database(settings(), tmp_path, tmp_path / "a.db")
    conn = sqlite3.connect(tmp_path / "a.db")
    first = conn.execute("SELECT * FROM books WHERE id = 1").fetchone()
    assert first[0] == 1 and first[-1] == "isbn-1"
    assert 1950 <= first[3] <= 2024 and 3 <= first[4] <= 60
    (count,) = conn.execute("SELECT count(*) FROM books").fetchone()
    assert count == 20000


def test_value_ranges_and_distributions(tmp_path: Path) -> None:
    build_database(settings(), tmp_path, tmp_path / "a.db")
    conn = sqlite3.connect(tmp_path / "a.db")
    low, high = conn.execute("SELECT min(year), max(year) FROM books").fetchone()
    assert (low, high) == (1950, 2024)
    low, high = conn.execute("SELECT min(price), max(price) FROM books").fetchone()
    assert 3 <= low < 3.1 and 59.9 < high <= 60
    assert conn.execute("SELECT count(*) FROM books WHERE round(price, 2) != price").fetchone() == (0,)
    nulls = conn.execute("SELECT count(*) FROM books WHERE published IS NULL").fetchone()[0]
    assert 1500 < nulls < 2500  # null_fraction 0.1
    assert conn.execute(
        "SELECT min(published) >= '1990-01-01', max(published) <= '2024-12-31' FROM books"
    ).fetchone() == (1, 1)
    shares = dict(conn.execute("SELECT country, count(*) FROM authors GROUP BY country").fetchall())
    assert shares["US"] > shares["DE"] > shares["FR"]
    orphans = conn.execute("SELECT count(*) FROM books WHERE author_id NOT IN (SELECT id FROM authors)").fetchone()
    assert orphans == (0,)
    words = {w for (title,) in conn.execute("SELECT title FROM books LIMIT 200") for w in title.lower().split()}
    assert words <= set(WORDS)
    lengths = {len(t.split()) for (t,) in conn.execute("SELECT title FROM books")}
    assert lengths == {1, 2, 3, 4}
    # the types a learner sees
    types = {r[1]: r[2] for r in conn.execute("PRAGMA table_info(books)")}
    assert types == {
        "id": "INTEGER",
        "title": "TEXT",
        "author_id": "INTEGER",
        "year": "INTEGER",
        "price": "REAL",
        "published": "TEXT",
        "isbn": "TEXT",
    }
    assert conn.execute("PRAGMA foreign_key_list(books)").fetchone()[2] == "authors"


def test_sql_draw_matches_python() -> None:
    conn = sqlite3.connect(":memory:")
    for n in (1, 2, 999_999, 4_999_999):
        x = state_at(7, "t", n)
        (value,) = conn.execute(f"SELECT {draw(7, 't', 'c', 3)} FROM (SELECT {x} AS x)").fetchone()
        assert value == draw_py(7, "t", "c", 3, n)
        assert 0 < value < P


def test_cache_key_follows_content(tmp_path: Path) -> None:
    (tmp_path / "extra.sql").write_text("CREATE TABLE x(a);", encoding="utf-8")
    with_script = settings(scripts=["extra.sql"])
    key = settings_key(with_script, tmp_path)
    assert key == settings_key(with_script, tmp_path)
    assert key != settings_key(settings(), tmp_path)
    # the time limit is not part of the data
    assert settings_key(settings(time_limit=9), tmp_path) == settings_key(settings(), tmp_path)
    (tmp_path / "extra.sql").write_text("CREATE TABLE y(a);", encoding="utf-8")
    assert settings_key(with_script, tmp_path) != key


def test_template_is_built_once_and_reused(tmp_path: Path) -> None:
    seen: list[tuple[str, float]] = []
    first = ensure_template(
        settings(),
        pack_root=tmp_path,
        cache_dir=tmp_path / "cache",
        progress=lambda w, f: seen.append((w, f)),
    )
    assert any("generating books" in what for what, _ in seen)
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    mtime = first.stat().st_mtime_ns
    seen.clear()
    again = ensure_template(
        settings(),
        pack_root=tmp_path,
        cache_dir=tmp_path / "cache",
        progress=lambda w, f: seen.append((w, f)),
    )
    assert again == first and again.stat().st_mtime_ns == mtime
    assert seen == [("lesson database ready (cached)", 1.0)]
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".")]


def test_scripts_then_inline_sql_and_build_errors(tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text("CREATE TABLE tags(id INTEGER PRIMARY KEY, body TEXT);", encoding="utf-8")
    (tmp_path / "seed.sql").write_text("INSERT INTO tags(body) VALUES ('hello');", encoding="utf-8")
    good = settings(scripts=["schema.sql", "seed.sql"], sql="INSERT INTO tags(body) VALUES ('inline');")
    built = ensure_template(good, pack_root=tmp_path, cache_dir=tmp_path / "cache")
    rows = sqlite3.connect(built).execute("SELECT body FROM tags ORDER BY id").fetchall()
    assert rows == [("hello",), ("inline",)]
    (tmp_path / "broken.sql").write_text("CREATE TABLE oops(;", encoding="utf-8")
    with pytest.raises(SqlBuildError, match=r"broken\.sql"):
        ensure_template(settings(scripts=["broken.sql"]), pack_root=tmp_path, cache_dir=tmp_path / "cache")
    assert not list((tmp_path / "cache" / "sql").glob(".*"))
