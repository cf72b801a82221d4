"""Generate docs/pack-reference.md, the field-by-field reference, from the format's models.

    python -m tutor.pack.docgen > docs/pack-reference.md

Every model is found by walking the fields of the two roots the loader validates with (pack.yaml's
`PackManifest` and a lesson file's `Lesson`), the same walk that makes the JSON Schemas: a key or a model
added anywhere under them is in the reference without being listed here. Models are grouped by the
module that defines them, in the order the walk meets them. A test holds the committed file equal to
this output, and every key and `$defs` entry of the JSON Schemas to a row and a heading in it.
"""

from __future__ import annotations

import importlib
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from tutor.pack import models

ROOTS: list[tuple[str, type[BaseModel]]] = [("pack.yaml", models.PackManifest), ("Lesson files", models.Lesson)]
"""Section title for the models each root reaches first, and the root."""

MODULE_SECTIONS: dict[str, str] = {
    "tutor.pack.actions": "Solutions and wrong answers",
    "tutor.pack.specs_concept": "Check kinds: concept",
    "tutor.pack.checks": "Check kinds: concept",
    "tutor.pack.specs_sql": "Check kinds: SQL",
    "tutor.pack.specs_http": "Check kinds: HTTP",
    "tutor.pack.specs_code": "Build-it lessons (`build:`) and their check kinds",
    "tutor.pack.specs_shutdown": "Build-it lessons (`build:`) and their check kinds",
    "tutor.pack.specs_own_tests": "Build-it lessons (`build:`) and their check kinds",
    "tutor.pack.sandbox_sql": "The SQL sandbox (`sandboxes.sql`)",
    "tutor.pack.sandbox_api": "The API sandbox (`sandboxes.api`)",
}
"""Where the models of each module are shown; a module not named here gets a section of its own, titled
by the first line of its docstring."""


def _models_in(tp: Any) -> list[type[BaseModel]]:
    """The models an annotation refers to, in the order they appear (unions, lists, mappings, Annotated)."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    found: list[type[BaseModel]] = []
    for arg in get_args(tp):
        for model in _models_in(arg):
            if model not in found:
                found.append(model)
    return found


def reachable(root: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> list[type[BaseModel]]:
    """`root` and every model under its fields, depth first in field order (each once)."""
    seen = set() if seen is None else seen
    if root in seen:
        return []
    seen.add(root)
    out = [root]
    for info in root.model_fields.values():
        for model in _models_in(info.annotation):
            out += reachable(model, seen)
    return out


def _module_title(module: str) -> str:
    doc = (importlib.import_module(module).__doc__ or module).strip().splitlines()[0]
    return doc.rstrip(".:")


def sections() -> list[tuple[str, list[type[BaseModel]]]]:
    """(title, models) in the order the reference shows them."""
    grouped: dict[str, list[type[BaseModel]]] = {}
    seen: set[type[BaseModel]] = set()
    for title, root in ROOTS:
        grouped.setdefault(title, [])
        for model in reachable(root, seen):
            if model.__module__ == models.__name__:
                grouped[title].append(model)
            else:
                section = MODULE_SECTIONS.get(model.__module__) or _module_title(model.__module__)
                grouped.setdefault(section, []).append(model)
    order = [title for title, _ in ROOTS] + list(dict.fromkeys(MODULE_SECTIONS.values()))
    titles = sorted(grouped, key=lambda t: order.index(t) if t in order else len(order))
    return [(title, grouped[title]) for title in titles if grouped[title]]


def type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Annotated:
        return type_name(get_args(tp)[0])
    if origin in (Union, types.UnionType):
        members = [m for m in get_args(tp) if m is not type(None)]
        if len(members) > 3 and all(isinstance(m, type) and issubclass(m, BaseModel) for m in members):
            return "one of " + ", ".join(type_name(m) for m in members)
        return " or ".join(type_name(m) for m in members)
    if origin is Literal:
        return " \\| ".join(f"`{v}`" for v in get_args(tp))
    if origin is list:
        return f"list of {type_name(get_args(tp)[0])}"
    if origin is dict:
        key, value = get_args(tp)
        return f"mapping {type_name(key)} -> {type_name(value)}"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return f"[{tp.__name__}](#{tp.__name__.lower()})"
    names = {str: "text", int: "integer", float: "number", bool: "true/false", type(None): "null"}
    if tp in names:
        return names[tp]
    if tp is Any:
        return "any JSON value"
    name = getattr(tp, "__name__", str(tp))
    return {"PackPath": "path in the pack", "date": "date (YYYY-MM-DD)"}.get(name, name)


def _default(info: Any) -> str:
    if info.is_required():
        return "**required**"
    value = info.default_factory() if info.default_factory is not None else info.default
    if value is PydanticUndefined or value is None:
        return ""
    if value in ([], {}, ""):
        return "empty"
    if isinstance(value, BaseModel):
        return ""
    return f"`{value}`"


def _limits(info: Any) -> str:
    """The numeric and length limits the schema carries, in words (a value outside them is an error)."""
    words: list[str] = []
    for item in info.metadata:
        for attr, text in (
            ("ge", "at least {}"),
            ("gt", "more than {}"),
            ("le", "at most {}"),
            ("lt", "less than {}"),
            ("min_length", "at least {} long"),
            ("max_length", "at most {} long"),
        ):
            value = getattr(item, attr, None)
            if value is not None:
                words.append(text.format(value))
        pattern = getattr(item, "pattern", None)
        if isinstance(pattern, str) and pattern:
            words.append(f"matches `{pattern}`".replace("|", "\\|"))
    return ("Limits: " + ", ".join(words) + ".") if words else ""


def _paragraphs(doc: str) -> list[str]:
    """A module's docstring as Markdown paragraphs (each followed by a blank line)."""
    out: list[str] = []
    for paragraph in doc.strip().split("\n\n"):
        if paragraph.strip():
            out += [" ".join(paragraph.split()), ""]
    return out


def render() -> str:
    out = [
        "# Pack format reference",
        "",
        "Generated from the models that validate packs (`python -m tutor.pack.docgen`); the guide is",
        "[pack-format.md](pack-format.md). Every mapping refuses keys it does not list.",
        "",
    ]
    for title, section in sections():
        out += [f"## {title}", ""]
        for module in dict.fromkeys(m.__module__ for m in section if m.__module__ != models.__name__):
            out += _paragraphs(importlib.import_module(module).__doc__ or "")
        for model in section:
            out += [f"### {model.__name__}", ""]
            doc = (model.__doc__ or "").strip()
            if doc and not doc.startswith(("A base", "Every model")):
                out += [" ".join(doc.split()), ""]
            out += ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
            for name, info in model.model_fields.items():
                key = info.alias or name
                description = (info.description or "").replace("|", "\\|")
                limits = _limits(info)
                if limits:
                    description = f"{description} {limits}".strip()
                out.append(f"| `{key}` | {type_name(info.annotation)} | {_default(info)} | {description} |")
            out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    import sys

    sys.stdout.write(render())
