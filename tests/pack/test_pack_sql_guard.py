"""A pack's own SQL goes through the guard: `pack validate` reports every statement the guard would refuse
at its FILE:LINE:COL, in one run, and whatever command is run on such a pack (validate, test, build,
install, the database a lesson opens on) nothing is written outside the tutor's home."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tutor.pack.loader import load_pack
from tutor.paths import Home

MANIFEST = """\
format: 1
id: escape
title: Escape
version: 0.1.0
tracks:
  - {id: databases, title: Databases}
"""

LESSON = """\
id: escape
title: Escape
track: databases
sandboxes:
  sql:
    scripts: [setup.sql]
    sql: |
      CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);
      ATTACH DATABASE '{out}/written-by-pack.db' AS outside;
      CREATE TABLE outside.note(a);
      DETACH DATABASE outside;
      VACUUM INTO '{out}/copied-by-pack.db';
steps:
  - id: count
    title: Count
    text: Count the notes.
    task: Count the notes.
    check:
      kind: sql_result
      reference: SELECT count(*) FROM notes
    hints: [COUNT(*) counts rows.]
    solution:
      sql: SELECT count(*) FROM notes
    wrong_answers:
      - sql: "SELECT 0; SELECT hex(fts3_tokenizer('simple'))"
"""

SCRIPT = """\
-- the pack's own script
CREATE TABLE s(a);
  ATTACH '{out}/from-script.db' AS o;
"""


def where(text: str, line_starts: str, token: str) -> str:
    """`LINE:COL` of `token` on the first line of `text` that starts (after spaces) with `line_starts`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith(line_starts):
            return f"{number}:{line.index(token) + 1}"
    raise AssertionError(f"no line starts with {line_starts!r}")


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    return folder


@pytest.fixture
def pack(tmp_path: Path, outside: Path) -> Path:
    root = tmp_path / "escape-pack"
    (root / "databases").mkdir(parents=True)
    (root / "pack.yaml").write_text(MANIFEST, encoding="utf-8")
    (root / "databases" / "01-escape.yaml").write_text(LESSON.format(out=outside), encoding="utf-8")
    (root / "setup.sql").write_text(SCRIPT.format(out=outside), encoding="utf-8")
    return root


def test_validate_reports_each_refused_statement_where_it_is_written(pack: Path) -> None:
    lesson = (pack / "databases" / "01-escape.yaml").read_text(encoding="utf-8")
    script = (pack / "setup.sql").read_text(encoding="utf-8")
    done = run_cli("pack", "validate", str(pack))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    wrong = where(lesson, '- sql: "SELECT 0', "fts3_tokenizer")
    expected = [
        f"databases/01-escape.yaml:{where(lesson, 'ATTACH DATABASE', 'ATTACH')}: ATTACH is not allowed: it reaches "
        "files outside the lesson database (refused when the lesson database is built)",
        f"databases/01-escape.yaml:{where(lesson, 'VACUUM INTO', 'VACUUM')}: VACUUM INTO is not allowed: it writes a "
        "file outside the lesson database (refused when the lesson database is built)",
        f"databases/01-escape.yaml:{wrong}: fts3_tokenizer() is not "
        "allowed: it reads and writes the tutor's memory (refused when it runs on the learner's guarded connection)",
        f"setup.sql:{where(script, 'ATTACH', 'ATTACH')}: ATTACH is not allowed: it reaches files outside the lesson "
        "database (refused when the lesson database is built)",
    ]
    for line in expected:
        assert line in lines, done.stdout
    assert where(lesson, "ATTACH DATABASE", "ATTACH") == "9:7" and where(script, "ATTACH", "ATTACH") == "3:3"
    assert len(lines) == 4 and done.stderr.strip() == "invalid: 4 errors, 0 warnings"
    assert "Traceback" not in done.stderr


def test_nothing_is_written_outside_the_home_whatever_runs_the_pack(
    pack: Path, outside: Path, tmp_path: Path, tutor_home: Path
) -> None:
    before = sorted(p.relative_to(pack) for p in pack.rglob("*"))
    for args in (
        ("pack", "validate", str(pack)),
        ("pack", "test", str(pack)),
        ("pack", "build", str(pack), "--output", str(tmp_path / "escape.zip")),
        ("pack", "install", str(pack)),
        ("pack", "install", "--trust", str(pack)),
    ):
        done = run_cli(*args)
        assert done.returncode != 0, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        assert list(outside.iterdir()) == [], args
    # The lesson's database, built as a lesson opens it (the guard itself, past validation):
    opened = run_cli("sandbox", "sql", "escape", "--pack", str(pack))
    assert opened.returncode == 1
    assert "not authorized: ATTACH is not allowed in a pack's SQL" in opened.stderr or (
        "not authorized: ATTACH and VACUUM INTO are not allowed in a pack's SQL" in opened.stderr
    ), opened.stderr
    from sandboxes.sql.build import SqlBuildError
    from tutor.session import Session

    loaded = load_pack(pack)
    assert loaded.pack is not None
    lesson = loaded.pack.lesson("escape")
    assert lesson is not None
    session = Session(loaded.pack, lesson, Home(tutor_home))
    with pytest.raises(SqlBuildError, match="not authorized"):
        session.start()
    session.close()
    assert list(outside.iterdir()) == []
    assert sorted(p.relative_to(pack) for p in pack.rglob("*")) == before
    assert not (tmp_path / "escape.zip").exists()


def test_what_a_pack_may_still_do_in_its_setup(tmp_path: Path, tutor_home: Path) -> None:
    """Its own labels and a plain VACUUM: allowed, and the database is built with them."""
    root = tmp_path / "fine"
    (root / "databases").mkdir(parents=True)
    (root / "pack.yaml").write_text(MANIFEST.replace("id: escape", "id: fine"), encoding="utf-8")
    lesson = LESSON.format(out="unused")
    start = lesson.index("      ATTACH DATABASE")
    end = lesson.index("steps:")
    setup = "      PRAGMA user_version = 7;\n      PRAGMA foreign_keys = ON;\n      VACUUM;\n"
    lesson = lesson[:start] + setup + lesson[end:]
    lesson = lesson.replace("    scripts: [setup.sql]\n", "").replace(
        "      - sql: \"SELECT 0; SELECT hex(fts3_tokenizer('simple'))\"", "      - sql: SELECT 0"
    )
    (root / "databases" / "01-fine.yaml").write_text(lesson.replace("id: escape", "id: fine", 1), encoding="utf-8")
    done = run_cli("pack", "validate", str(root))
    assert done.returncode == 0, done.stdout
    opened = run_cli("sandbox", "sql", "fine", "--pack", str(root))
    assert opened.returncode == 0, opened.stderr
    live = Path(opened.stdout.strip().splitlines()[-1])
    with sqlite3.connect(live) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (7,)


PROBING = """\
id: probing
title: Probing
track: databases
sandboxes:
  sql:
    sql: CREATE TABLE reviews(stars INTEGER CHECK (stars BETWEEN 1 AND 5));
steps:
  - id: stars
    title: Stars
    text: Reviews have one to five stars.
    task: Keep the rule.
    check:
      kind: sql_probe
      setup: ["PRAGMA writable_schema = ON"]
      probes:
        - sql: "SELECT hex(fts3_tokenizer('simple'))"
          expect: refused
          because: a pointer handed out
    hints: [It is already there.]
    solution:
      sql: SELECT count(*) FROM reviews
"""


def test_the_statements_a_check_tries_are_scanned_with_the_learners_rules(tmp_path: Path) -> None:
    root = tmp_path / "probing"
    (root / "databases").mkdir(parents=True)
    (root / "pack.yaml").write_text(MANIFEST.replace("id: escape", "id: probing"), encoding="utf-8")
    (root / "databases" / "01-probing.yaml").write_text(PROBING, encoding="utf-8")
    loaded = load_pack(root)
    found = [(f"{p.line}:{p.col}", p.message.split(" (")[0]) for p in loaded.errors]
    assert found == [
        (where(PROBING, "setup:", "writable_schema"), "PRAGMA writable_schema is not allowed"),
        (
            where(PROBING, '- sql: "SELECT hex', "fts3_tokenizer"),
            "fts3_tokenizer() is not allowed: it reads and writes the tutor's memory",
        ),
    ]
    assert found[0][0] == "14:23"


BEHIND = """\
id: behind
title: Behind the app's back
track: databases
sandboxes:
  sql:
    sql: CREATE TABLE books(id INTEGER PRIMARY KEY, title TEXT);
build:
  starter: starter
steps:
  - id: page
    title: A page
    text: Pages of books.
    task: Serve a page.
    check:
      kind: code_http
      steps:
        - request: {method: GET, path: /books}
      probes:
        reference: starter
        sequences:
          - - {method: GET, path: /books}
            - {sql: "ATTACH 'elsewhere.db' AS e"}
    hints: [Read the rows.]
    solution:
      files: starter
"""


def test_sql_a_probe_runs_between_requests_is_scanned_too(tmp_path: Path) -> None:
    """A build-it check's `{sql: ...}` between probe requests runs on a copy of the lesson database: the
    guard reads it at load time like the rest of the pack's SQL."""
    root = tmp_path / "behind"
    (root / "databases").mkdir(parents=True)
    (root / "starter").mkdir()
    (root / "starter" / "app.py").write_text("from fastapi import FastAPI\napp = FastAPI()\n", encoding="utf-8")
    (root / "pack.yaml").write_text(MANIFEST.replace("id: escape", "id: behind"), encoding="utf-8")
    (root / "databases" / "01-behind.yaml").write_text(BEHIND, encoding="utf-8")
    found = [(f"{p.line}:{p.col}", p.message.split(" (")[0]) for p in load_pack(root).errors]
    assert found == [
        (
            where(BEHIND, '- {sql: "ATTACH', "ATTACH"),
            "ATTACH is not allowed: it reaches files outside the lesson database",
        )
    ], found


def test_a_wrong_answer_declared_to_fail_may_be_one_the_guard_refuses(tmp_path: Path, tutor_home: Path) -> None:
    """`fails_to_run: true` says the refusal is the mistake the author means to show (a learner trying a
    PRAGMA the workbench refuses): validate does not report it, and `pack test` sees it refused when it runs."""
    root = tmp_path / "declared"
    (root / "databases").mkdir(parents=True)
    (root / "pack.yaml").write_text(MANIFEST.replace("id: escape", "id: declared"), encoding="utf-8")
    lesson = LESSON.format(out="unused").replace("id: escape", "id: declared", 1)
    start = lesson.index("      ATTACH DATABASE")
    lesson = lesson[:start] + lesson[lesson.index("steps:") :]
    lesson = lesson.replace("    scripts: [setup.sql]\n", "").replace(
        "      - sql: \"SELECT 0; SELECT hex(fts3_tokenizer('simple'))\"",
        "      - sql: PRAGMA optimize\n        fails_to_run: true\n      - sql: SELECT 1",
    )
    (root / "databases" / "01-declared.yaml").write_text(lesson, encoding="utf-8")
    assert load_pack(root).errors == []
    done = run_cli("pack", "test", str(root), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    # Without the declaration the same refusal is reported where it is written.
    (root / "databases" / "01-declared.yaml").write_text(
        lesson.replace("        fails_to_run: true\n", ""), encoding="utf-8"
    )
    found = [p.message.split(" (")[0] for p in load_pack(root).errors]
    assert found == ["PRAGMA optimize is not allowed"], found
