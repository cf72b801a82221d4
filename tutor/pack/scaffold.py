"""`pack new DIR`: a starting pack that passes `pack validate` and `pack test` as written.

One example lesson per kind of step: a concept lesson (choice, text, number), an SQL lesson on a
small table with its rows in the lesson (sql_result, sql_schema), an HTTP lesson on the sandbox
API (http_traffic), and a build-it lesson where the learner writes a small app (code_http). Each
lesson file starts with the editor schema line, and `schema/` holds the schemas it points at.
README.md tells the author what to do next.
"""

from __future__ import annotations

import re
from pathlib import Path

from tutor import __version__

PACK_YAML = """\
# yaml-language-server: $schema=schema/pack.schema.json
format: 1
id: {pack_id}
title: {title}
version: 0.1.0
min_tutor_version: {tutor_version}
description: >
  What this course teaches, in a sentence or two.
authors:
  - name: Your Name
tracks:
  - id: basics
    title: Basics
    description: Concepts checked by what the learner picks or types.
  - id: databases
    title: Databases
    description: Practice on a real SQLite database.
  - id: http
    title: HTTP
    description: Practice on a real HTTP API on 127.0.0.1.
  - id: build
    title: Build it
    description: The learner writes code in their own editor; the tutor runs it and calls it.
"""

CONCEPT_LESSON = """\
# yaml-language-server: $schema=../schema/lesson.schema.json
id: status-classes
title: What a status code says
track: basics
summary: Read the first digit of a status code, and pick the right code for a conflict.
minutes: 5
notes: >
  For instructors only (pack info and pack test show it; learners never see it).
  Most learners answer 422 to the second step first: discuss why 409 fits.
steps:
  - id: first-digit
    title: The first digit
    text: >
      The first digit of a status code tells a client what kind of outcome it got:
      2xx it worked, 4xx the request was wrong, 5xx the server failed.
    task: A client gets 503. Whose fault is it?
    check:
      kind: choice
      options:
        - id: client
          text: "The client's request was wrong."
          why: A 4xx says the request was wrong; a 5xx says the server could not do its part.
        - {id: server, text: The server failed; retrying later may work.}
      correct: server
    hints:
      - "Look only at the first digit: 5."
    solution: {answer: server}
    wrong_answers:
      - answer: client        # its option's `why` is what the learner reads
    explanation: Clients, proxies and monitoring all branch on the first digit.

  - id: conflict
    title: Which 4xx?
    text: >
      A client creates a user whose email already exists. The JSON is fine and every value is
      valid on its own; it clashes with the current state of the server.
    task: Which status code should the API answer with? Type the number.
    check: {kind: text, accept: ["409", "409 conflict"]}
    hints:
      - "It is a conflict with the server's state: 4.."
    solution: {answer: "409"}
    wrong_answers:
      - answer: "422"
        feedback: 422 is for values that are invalid by themselves; this one clashes with a stored row.
    notes: A step can have notes too.

  - id: log2
    title: How many steps?
    text: >
      A binary search halves the range each step, so it needs about log2(n) steps.
    task: About how many steps does a binary search need for 1,000,000 sorted rows?
    check: {kind: number, value: 20, tolerance: 1, unit: steps}
    hints:
      - 2 to the power 20 is about a million.
    solution: {answer: 20}
    wrong_answers:
      - answer: 1000
        feedback: That is the square root; a binary search halves the range each time.
"""

SQL_LESSON = """\
# yaml-language-server: $schema=../schema/lesson.schema.json
id: first-queries
title: Ask the database
track: databases
summary: Query a small table whose rows live in the lesson, then add an index.
minutes: 8
sandboxes:
  sql:
    tables:
      - name: cities
        primary_key: id
        columns:
          - {name: id, type: INTEGER}
          - {name: name, type: TEXT, not_null: true}
          - {name: country, type: TEXT, not_null: true}
          - {name: population, type: INTEGER}
        rows:                       # or `csv: data/cities.csv` / `json: data/cities.json`
          - [1, Lisbon, PT, 545000]
          - [2, Porto, PT, 232000]
          - [3, Madrid, ES, 3300000]
          - [4, Seville, ES, 685000]
steps:
  - id: big-cities
    title: Filter and sort
    text: >
      The table `cities` has a name, a country and a population per city.
    task: List the names of the cities with more than 500000 people, biggest first.
    check:
      kind: sql_result
      reference: SELECT name FROM cities WHERE population > 500000 ORDER BY population DESC
      ordered: true
    hints:
      - "WHERE filters rows; ORDER BY ... DESC sorts biggest first."
    solution:
      sql: SELECT name FROM cities WHERE population > 500000 ORDER BY population DESC
    wrong_answers:
      - sql: SELECT name FROM cities WHERE population > 500000
        feedback: Without ORDER BY the database may return the rows in any order.
      - sql: SELECT name FROM cities ORDER BY population DESC
        feedback: "Filter first: only the cities with more than 500000 people."

  - id: index-country
    title: An index for a filter
    text: >
      Lookups by country scan the whole table. An index on `country` lets SQLite seek instead.
    task: Create an index on cities(country).
    check:
      kind: sql_schema
      indexes:
        - {table: cities, columns: [country]}
    hints:
      - CREATE INDEX name ON table(column)
    solution:
      sql: CREATE INDEX ix_cities_country ON cities(country)
    wrong_answers:
      - sql: CREATE INDEX ix_cities_name ON cities(name)
        feedback: That index is on the name; the filter is on the country.
"""

HTTP_LESSON = """\
# yaml-language-server: $schema=../schema/lesson.schema.json
id: first-requests
title: Talk to an API
track: http
summary: Send a request to the lesson's API and read the answer.
minutes: 5
sandboxes:
  sql:
    tables:
      - name: books
        rows: 50
        seed: 1
        primary_key: id
        columns:
          - {name: id, gen: sequence}
          - {name: title, gen: words, min: 1, max: 4}
          - {name: year, gen: int, min: 1950, max: 2024}
  api:
    resources:
      - {name: books, table: books}
steps:
  - id: first-page
    title: A page of books
    text: >
      The lesson's API serves the table `books` at `{{api_url}}/v1/books`. Use the request
      workbench, or curl from your own terminal.
    task: Get the first page of 5 books.
    check:
      kind: http_traffic
      expect:
        - request: {method: GET, path: /v1/books, query: {limit: "5"}}
          response: {status: 200}
    hints:
      - "The page size goes in the query string: ?limit=5"
    solution:
      requests:
        - {method: GET, path: /v1/books, query: {limit: 5}}
    wrong_answers:
      - requests: [{method: GET, path: /v1/book, query: {limit: 5}}]
        feedback: The collection is plural, /v1/books; /v1/book answers 404 Not Found.
"""

BUILD_LESSON = """\
# yaml-language-server: $schema=../schema/lesson.schema.json
id: build-count
title: "Build it: a count endpoint"
track: build
summary: Write a small endpoint in your own editor; the tutor runs your app and calls it.
minutes: 10
sandboxes:
  sql:
    tables:
      - name: cities
        primary_key: id
        columns:
          - {name: id, type: INTEGER}
          - {name: name, type: TEXT, not_null: true}
        rows: [[1, Lisbon], [2, Porto], [3, Madrid]]
build:
  starter: build/01-build-count/starter      # copied into the learner's workspace
  module: app
steps:
  - id: count
    title: Count the cities
    text: >
      Your workspace holds `app.py`, a FastAPI app. Open it in your editor. Every time you save,
      the tutor starts your app on 127.0.0.1 with a fresh copy of the lesson database (its path is
      in the environment variable `BACKEND_TUTOR_DB`) and sends it the request below.
    task: '`GET /cities/count` answers 200 with `{"count": 3}`: the number of rows in `cities`.'
    check:
      kind: code_http
      steps:
        - request: {method: GET, path: /cities/count}
          expect: {status: 200, json: {count: 3}}
    hints:
      - "SELECT COUNT(*) FROM cities gives the number."
    solution:
      files: build/01-build-count/reference  # laid over the starter files, as if the learner wrote them
    wrong_answers:
      - files: build/01-build-count/wrong-list
        feedback: The client asked for a number; a list makes it count the rows itself.
"""

BUILD_STARTER = '''"""The cities API. Add GET /cities/count.

Run by the tutor with a fresh copy of the lesson database; its path is in BACKEND_TUTOR_DB.
"""

import os
import sqlite3

from fastapi import FastAPI

app = FastAPI()


def db() -> sqlite3.Connection:
    return sqlite3.connect(os.environ["BACKEND_TUTOR_DB"])
'''

BUILD_REFERENCE = (
    BUILD_STARTER
    + """

@app.get("/cities/count")
def count_cities():
    with db() as connection:
        (count,) = connection.execute("SELECT COUNT(*) FROM cities").fetchone()
    return {"count": count}
"""
)

BUILD_WRONG = (
    BUILD_STARTER
    + """

@app.get("/cities/count")
def count_cities():
    with db() as connection:
        rows = connection.execute("SELECT name FROM cities").fetchall()
    return {"cities": [name for (name,) in rows]}
"""
)

README = """\
# {title}

A lesson pack for [backend-tutor](https://pypi.org/project/backend-tutor/). It was made with
`backend-tutor pack new`; every file here is yours to change.

## Layout

    pack.yaml                          id, title, version, tracks (in the order learners see them)
    basics/01-status-classes.yaml      a concept lesson: choice, text and number steps
    databases/01-first-queries.yaml    an SQL lesson on a table whose rows are in the file
    http/01-first-requests.yaml        an HTTP lesson on the lesson's sandbox API
    build/01-build-count.yaml          a build-it lesson: the learner writes an endpoint (code_http)
    build/01-build-count/              its starter files, reference solution and a wrong answer
    schema/                            JSON Schemas your editor checks the YAML with (not shipped)

## The loop

    backend-tutor pack validate .      # every problem as FILE:LINE:COL: message
    backend-tutor pack test .          # every solution passes, every wrong answer fails
    backend-tutor --pack .             # try it as a learner
    backend-tutor pack build . -o {pack_id}.zip   # validates, tests, and writes the zip for your cohort

`pack test` and `pack build` ask before they run the pack's Python (its build-it lesson), and ask
again whenever that code changes; in CI, give them `--trust`.

The build-it lesson runs Python from the pack on the learner's machine, so learners install the zip
with `backend-tutor pack install {pack_id}.zip --trust` (delete the `build` track and its folder if
you do not want that). They send you
`backend-tutor progress export --pack {pack_id} --format csv`; `backend-tutor progress merge` turns
a folder of those into one table that shows where the cohort gets stuck.

## Before you hand it out

- Keep `id` in pack.yaml, and lesson and step ids, stable: learners' progress is kept by them.
  To rename one, list it under `renamed:` (pack.yaml for lessons, the lesson file for steps).
- Raise `version` for each release.
- `notes:` on a lesson or a step are for instructors: `pack info` and `pack test` show them,
  learners never see them. Solutions and wrong answers are in the zip too (`pack test` needs them).

The format, every check kind and the YAML traps: docs/pack-format.md in the backend-tutor repository.
"""

GITIGNORE = "*.zip\n*.zip.sha256\n"


class ScaffoldError(Exception):
    pass


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")
    return slug or "my-pack"


def scaffold(target: Path, *, title: str | None = None, pack_id: str | None = None) -> list[Path]:
    """Write a new pack into `target` (which must not exist or be empty). Returns the files written."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ScaffoldError(f"{target} already exists and is not empty; give a new folder")
    pack_id = pack_id or _slug(target.resolve().name)
    title = title or target.resolve().name.replace("-", " ").replace("_", " ").strip().capitalize() or "My pack"
    files = {
        "pack.yaml": PACK_YAML.format(pack_id=pack_id, title=title, tutor_version=__version__),
        "basics/01-status-classes.yaml": CONCEPT_LESSON,
        "databases/01-first-queries.yaml": SQL_LESSON,
        "http/01-first-requests.yaml": HTTP_LESSON,
        "build/01-build-count.yaml": BUILD_LESSON,
        "build/01-build-count/starter/app.py": BUILD_STARTER,
        "build/01-build-count/reference/app.py": BUILD_REFERENCE,
        "build/01-build-count/wrong-list/app.py": BUILD_WRONG,
        "README.md": README.format(title=title, pack_id=pack_id),
        ".gitignore": GITIGNORE,
    }
    written: list[Path] = []
    for rel, text in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    from tutor.pack.schema import SCHEMAS, dumps

    for name, make in SCHEMAS.items():
        path = target / "schema" / f"{name}.schema.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(make()), encoding="utf-8")
        written.append(path)
    return written
