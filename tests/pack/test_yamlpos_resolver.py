"""The quick tag resolver in `tutor.pack.yamlpos` must give PyYAML's own answers for every scalar."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import BUILTIN
from tutor.pack.yamlpos import _Loader

TRICKY = [
    "",
    "~",
    "null",
    "Null",
    "NULL",
    "yes",
    "No",
    "ON",
    "off",
    "y",
    "n",
    "true",
    "False",
    "1",
    "-1",
    "+1",
    "0x1F",
    "0o17",
    "017",
    "0b101",
    "1_000",
    "1:30",
    "1.5",
    ".5",
    "-.inf",
    ".NaN",
    "1e3",
    "1.0e+3",
    "2024-01-01",
    "2024-01-01 10:00:00",
    "2024-1-1",
    "<<",
    "=",
    "!x",
    "&a",
    "*a",
    "abc",
    "Yes please",
    "12 monkeys",
    "3.4.5",
    "0.1.0",
    "- x",
    "GET /v1/books",
    "'quoted'",
    "ü",
    "١٢٣",
]


def tags(text: str, loader: type) -> list[str]:
    node = yaml.compose(text, Loader=loader)
    out: list[str] = []

    def walk(n: yaml.Node) -> None:
        out.append(n.tag)
        if isinstance(n, yaml.SequenceNode):
            for item in n.value:
                walk(item)
        elif isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                walk(k)
                walk(v)

    if node is not None:
        walk(node)
    return out


def test_tricky_scalars_resolve_as_pyyaml_resolves_them() -> None:
    for value in TRICKY:
        for text in (f"k: {value}\n", f"- {value}\n", f"k: '{value}'\n", f'k: "{value}"\n'):
            try:
                expected = tags(text, yaml.CSafeLoader)
            except yaml.YAMLError:
                continue
            assert tags(text, _Loader) == expected, text


def test_builtin_lessons_resolve_as_pyyaml_resolves_them() -> None:
    for path in sorted(BUILTIN.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert tags(text, _Loader) == tags(text, yaml.CSafeLoader), path


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12))
def test_any_plain_scalar_resolves_as_pyyaml_resolves_it(value: str) -> None:
    text = yaml.safe_dump({"k": value, "l": [value]})
    plain = f"k: {value}\n"
    for doc in (text, plain):
        try:
            expected = tags(doc, yaml.CSafeLoader)
        except yaml.YAMLError:
            continue
        assert tags(doc, _Loader) == expected, doc
