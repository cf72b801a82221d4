"""YAML to plain Python values, remembering where every key and value stands in the file.

PyYAML's safe composer builds a node graph that carries positions; we turn it into dicts, lists and
scalars ourselves, so that a validation error can point at `FILE:LINE:COL` of the offending key or
value. The walk has a budget: an alias bomb ("billion laughs") expands the same nodes again and again,
and is stopped after `max_values` values instead of eating memory. Deep nesting is stopped too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - libyaml is part of every PyYAML wheel we install
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _Loader(_SafeLoader):
    """The safe loader with a quicker tag resolver.

    libyaml parses in C but asks the Python resolver for every node's tag, and the generic
    resolver (built for path resolvers we never use) was the largest cost of loading a pack.
    This one gives the same answers as PyYAML's `Resolver`, from the same table of implicit
    resolvers; `tests/pack/test_yamlpos_resolver.py` holds it to that.
    """

    _implicit = _SafeLoader.yaml_implicit_resolvers
    _wildcard = tuple(_implicit.get(None, ()))

    def descend_resolver(self, current_node: object, current_index: object) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if implicit[0]:
                for tag, regexp in self._implicit.get(value[:1], ()):
                    if regexp.match(value):
                        return tag
                for tag, regexp in self._wildcard:
                    if regexp.match(value):
                        return tag
            return self.DEFAULT_SCALAR_TAG
        if kind is SequenceNode:
            return self.DEFAULT_SEQUENCE_TAG
        return self.DEFAULT_MAPPING_TAG


QuickSafeLoader = _Loader  # for other readers of pack YAML (tutor.pack.index): the same answers, sooner

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


class Located:
    """Plain data plus where each part of it was written.

    Positions are kept as the parser's own marks and turned into `Pos` only when asked for: a clean
    file never needs most of them, and building hundreds of thousands of small objects up front
    was most of the cost of loading a big pack.
    """

    __slots__ = ("_ends", "_keys", "_text", "_values", "data", "duplicate_keys", "plain")

    def __init__(self, data: Any = None) -> None:
        self.data = data
        self._values: dict[Path, Any] = {}  # path -> start mark of the value
        self._ends: dict[Path, Any] = {}  # path -> end mark of the value
        self._keys: dict[Path, Any] = {}  # path -> start mark of the key
        self.duplicate_keys: list[tuple[Path, Pos, Pos]] = []
        self._text: str | None = None
        # True while the data holds only what JSON gives back as it was: text keys, and no value
        # other than str, int, float, bool or None (a YAML timestamp is not). See parse_cache.
        self.plain = True

    @classmethod
    def unplaced(cls, data: Any, text: str) -> Located:
        """Data known to come cleanly from `text` (tutor.pack.parse_cache); positions are read from the text
        the first time one is asked for."""
        located = cls(data)
        located._text = text
        return located

    def _place(self) -> None:
        text, self._text = self._text, None
        if text is not None:
            full = load_located(text)
            self._values, self._ends, self._keys = full._values, full._ends, full._keys

    def value_pos(self, path: Path) -> Pos:
        """Where the value at `path` starts; falls back to the nearest enclosing value."""
        if self._text is not None:
            self._place()
        for cut in range(len(path), -1, -1):
            found = self._values.get(path[:cut])
            if found is not None:
                return _mark_pos(found)
        return Pos(1, 1)

    def key_pos(self, path: Path) -> Pos:
        """Where the key naming `path` stands (the value's position for list items and the root)."""
        if self._text is not None:
            self._place()
        found = self._keys.get(path)
        return _mark_pos(found) if found is not None else self.value_pos(path)

    def end_pos(self, path: Path) -> Pos | None:
        """Where the value at `path` ends, if it was read."""
        if self._text is not None:
            self._place()
        found = self._ends.get(path)
        return _mark_pos(found) if found is not None else None


def _mark_pos(mark: Any) -> Pos:
    return Pos(mark.line + 1, mark.column + 1)


def _pos(node: Node) -> Pos:
    return _mark_pos(node.start_mark)


_STR = _Y + "str"
_SEQ = _Y + "seq"
_MAP = _Y + "map"
_ALLOWED_TAGS = SCALAR_TAGS | {_SEQ, _MAP}


class _Walker:
    def __init__(self, max_values: int) -> None:
        self.budget = max_values
        self.max_values = max_values
        self.constructor = SafeConstructor()
        self.out = Located()

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
        self.out._values[path] = node.start_mark
        self.out._ends[path] = node.end_mark
        tag = node.tag
        if tag == _STR:  # most values: plain text needs no constructor
            return node.value
        if tag not in _ALLOWED_TAGS:
            shown = tag.replace(_Y, "!!")
            raise YamlProblem(_pos(node), f"the YAML tag '{shown}' is not allowed: pack files hold plain data")
        if isinstance(node, ScalarNode):
            try:
                value = self.constructor.construct_object(node, deep=True)
            except yaml.YAMLError as exc:
                raise YamlProblem(_pos(node), f"bad value: {getattr(exc, 'problem', None) or exc}") from None
            if value is not None and type(value) not in (int, float, bool, str):
                self.out.plain = False
            return value
        if isinstance(node, SequenceNode):
            return [self.walk(item, (*path, index), depth + 1) for index, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            return self._mapping(node, path, depth)
        raise YamlProblem(_pos(node), "unsupported YAML node")  # pragma: no cover

    def _mapping(self, node: MappingNode, path: Path, depth: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first_seen: dict[Any, Any] = {}
        keys = self.out._keys
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                self._merge(result, value_node, path, depth)
                continue
            if not isinstance(key_node, ScalarNode):
                raise YamlProblem(_pos(key_node), "a key must be a plain value, not a list or a mapping")
            if key_node.tag == _STR:
                key: Any = key_node.value
            elif key_node.tag not in SCALAR_TAGS:
                shown = key_node.tag.replace(_Y, "!!")
                raise YamlProblem(_pos(key_node), f"the YAML tag '{shown}' is not allowed: pack files hold plain data")
            else:
                key = self.constructor.construct_object(key_node, deep=True)
                if not isinstance(key, str | int | float | bool) and key is not None:
                    key = str(key)
                if type(key) is not str:
                    self.out.plain = False
            child: Path = (*path, key)
            if key in first_seen:
                self.out.duplicate_keys.append((child, _pos(key_node), _mark_pos(first_seen[key])))
            first_seen[key] = key_node.start_mark
            keys[child] = key_node.start_mark
            result[key] = self.walk(value_node, child, depth + 1)
        return result

    def _merge(self, result: dict[Any, Any], value_node: Node, path: Path, depth: int) -> None:
        sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        for source in sources:
            if not isinstance(source, MappingNode):
                raise YamlProblem(_pos(source), "'<<' merges mappings only")
            for key, value in self._mapping(source, path, depth).items():
                result.setdefault(key, value)


class _Refer(Exception):
    """The data-only walk met something the full reader reports with a position."""


class _DataWalker:
    """The values `_Walker` builds, without noting where each stands (a third of the reading time of a
    big pack). Whatever `_Walker` would refuse or report (a tag, a key that is not plain, a duplicate
    key, the value budget, the depth) stops it: `load_unplaced` then reads the file with `_Walker`."""

    def __init__(self, max_values: int) -> None:
        self.budget = max_values
        self.constructor = SafeConstructor()
        self.plain = True

    def walk(self, node: Node, depth: int) -> Any:
        self.budget -= 1
        if self.budget < 0 or depth > MAX_DEPTH:
            raise _Refer
        tag = node.tag
        if tag == _STR:
            return node.value
        if tag not in _ALLOWED_TAGS:
            raise _Refer
        if isinstance(node, ScalarNode):
            try:
                value = self.constructor.construct_object(node, deep=True)
            except yaml.YAMLError:
                raise _Refer from None
            if value is not None and type(value) not in (int, float, bool, str):
                self.plain = False
            return value
        if isinstance(node, SequenceNode):
            return [self.walk(item, depth + 1) for item in node.value]
        if isinstance(node, MappingNode):
            return self._mapping(node, depth)
        raise _Refer  # pragma: no cover

    def _mapping(self, node: MappingNode, depth: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for source in sources:
                    if not isinstance(source, MappingNode):
                        raise _Refer
                    for merged, value in self._mapping(source, depth).items():
                        result.setdefault(merged, value)
                continue
            if not isinstance(key_node, ScalarNode):
                raise _Refer
            if key_node.tag == _STR:
                key: Any = key_node.value
            elif key_node.tag not in SCALAR_TAGS:
                raise _Refer
            else:
                key = self.constructor.construct_object(key_node, deep=True)
                if not isinstance(key, str | int | float | bool) and key is not None:
                    key = str(key)
                if type(key) is not str:
                    self.plain = False
            if key in seen:
                raise _Refer  # a duplicate key: reported with both positions
            seen.add(key)
            result[key] = self.walk(value_node, depth + 1)
        return result


def _line(exc: yaml.YAMLError, mark: Any, source: str | None = None) -> str:
    buffer = source if source is not None else getattr(mark, "buffer", None)
    if not isinstance(buffer, str):
        return ""
    lines = buffer.split("\n")
    return lines[mark.line] if 0 <= mark.line < len(lines) else ""


def _in_words(problem: str, text: str, mark: Any, exc: yaml.YAMLError, source: str | None = None) -> str:
    """PyYAML's message, led by what an author should do about it."""
    line = _line(exc, mark, source).rstrip("\0")
    raw = f" (YAML: {text})"
    if "tab" in problem or "\t" in problem or ("cannot start any token" in problem and "\t" in line[: mark.column + 1]):
        return "a tab character: YAML indents with spaces only; replace the tab with spaces" + raw
    if "mapping values are not allowed" in problem and ": " in line[: mark.column]:
        return (
            "a second ': ' on this line: the text after the first ': ' contains ': ', which YAML reads as "
            'another key; put the whole text in quotes ("...") or use a `>` block' + raw
        )
    indentation = (
        "mapping values are not allowed",
        "did not find expected '-' indicator",
        "did not find expected key",
        "expected <block end>",
        "while parsing a block",
    )
    before = line[: mark.column]
    if any(word in text for word in indentation) and before.count('"') >= 2:
        return (
            'a quoted text ends early on this line: a " inside "..." closes it; write \\" for a quote inside, '
            "or put the text in single quotes '...'" + raw
        )
    if any(word in text for word in indentation):
        return (
            "indentation: this line is not lined up with the lines above it; the items of one list or "
            "mapping must start at the same column (indent with spaces)" + raw
        )
    if "found unexpected end of stream" in problem or "found unexpected end" in problem:
        return "a quote is opened and never closed" + raw
    return f"YAML syntax error: {text}"


def _problem_from(exc: yaml.YAMLError, source: str | None = None) -> YamlProblem:
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
        return YamlProblem(Pos(mark.line + 1, mark.column + 1), _in_words(problem or "", text, mark, exc, source))
    position = getattr(exc, "position", None)
    if isinstance(exc, yaml.reader.ReaderError) and position is not None:
        return YamlProblem(Pos(1, 1), f"not readable as YAML text: {exc.reason} at character {position}")
    return YamlProblem(Pos(1, 1), f"YAML error: {exc}")


def load_located(text: str, *, max_values: int = MAX_VALUES) -> Located:
    """Parse one YAML document. Raises YamlProblem with a position for anything that is not clean YAML."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise _problem_from(exc, text) from None
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


def load_unplaced(text: str, *, max_values: int = MAX_VALUES) -> Located:
    """The same data as `load_located`, with positions read from `text` only when one is asked for.
    Raises exactly what `load_located` raises: anything it would refuse or report is read by it."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except (yaml.YAMLError, RecursionError):
        return load_located(text, max_values=max_values)
    walker = _DataWalker(max_values)
    try:
        data = None if root is None else walker.walk(root, 0)
    except (_Refer, RecursionError):
        return load_located(text, max_values=max_values)
    located = Located.unplaced(data, text)
    located.plain = walker.plain
    return located
