"""Errors that say the fix: the YAML traps authors fall into, consequences, and solutions that cannot fit."""

from __future__ import annotations

from pathlib import Path

from tests.pack.helpers import GOOD_LESSON, problems, write_pack

SQL_LESSON = """\
id: sql-one
title: SQL
track: databases
sandboxes:
  sql:
    sql: CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1), (2);
steps:
  - id: count
    title: Count
    text: Count the rows.
    check: {kind: sql_result, reference: SELECT COUNT(*) FROM t}
    solution: {answer: "2"}
    wrong_answers:
      - sql: SELECT 1
"""


def test_colon_in_a_hint_says_put_the_text_in_quotes(tmp_path: Path) -> None:
    lesson = GOOD_LESSON.format(id="colon") + "    hints:\n      - Send it with Content-Type: application/json\n"
    found = problems(write_pack(tmp_path, {"http/01.yaml": lesson}))
    assert found == [
        "http/01.yaml:18:9: expected text, got a mapping: the text contains ': ', so YAML read it as "
        '`key: value`; put the text in quotes: "Send it with Content-Type: application/json"'
    ]


def test_second_colon_on_a_key_line_says_quote(tmp_path: Path) -> None:
    lesson = GOOD_LESSON.format(id="colon").replace("text: Pick one.", "text: Note: pick one.")
    found = problems(write_pack(tmp_path, {"http/01.yaml": lesson}))
    assert len(found) == 1
    assert found[0].startswith("http/01.yaml:7:15: a second ': ' on this line")
    assert "put the whole text in quotes" in found[0]


def test_tab_indentation_is_named(tmp_path: Path) -> None:
    lesson = GOOD_LESSON.format(id="tabs").replace("    title: One", "\ttitle: One")
    found = problems(write_pack(tmp_path, {"http/01.yaml": lesson}))
    assert len(found) == 1
    assert found[0].startswith("http/01.yaml:6:1: a tab character: YAML indents with spaces only")


def test_bad_indentation_is_named_and_the_knock_on_error_is_marked(tmp_path: Path) -> None:
    broken = GOOD_LESSON.format(id="first").replace("    text: Pick one.", "   text: Pick one.")
    second = GOOD_LESSON.format(id="second").replace("track: http\n", "track: http\nprerequisites: [first]\n")
    found = problems(write_pack(tmp_path, {"http/01-first.yaml": broken, "http/02-second.yaml": second}))
    assert len(found) == 2
    assert found[0].startswith("http/01-first.yaml:7:4: indentation: this line is not lined up")
    assert found[1] == (
        "http/02-second.yaml:4:17: prerequisite 'first' names no lesson in this pack "
        "[a consequence: http/01-first.yaml could not be read, so its lesson is missing; fix that file first]"
    )


def test_unquoted_date_in_text_says_quote(tmp_path: Path) -> None:
    lesson = GOOD_LESSON.format(id="date").replace("text: Pick one.", "text: 2024-01-01")
    found = problems(write_pack(tmp_path, {"http/01.yaml": lesson}))
    assert found == [
        "http/01.yaml:7:11: expected text, got a date: YAML reads an unquoted 2024-01-01 as a date; "
        'put it in quotes: "2024-01-01"'
    ]


def test_answer_only_solution_on_an_sql_check_is_refused(tmp_path: Path) -> None:
    found = problems(write_pack(tmp_path, {"databases/01.yaml": SQL_LESSON}))
    assert found == [
        "databases/01.yaml:12:15: the solution needs `sql`: a 'sql_result' check judges the learner's SQL "
        "and the database, so an action without `sql` cannot pass it"
    ]


def test_answer_only_wrong_answer_on_an_sql_check_is_refused(tmp_path: Path) -> None:
    lesson = SQL_LESSON.replace('solution: {answer: "2"}', "solution: {sql: SELECT COUNT(*) FROM t}").replace(
        "- sql: SELECT 1", "- answer: '1'"
    )
    found = problems(write_pack(tmp_path, {"databases/01.yaml": lesson}))
    assert len(found) == 1
    assert "the wrong answer 1 needs `sql`" in found[0] and "cannot show that the check rejects" in found[0]


def test_sql_solution_on_a_choice_check_is_refused(tmp_path: Path) -> None:
    lesson = GOOD_LESSON.format(id="c").replace("solution: {answer: a}", "solution: {sql: SELECT 1}")
    found = problems(write_pack(tmp_path, {"http/01.yaml": lesson}))
    assert any("the solution needs `answer`: a 'choice' check judges what the learner types" in p for p in found)


def test_notes_are_allowed_on_lessons_and_steps(tmp_path: Path) -> None:
    lesson = (
        GOOD_LESSON.format(id="noted").replace("track: http\n", "track: http\nnotes: Run this one live.\n")
        + "    notes: Most learners pick b first.\n"
    )
    assert problems(write_pack(tmp_path, {"http/01.yaml": lesson})) == []


def test_renamed_must_name_current_ids(tmp_path: Path) -> None:
    lesson = GOOD_LESSON.format(id="new-id") + "renamed: {old-step: one, one: two}\n"
    manifest = "id: p\ntitle: P\nversion: 2.0.0\nrenamed: {old-id: new-idd}\ntracks:\n  - {id: http, title: HTTP}\n"
    found = problems(write_pack(tmp_path, {"http/01.yaml": lesson}, manifest=manifest))
    assert (
        "pack.yaml:4:19: renamed: 'old-id' -> 'new-idd', but no lesson has the id 'new-idd' (did you mean 'new-id'?)"
        in found
    )
    assert any("renamed: 'one' -> 'two', but this lesson has no step 'two'" in p for p in found)
    assert any("renamed: 'one' is still a step of this lesson" in p for p in found)


API_LESSON = """\
id: api-one
title: API
track: http
sandboxes:
  sql:
    tables:
      - {name: books, rows: 5, primary_key: id, columns: [{name: id, gen: sequence}]}
  api:
    resources: [{name: books, table: books}]
steps:
  - id: list
    title: List
    text: List the books.
    check:
      kind: http_traffic
      expect: [{request: {method: GET, path: /v1/books}, response: {status: 200}}]
    solution: {requests: [{wait: 5}]}
    wrong_answers:
      - answer: GET /v1/books
"""


def test_a_traffic_check_needs_requests_not_only_waits_or_answers(tmp_path: Path) -> None:
    found = problems(write_pack(tmp_path, {"http/01.yaml": API_LESSON}))
    assert found == [
        "http/01.yaml:17:15: the solution needs `requests`: a 'http_traffic' check judges the requests the learner "
        "sent, so an action without `requests` cannot pass it",
        "http/01.yaml:19:9: the wrong answer 1 needs `requests`: a 'http_traffic' check judges the requests the "
        "learner sent, so an action without `requests` cannot show that the check rejects this mistake",
    ]


def test_a_quote_inside_double_quotes_is_named(tmp_path: Path) -> None:
    lesson = GOOD_LESSON.format(id="q").replace("text: Pick one.", 'text: "Send {"count": 3} back"')
    found = problems(write_pack(tmp_path, {"http/01.yaml": lesson}))
    assert len(found) == 1
    assert found[0].startswith('http/01.yaml:7:19: a quoted text ends early on this line: a " inside "..." closes it')


def test_a_key_indented_too_far_is_indentation_not_a_colon_trap(tmp_path: Path) -> None:
    lesson = GOOD_LESSON.format(id="i").replace("    text: Pick one.", "     text: Pick one.")
    found = problems(write_pack(tmp_path, {"http/01.yaml": lesson}))
    assert len(found) == 1
    assert "indentation: this line is not lined up" in found[0], found[0]
