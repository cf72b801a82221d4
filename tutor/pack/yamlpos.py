"""YAML to plain Python values, remembering where every key and value stands in the file.

PyYAML's safe composer builds a node graph that carries positions; we turn it into dicts, lists and
scalars ourselves, so that a validation error can point at `FILE:LINE:COL` of the offending key or
value. The walk has a budget: an alias bomb ("billion laughs") expands the same nodes again and again,
and is stopped after `max_values` values instead of eating memory. Deep nesting is stopped too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml is part of every PyYAML wheel we install
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Path = tuple[str | int, ...]
MAX_VALUES = 50_000
MAX_DEPTH = 64
MERGE_TAG = "tag:yaml.org,2002:merge"
_Y = "tag:yaml.org,2002:"
SCALAR_TAGS = frozenset(_Y + t for t in ("str", "int", "float", "bool", "null", "timestamp"))


@dataclass(frozen=True, order=True)
class Pos:
    line: int  # 1-based
    col: int  # 1-based


class YamlProblem(Exception):
    def __init__(self, pos: Pos, message: str) -> None:
        super().__init__(message)
        self.pos = pos
        self.message = message


@dataclass
class Located:
    """Plain data plus where each part of it was written."""

    data: Any
    values: dict[Path, Pos] = field(default_factory=dict)
    keys: dict[Path, Pos] = field(default_factory=dict)
    ends: dict[Path, Pos] = field(default_factory=dict)
    duplicate_keys: list[tuple[Path, Pos, Pos]] = field(default_factory=list)

    def value_pos(self, path: Path) -> Pos:
        """Where the value at `path` starts; falls back to the nearest enclosing value."""
        for cut in range(len(path), -1, -1):
            found = self.values.get(path[:cut])
            if found is not None:
                return found
        return Pos(1, 1)

    def key_pos(self, path: Path) -> Pos:
        """Where the key naming `path` stands (the value's position for list items and the root)."""
        return self.keys.get(path) or self.value_pos(path)


def _pos(node: Node) -> Pos:
    return Pos(node.start_mark.line + 1, node.start_mark.column + 1)


class _Walker:
    def __init__(self, max_values: int) -> None:
        self.budget = max_values
        self.max_values = max_values
        self.constructor = SafeConstructor()
        self.out = Located(data=None)

    def walk(self, node: Node, path: Path, depth: int) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise YamlProblem(
                _pos(node),
                f"the file expands to more than {self.max_values:,} values "
                "(a YAML alias repeated many times?); refusing to load it",
            )
        if depth > MAX_DEPTH:
            raise YamlProblem(_pos(node), f"nested more than {MAX_DEPTH} levels deep")
        self.out.values[path] = _pos(node)
        self.out.ends[path] = Pos(node.end_mark.line + 1, node.end_mark.column + 1)
        if node.tag not in SCALAR_TAGS | {_Y + "seq", _Y + "map"}:
            shown = node.tag.replace(_Y, "!!")
            raise YamlProblem(_pos(node), f"the YAML tag '{shown}' is not allowed: pack files hold plain data")
        if isinstance(node, ScalarNode):
            try:
                return self.constructor.construct_object(node, deep=True)
            except yaml.YAMLError as exc:
                raise YamlProblem(_pos(node), f"bad value: {getattr(exc, 'problem', None) or exc}") from None
        if isinstance(node, SequenceNode):
            return [self.walk(item, (*path, index), depth + 1) for index, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            return self._mapping(node, path, depth)
        raise YamlProblem(_pos(node), "unsupported YAML node")  # pragma: no cover

    def _mapping(self, node: MappingNode, path: Path, depth: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first_seen: dict[Any, Pos] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                self._merge(result, value_node, path, depth)
                continue
            if not isinstance(key_node, ScalarNode):
                raise YamlProblem(_pos(key_node), "a key must be a plain value, not a list or a mapping")
            key = self.constructor.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) and key is not None:
                key = str(key)
            child: Path = (*path, key)
            if key in first_seen:
                self.out.duplicate_keys.append((child, _pos(key_node), first_seen[key]))
            first_seen[key] = _pos(key_node)
            self.out.keys[child] = _pos(key_node)
            result[key] = self.walk(value_node, child, depth + 1)
        return result

    def _merge(self, result: dict[Any, Any], value_node: Node, path: Path, depth: int) -> None:
        sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        for source in sources:
            if not isinstance(source, MappingNode):
                raise YamlProblem(_pos(source), "'<<' merges mappings only")
            for key, value in self._mapping(source, path, depth).items():
                result.setdefault(key, value)


def _line(exc: yaml.YAMLError, mark: Any) -> str:
    buffer = getattr(mark, "buffer", None)
    if not isinstance(buffer, str):
        return ""
    lines = buffer.split("\n")
    return lines[mark.line] if 0 <= mark.line < len(lines) else ""


def _in_words(problem: str, text: str, mark: Any, exc: yaml.YAMLError) -> str:
    """PyYAML's message, led by what an author should do about it."""
    line = _line(exc, mark).rstrip("\0")
    raw = f" (YAML: {text})"
    if "tab" in problem or "\t" in problem or ("cannot start any token" in problem and "\t" in line[: mark.column + 1]):
        return "a tab character: YAML indents with spaces only; replace the tab with spaces" + raw
    if "mapping values are not allowed" in problem:
        return (
            "a second ': ' on this line: the text after the first ': ' contains ': ', which YAML reads as "
            'another key; put the whole text in quotes ("...") or use a `>` block' + raw
        )
    indentation = (
        "did not find expected '-' indicator",
        "did not find expected key",
        "expected <block end>",
        "while parsing a block",
    )
    if any(word in text for word in indentation):
        return (
            "indentation: this line is not lined up with the lines above it; the items of one list or "
            "mapping must start at the same column (indent with spaces)" + raw
        )
    if "found unexpected end of stream" in problem or "found unexpected end" in problem:
        return "a quote is opened and never closed" + raw
    return f"YAML syntax error: {text}"


def _problem_from(exc: yaml.YAMLError) -> YamlProblem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if mark is not None:
        text = problem or str(exc)
        if context and problem:
            text = f"{problem} ({context}"
            if context_mark is not None and context_mark.line != mark.line:
                text += f" that starts at line {context_mark.line + 1}, column {context_mark.column + 1}"
            text += ")"
        return YamlProblem(Pos(mark.line + 1, mark.column + 1), _in_words(problem or "", text, mark, exc))
    position = getattr(exc, "position", None)
    if isinstance(exc, yaml.reader.ReaderError) and position is not None:
        return YamlProblem(Pos(1, 1), f"not readable as YAML text: {exc.reason} at character {position}")
    return YamlProblem(Pos(1, 1), f"YAML error: {exc}")


def load_located(text: str, *, max_values: int = MAX_VALUES) -> Located:
    """Parse one YAML document. Raises YamlProblem with a position for anything that is not clean YAML."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise _problem_from(exc) from None
    except RecursionError:
        raise YamlProblem(Pos(1, 1), "nested too deeply to read") from None
    walker = _Walker(max_values)
    if root is None:
        walker.out.data = None
        return walker.out
    try:
        walker.out.data = walker.walk(root, (), 0)
    except RecursionError:
        raise YamlProblem(_pos(root), "nested too deeply to read") from None
    return walker.out
