"""Whatever text a lesson file holds, loading a pack gives a pack or clean errors, never a crash."""

from __future__ import annotations

import string
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.pack.helpers import GOOD_LESSON, MANIFEST, write_pack
from tutor.pack.errors import PackProblem
from tutor.pack.loader import load_pack
from tutor.pack.yamlpos import YamlProblem, load_located

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
yaml_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "title",
                    "track",
                    "steps",
                    "check",
                    "kind",
                    "x",
                    "solution",
                    "answer",
                    "options",
                    "text",
                    "hints",
                    "sandboxes",
                    "sql",
                ]
            ),
            children,
            max_size=5,
        ),
    ),
    max_leaves=25,
)
yamlish_text = st.text(alphabet=string.printable + "{}[]&*!|>-:#'\"é\t", max_size=300)


def _assert_clean(root: Path) -> None:
    result = load_pack(root)
    for problem in result.problems:
        assert isinstance(problem, PackProblem)
        assert problem.line >= 1 and problem.col >= 1
        assert problem.file
        assert problem.message
    if result.errors:
        assert not result.ok


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=yamlish_text)
def test_arbitrary_text_gives_a_pack_or_clean_errors(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_pack(Path(tmp), {"http/01.yaml": GOOD_LESSON.format(id="good")})
        (root / "http" / "02.yaml").write_text(text, encoding="utf-8")
        _assert_clean(root)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=yaml_values)
def test_arbitrary_yaml_structures_give_a_pack_or_clean_errors(value: object) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_pack(Path(tmp), {})
        (root / "http").mkdir()
        (root / "http" / "01.yaml").write_text(yaml.safe_dump(value), encoding="utf-8")
        _assert_clean(root)


@settings(max_examples=100, deadline=None)
@given(text=yamlish_text)
def test_arbitrary_manifest_gives_clean_errors(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_pack(Path(tmp), {"http/01.yaml": GOOD_LESSON.format(id="good")}, manifest=None)
        (root / "pack.yaml").write_text(text, encoding="utf-8")
        _assert_clean(root)


@settings(max_examples=200, deadline=None)
@given(text=yamlish_text)
def test_reader_only_raises_yaml_problem(text: str) -> None:
    try:
        load_located(text)
    except YamlProblem as problem:
        assert problem.pos.line >= 1 and problem.pos.col >= 1


def test_mutated_good_lesson_lines_never_crash(tmp_path: Path) -> None:
    """Delete each line of a good lesson in turn: every variant loads or errors cleanly."""
    lines = GOOD_LESSON.format(id="good").splitlines(keepends=True)
    for index in range(len(lines)):
        root = write_pack(
            tmp_path / f"p{index}", {"http/01.yaml": "".join(lines[:index] + lines[index + 1 :])}, manifest=MANIFEST
        )
        _assert_clean(root)


def _read(reader: object, text: str) -> tuple[str, object]:
    try:
        located = reader(text)  # type: ignore[operator]
    except YamlProblem as problem:
        return "problem", (problem.pos, problem.message)
    return "data", (located.data, located.plain, located.duplicate_keys)


MERGES_AND_TAGS = [
    "base: &b {x: 1, y: 2}\nthing:\n  <<: *b\n  y: 3\n",
    "a: 1\na: 2\n",
    "<<: [{a: 1}, {b: 2}]\nc: 3\n",
    "when: 2026-12-02\n200: ok\n",
    "x: !!python/object:os.system x\n",
    "x: !!binary aGVsbG8=\n",
    "a: &a [*a]\n",
    "? [1, 2]\n: x\n",
    "k: [" * 70 + "]" * 70 + "\n",
]


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(yamlish_text, yaml_values.map(yaml.safe_dump), st.sampled_from(MERGES_AND_TAGS)))
def test_the_quick_reader_gives_what_the_placed_reader_gives(text: str) -> None:
    """`load_unplaced` (the CLI's and the app's reader of a file not seen before) returns the same data,
    or raises the same problem at the same place, as `load_located`, and its positions are the same."""
    from tutor.pack.yamlpos import load_unplaced

    quick, placed = _read(load_unplaced, text), _read(load_located, text)
    assert quick == placed
    if quick[0] == "data":
        assert load_unplaced(text).value_pos(("steps",)) == load_located(text).value_pos(("steps",))
