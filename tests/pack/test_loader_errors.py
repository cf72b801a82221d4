"""Each class of pack error is reported at the exact FILE:LINE:COL of the offending key or value."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from tests.pack.helpers import GOOD_LESSON, MANIFEST, problems, write_pack


def test_a_good_pack_has_no_errors(tmp_path: Path) -> None:
    root = write_pack(tmp_path, {"http/01.yaml": GOOD_LESSON.format(id="first")})
    assert problems(root) == []


def test_yaml_syntax_error_points_at_the_problem(tmp_path: Path) -> None:
    root = write_pack(tmp_path, {"http/01.yaml": "id: x\ntitle: [unclosed\nsteps: []\n"})
    (error,) = problems(root)
    assert error.startswith("http/01.yaml:3:6: YAML syntax error:")
    assert "line 2, column 8" in error  # where the unclosed sequence started


def test_tab_indentation_is_a_syntax_error_with_position(tmp_path: Path) -> None:
    root = write_pack(tmp_path, {"http/01.yaml": "id: x\nsteps:\n\t- id: a\n"})
    (error,) = problems(root)
    assert error.startswith("http/01.yaml:3:1: a tab character: YAML indents with spaces only")


def test_unknown_key_with_did_you_mean(tmp_path: Path) -> None:
    lesson = GOOD_LESSON.format(id="first").replace("    solution:", "    hintz: [a]\n    solution:")
    root = write_pack(tmp_path, {"http/01.yaml": lesson})
    assert problems(root) == ["http/01.yaml:14:5: unknown key 'hintz' (did you mean 'hints'?)"]


def test_unknown_key_at_top_level(tmp_path: Path) -> None:
    lesson = "summry: typo\n" + GOOD_LESSON.format(id="first")
    root = write_pack(tmp_path, {"http/01.yaml": lesson})
    assert problems(root) == ["http/01.yaml:1:1: unknown key 'summry' (did you mean 'summary'?)"]


def test_unknown_check_kind_suggests_the_right_one(tmp_path: Path) -> None:
    lesson = GOOD_LESSON.format(id="first").replace("kind: choice", "kind: choise")
    root = write_pack(tmp_path, {"http/01.yaml": lesson})
    (error,) = problems(root)
    assert error.startswith("http/01.yaml:9:7: unknown kind 'choise' (did you mean 'choice'?)")


def test_wrong_type_points_at_the_value(tmp_path: Path) -> None:
    lesson = GOOD_LESSON.format(id="first").replace("track: http", "track: http\nminutes: lots")
    root = write_pack(tmp_path, {"http/01.yaml": lesson})
    (error,) = problems(root)
    assert error.startswith("http/01.yaml:4:10: input should be a valid integer")
    assert "'lots'" in error


def test_number_where_text_is_expected_suggests_quotes(tmp_path: Path) -> None:
    manifest = MANIFEST.replace("title: Test pack", "title: 2024")
    root = write_pack(tmp_path, {"http/01.yaml": GOOD_LESSON.format(id="first")}, manifest=manifest)
    (error,) = problems(root)
    assert error == 'pack.yaml:2:8: expected text, got a number (2024); put it in quotes: "2024"'


def test_missing_required_field_points_at_its_mapping(tmp_path: Path) -> None:
    lesson = GOOD_LESSON.format(id="first").replace("    title: One\n", "")
    root = write_pack(tmp_path, {"http/01.yaml": lesson})
    assert problems(root) == ["http/01.yaml:5:5: missing required key 'title'"]


def test_missing_required_top_level_field(tmp_path: Path) -> None:
    lesson = GOOD_LESSON.format(id="first").replace("title: A lesson\n", "")
    root = write_pack(tmp_path, {"http/01.yaml": lesson})
    assert problems(root) == ["http/01.yaml:1:1: missing required key 'title'"]


def test_duplicate_lesson_ids_name_both_places(tmp_path: Path) -> None:
    root = write_pack(
        tmp_path,
        {"http/01.yaml": GOOD_LESSON.format(id="same"), "http/02.yaml": GOOD_LESSON.format(id="same")},
    )
    assert problems(root) == ["http/02.yaml:1:5: lesson id 'same' is also used by http/01.yaml:1:5"]


def test_duplicate_step_ids_name_both_places(tmp_path: Path) -> None:
    lesson = GOOD_LESSON.format(id="first")
    steps = lesson[lesson.index("  - id: one") :]
    root = write_pack(tmp_path, {"http/01.yaml": lesson + steps})
    (error,) = problems(root)
    assert error == "http/01.yaml:17:9: step id 'one' is used twice in this lesson (first at line 5)"


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    lesson = GOOD_LESSON.format(id="first") + "title: again\n"
    root = write_pack(tmp_path, {"http/01.yaml": lesson})
    assert problems(root) == ["http/01.yaml:17:1: key 'title' is given twice (first at line 2); only one may stay"]


def test_unknown_prerequisite_with_suggestion(tmp_path: Path) -> None:
    second = GOOD_LESSON.format(id="second").replace("track: http", "track: http\nprerequisites: [frist]")
    root = write_pack(tmp_path, {"http/01.yaml": GOOD_LESSON.format(id="first"), "http/02.yaml": second})
    assert problems(root) == [
        "http/02.yaml:4:17: prerequisite 'frist' names no lesson in this pack (did you mean 'first'?)"
    ]


def test_prerequisite_cycle(tmp_path: Path) -> None:
    a = GOOD_LESSON.format(id="a").replace("track: http", "track: http\nprerequisites: [b]")
    b = GOOD_LESSON.format(id="b").replace("track: http", "track: http\nprerequisites: [a]")
    root = write_pack(tmp_path, {"http/01.yaml": a, "http/02.yaml": b})
    (error,) = problems(root)
    assert error.startswith("http/02.yaml:4:17: prerequisites form a cycle: ")
    assert "a -> b -> a" in error or "b -> a -> b" in error


def test_self_prerequisite_is_a_cycle(tmp_path: Path) -> None:
    a = GOOD_LESSON.format(id="a").replace("track: http", "track: http\nprerequisites: [a]")
    root = write_pack(tmp_path, {"http/01.yaml": a})
    assert problems(root) == ["http/01.yaml:4:17: prerequisites form a cycle: a -> a"]


def _sql_lesson(script: str) -> str:
    return f"""\
id: with-sql
title: SQL
track: databases
sandboxes:
  sql:
    scripts: [{script}]
steps:
  - id: one
    title: One
    text: Count.
    check: {{kind: number, value: 1}}
    solution: {{answer: 1}}
"""


def test_referenced_file_that_does_not_exist(tmp_path: Path) -> None:
    root = write_pack(tmp_path, {"databases/01.yaml": _sql_lesson("data/missing.sql")})
    assert problems(root) == [
        "databases/01.yaml:6:15: file not found: 'data/missing.sql' (paths are relative to the pack folder)"
    ]


def test_referenced_file_outside_the_pack(tmp_path: Path) -> None:
    (tmp_path / "secret.sql").write_text("select 1;")
    root = write_pack(tmp_path / "pack", {"databases/01.yaml": _sql_lesson("../secret.sql")})
    assert problems(root) == ["databases/01.yaml:6:15: '../secret.sql' points outside the pack folder"]


def test_absolute_referenced_path_is_refused(tmp_path: Path) -> None:
    root = write_pack(tmp_path, {"databases/01.yaml": _sql_lesson("/etc/passwd")})
    (error,) = problems(root)
    assert error.startswith("databases/01.yaml:6:15: ")
    assert "relative to the pack folder" in error


def test_lesson_in_a_folder_that_is_not_a_track(tmp_path: Path) -> None:
    root = write_pack(tmp_path, {"htpp/01.yaml": GOOD_LESSON.format(id="first")})
    (error,) = problems(root)
    assert error.startswith("htpp/01.yaml:1:1: folder 'htpp' is not a track in pack.yaml (did you mean 'http'?)")


def test_lesson_track_must_match_its_folder(tmp_path: Path) -> None:
    root = write_pack(tmp_path, {"databases/01.yaml": GOOD_LESSON.format(id="first")})
    assert problems(root) == [
        "databases/01.yaml:3:8: this lesson is in the folder of track 'databases' but says track 'http'"
    ]


def test_check_needing_a_sandbox_the_lesson_lacks(tmp_path: Path) -> None:
    lesson = """\
id: first
title: A lesson
track: http
steps:
  - id: one
    title: One
    text: Query.
    check:
      kind: sql_result
      reference: SELECT 1
    solution: {sql: SELECT 1}
"""
    root = write_pack(tmp_path, {"http/01.yaml": lesson})
    assert problems(root) == [
        "http/01.yaml:9:13: check kind 'sql_result' needs the lesson's SQL sandbox: add `sandboxes: sql:`",
        "http/01.yaml:11:16: the solution runs SQL, but the lesson has no SQL sandbox",
    ]


def test_solution_that_picks_no_option(tmp_path: Path) -> None:
    lesson = GOOD_LESSON.format(id="first").replace("      - answer: b", "      - answer: z")
    root = write_pack(tmp_path, {"http/01.yaml": lesson})
    assert problems(root) == ["http/01.yaml:16:17: the wrong answer 1 picks 'z', which is not an option (a, b)"]


def test_validator_message_points_at_the_field_it_names(tmp_path: Path) -> None:
    lesson = GOOD_LESSON.format(id="first").replace("correct: a", "correct: c")
    root = write_pack(tmp_path, {"http/01.yaml": lesson})
    assert problems(root) == ["http/01.yaml:13:7: `correct` names no option: c (options: a, b)"]


def test_every_error_in_one_run(tmp_path: Path) -> None:
    broken = GOOD_LESSON.format(id="first").replace("track: http", "track: http\nminutes: lots\nsummry: x")
    broken = broken.replace("kind: choice", "kind: choise")
    root = write_pack(
        tmp_path,
        {"http/01.yaml": broken, "http/02.yaml": "id: [\n", "htpp/03.yaml": GOOD_LESSON.format(id="x")},
    )
    errors = problems(root)
    assert len(errors) == 5
    assert [e.split(":")[0] for e in errors] == [
        "htpp/03.yaml",
        "http/01.yaml",
        "http/01.yaml",
        "http/01.yaml",
        "http/02.yaml",
    ]


def test_missing_manifest(tmp_path: Path) -> None:
    root = write_pack(tmp_path, {"http/01.yaml": GOOD_LESSON.format(id="first")}, manifest=None)
    assert problems(root) == ["pack.yaml:1:1: missing: a pack is a folder with pack.yaml at its root"]


def test_pack_needing_a_newer_tutor(tmp_path: Path) -> None:
    manifest = MANIFEST + "min_tutor_version: 99.0.0\n"
    root = write_pack(tmp_path, {"http/01.yaml": GOOD_LESSON.format(id="first")}, manifest=manifest)
    (error,) = problems(root)
    assert error.startswith("pack.yaml:9:20: this pack needs backend-tutor 99.0.0 or newer")


def test_alias_bomb_fails_fast_with_a_clear_error(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghij"
    for prev, name in itertools.pairwise(names):
        refs = ",".join([f"*{prev}"] * 9)
        lines.append(f"{name}: &{name} [{refs}]")
    root = write_pack(tmp_path, {"http/01.yaml": "\n".join(lines) + "\n"})
    started = time.perf_counter()
    (error,) = problems(root)
    assert time.perf_counter() - started < 5
    assert error.startswith("http/01.yaml:")
    assert "expands to more than" in error


def test_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    root = write_pack(tmp_path, {"http/01.yaml": GOOD_LESSON.format(id="first")})
    big = root / "http" / "02.yaml"
    with big.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # a sparse 50 MB file: instant to make, would be slow to parse
    started = time.perf_counter()
    (error,) = problems(root)
    assert time.perf_counter() - started < 2
    assert error.startswith("http/02.yaml:1:1: the file is 50.0 MiB")


def test_deep_nesting_is_a_clean_error(tmp_path: Path) -> None:
    root = write_pack(tmp_path, {"http/01.yaml": "id: " + "[" * 5000 + "]" * 5000 + "\n"})
    (error,) = problems(root)
    assert error.startswith("http/01.yaml:")
    assert "nest" in error


def test_not_utf8(tmp_path: Path) -> None:
    root = write_pack(tmp_path, {"http/01.yaml": GOOD_LESSON.format(id="first")})
    (root / "http" / "02.yaml").write_bytes(b"id: caf\xe9\n")
    assert problems(root) == ["http/02.yaml:1:8: the file is not UTF-8 text"]


def test_python_tags_are_not_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"id: !!python/object/apply:os.system ['touch {marker}']\n"
    root = write_pack(tmp_path / "pack", {"http/01.yaml": text})
    (error,) = problems(root)
    assert not marker.exists()
    assert error.startswith("http/01.yaml:1:5:")


def test_a_track_whose_only_lesson_is_broken_is_not_called_empty(tmp_path: Path) -> None:
    from tests.pack.helpers import load

    broken = GOOD_LESSON.format(id="first").replace("title: A lesson", "title: [oops")
    result = load(write_pack(tmp_path, {"http/01.yaml": broken}))
    assert [p.message for p in result.warnings] == [
        "track 'databases' has no lessons (put lesson files in the folder 'databases/')"
    ]
    assert len(result.errors) == 1


def test_a_code_line_wider_than_80_columns_show_is_a_warning_at_its_line(tmp_path: Path) -> None:
    from tests.pack.helpers import load

    wide = "SELECT id, title, published FROM books ORDER BY published DESC, id DESC LIMIT 10;"  # 81
    narrow = "SELECT id, title, published FROM books"
    lesson = GOOD_LESSON.format(id="first").replace(
        "    text: Pick one.\n",
        f"    text: |\n      Pick one.\n\n      ```sql\n      {narrow}\n      {wide}\n      ```\n\n      {wide}\n",
    )
    result = load(
        write_pack(
            tmp_path,
            {
                "http/01.yaml": lesson,
                "databases/01.yaml": GOOD_LESSON.format(id="b").replace("track: http", "track: databases"),
            },
        )
    )
    assert result.errors == []
    # only the line inside the fence: the same words as prose wrap
    assert [str(p) for p in result.warnings] == [
        "http/01.yaml:12:80: warning: this line of a code block is 81 characters wide: an 80-column terminal "
        "shows its first 73; break it (a learner rarely scrolls sideways)"
    ]
