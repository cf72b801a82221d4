"""Generate docs/pack-reference.md, the field-by-field reference, from the format's models.

    python -m tutor.pack.docgen > docs/pack-reference.md

A test keeps the committed file equal to this output, so the reference cannot drift from the loader.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from tutor.pack import actions, checks, models, sandbox_api, sandbox_sql, specs_concept, specs_http, specs_sql

SECTIONS: list[tuple[str, list[type[BaseModel]]]] = [
    ("pack.yaml", [models.PackManifest, models.Track, models.Author]),
    ("Lesson files", [models.Lesson, models.Step, models.Sandboxes]),
    ("Solutions and wrong answers", [actions.Action, actions.WrongAnswer, actions.HttpRequest]),
    (
        "Check kinds: concept",
        [
            specs_concept.ChoiceCheck,
            specs_concept.ChoiceOption,
            specs_concept.TextCheck,
            specs_concept.NumberCheck,
            checks.AllCheck,
        ],
    ),
    (
        "Check kinds: SQL",
        [
            specs_sql.SqlResultCheck,
            specs_sql.SqlPlanCheck,
            specs_sql.IndexUse,
            specs_sql.SqlSchemaCheck,
            specs_sql.IndexExpect,
            specs_sql.ColumnExpect,
            specs_sql.ForeignKeyExpect,
            specs_sql.SqlStateCheck,
            specs_sql.SqlCostCheck,
            specs_sql.SqlRanCheck,
            specs_sql.StatementExpect,
        ],
    ),
    (
        "Check kinds: HTTP",
        [
            specs_http.HttpTrafficCheck,
            specs_http.TrafficExpectation,
            specs_http.RequestMatch,
            specs_http.ResponseExpect,
            specs_http.HttpProbeCheck,
            specs_http.ProbeStep,
            specs_http.HttpValueCheck,
            specs_http.HttpFlowCheck,
        ],
    ),
    (
        "The SQL sandbox (`sandboxes.sql`)",
        [
            sandbox_sql.SqlSettings,
            sandbox_sql.GeneratedTable,
            sandbox_sql.SequenceColumn,
            sandbox_sql.IntColumn,
            sandbox_sql.FloatColumn,
            sandbox_sql.DateColumn,
            sandbox_sql.ChoiceColumn,
            sandbox_sql.WordsColumn,
            sandbox_sql.TemplateColumn,
            sandbox_sql.ForeignKeyColumn,
            sandbox_sql.DataTable,
            sandbox_sql.DataColumn,
        ],
    ),
    (
        "The API sandbox (`sandboxes.api`)",
        [
            sandbox_api.ApiSettings,
            sandbox_api.Resource,
            sandbox_api.Relation,
            sandbox_api.HttpCaching,
            sandbox_api.RateLimit,
            sandbox_api.Auth,
            sandbox_api.ApiUser,
            sandbox_api.WeakAuth,
        ],
    ),
]


def type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Annotated:
        return type_name(get_args(tp)[0])
    if origin in (Union, types.UnionType):
        members = [m for m in get_args(tp) if m is not type(None)]
        if len(members) > 3 and all(isinstance(m, type) and issubclass(m, BaseModel) for m in members):
            return "one of the kinds below"
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


def render() -> str:
    out = [
        "# Pack format reference",
        "",
        "Generated from the models that validate packs (`python -m tutor.pack.docgen`); the guide is",
        "[pack-format.md](pack-format.md). Every mapping refuses keys it does not list.",
        "",
    ]
    for title, section in SECTIONS:
        out += [f"## {title}", ""]
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
