"""Turn pydantic's validation errors into messages at the exact place in the YAML file."""

from __future__ import annotations

import difflib
import re
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from tutor.pack.errors import PackProblem
from tutor.pack.yamlpos import Located, Path, Pos

_UNION_TYPES = (Union, types.UnionType)


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
            continue
        if origin in _UNION_TYPES:
            members = [m for m in get_args(tp) if m is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
        return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _field_type(model: type[BaseModel], name: Any) -> Any | None:
    for field_name, info in model.model_fields.items():
        if name in (field_name, info.alias):
            return info.annotation
    return None


def _tag_values(model: type[BaseModel], discriminator: str) -> list[str]:
    info = model.model_fields.get(discriminator)
    if info is None:
        return []
    annotation = _unwrap(info.annotation)
    return [str(v) for v in get_args(annotation)] if get_origin(annotation) is Literal else []


def union_members(tp: Any) -> list[Any]:
    tp = _unwrap(tp)
    if get_origin(tp) in _UNION_TYPES:
        members = [m for m in get_args(tp) if m is not type(None)]
        return [get_args(m)[0] if get_origin(m) is Annotated else m for m in members]
    return []


def _select_member(tp: Any, elem: Any) -> Any | None:
    """If `elem` is pydantic's label for one member of the union `tp`, that member."""
    for member in union_members(tp):
        if _is_model(member):
            for discriminator in ("kind", "gen"):
                if str(elem) in _tag_values(member, discriminator):
                    return member
            if elem == member.__name__ or (isinstance(elem, str) and member.__name__ in elem):
                return member
        else:
            name = getattr(member, "__name__", None)
            if elem == name or elem == str(member).replace("typing.", ""):
                return member
    return None


def _model_fields_for_union(tp: Any, elem: Any) -> Any | None:
    for member in union_members(tp):
        if _is_model(member):
            found = _field_type(member, elem)
            if found is not None:
                return found
    return None


def resolve(loc: tuple[Any, ...], data: Any, root_type: Any) -> tuple[Path, Any, Any]:
    """Follow pydantic's `loc` through the data. Returns (data path, type there, parent type of last elem)."""
    path: list[Any] = []
    current: Any = data
    tp: Any = root_type
    parent_tp: Any = root_type
    for elem in loc:
        unwrapped = _unwrap(tp)
        member = _select_member(unwrapped, elem) if union_members(unwrapped) else None
        in_data = (isinstance(current, dict) and elem in current) or (
            isinstance(current, list) and isinstance(elem, int) and 0 <= elem < len(current)
        )
        if member is not None and not (isinstance(current, dict) and elem in current):
            tp = member  # a union label: choose that member, stay on the same data
            continue
        parent_tp = tp
        if _is_model(unwrapped):
            tp = _field_type(unwrapped, elem) or unwrapped
        elif get_origin(unwrapped) is list and isinstance(elem, int):
            tp = get_args(unwrapped)[0]
        elif get_origin(unwrapped) is dict:
            tp = get_args(unwrapped)[1]
        elif union_members(unwrapped):
            tp = _model_fields_for_union(unwrapped, elem) or unwrapped
        if in_data:
            path.append(elem)
            current = current[elem]
        else:
            # a key that is missing from the data: the error belongs to the mapping holding it
            break
    return tuple(path), tp, parent_tp


def allowed_keys(tp: Any) -> list[str]:
    tp = _unwrap(tp)
    if _is_model(tp):
        return [info.alias or name for name, info in tp.model_fields.items()]
    keys: list[str] = []
    for member in union_members(tp):
        if _is_model(member):
            keys.extend(info.alias or name for name, info in member.model_fields.items())
    return sorted(set(keys))


def did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def describe(value: Any) -> str:
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"text ({shown!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _is_date(value: Any) -> bool:
    import datetime

    return isinstance(value, datetime.date)


def _value_at(data: Any, path: Path) -> Any:
    for elem in path:
        data = data[elem]
    return data


_STRIP = re.compile(r"^(Value error|Assertion failed), ")


def _message(err: dict[str, Any], value: Any, parent_tp: Any, tp: Any) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    loc = err["loc"]
    if kind == "missing":
        return f"missing required key '{loc[-1]}'"
    if kind == "extra_forbidden":
        key = str(loc[-1])
        options = allowed_keys(parent_tp)
        hint = did_you_mean(key, options)
        if not hint and options:
            hint = f" (allowed here: {', '.join(options)})"
        return f"unknown key '{key}'{hint}"
    if kind == "union_tag_invalid":
        tag = str(ctx.get("tag"))
        expected = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",") if t.strip()]
        return (
            f"unknown {ctx.get('discriminator', 'kind').strip(chr(39))} '{tag}'{did_you_mean(tag, expected)}; "
            f"one of: {', '.join(expected)}"
        )
    if kind == "union_tag_not_found":
        discriminator = str(ctx.get("discriminator", "kind")).strip("'")
        tags: list[str] = []
        for member in union_members(tp):
            if _is_model(member):
                tags.extend(_tag_values(member, discriminator))
        return f"missing required key '{discriminator}' (one of: {', '.join(tags)})"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping (key: value lines), got {describe(value)}"
    if kind == "list_type":
        return f"expected a list (lines starting with '- '), got {describe(value)}"
    if kind == "string_type":
        if isinstance(value, bool):
            return (
                f"expected text, got {describe(value)}: YAML reads unquoted yes/no, on/off and true/false as "
                "true/false; put the word in quotes"
            )
        if isinstance(value, int | float):
            return f'expected text, got {describe(value)}; put it in quotes: "{value}"'
        if isinstance(value, dict) and len(value) == 1:
            key, inner = next(iter(value.items()))
            shown = f"{key}: {inner}" if not isinstance(inner, dict | list) else f"{key}: ..."
            shown = shown if len(shown) <= 50 else shown[:47] + "..."
            return (
                "expected text, got a mapping: the text contains ': ', so YAML read it as `key: value`; "
                f'put the text in quotes: "{shown}"'
            )
        if _is_date(value):
            return (
                f'expected text, got a date: YAML reads an unquoted 2024-01-01 as a date; put it in quotes: "{value}"'
            )
        return f"expected text, got {describe(value)}"
    message = _STRIP.sub("", err["msg"])
    message = message[:1].lower() + message[1:]
    if kind in ("int_type", "int_parsing", "float_type", "float_parsing", "bool_type", "bool_parsing"):
        message += f", got {describe(value)}"
    return message


def problems_from_validation(
    exc: ValidationError, located: Located, model: type[BaseModel], file: str
) -> list[PackProblem]:
    grouped: dict[tuple[Path, str], list[tuple[Pos, str]]] = {}
    for err in exc.errors(include_url=False):
        path, tp, parent_tp = resolve(tuple(err["loc"]), located.data, model)
        try:
            value = _value_at(located.data, path)
        except (KeyError, IndexError, TypeError):
            value = None
        kind = err["type"]
        message = _message(dict(err), value, parent_tp, tp)
        if kind == "extra_forbidden":
            pos = located.key_pos(path)
        elif kind == "missing":
            pos = located.value_pos(path)
        else:
            pos = located.value_pos(path)
            field = re.match(r"^`([A-Za-z_]+)`", message)
            if field and isinstance(value, dict) and field.group(1) in value:
                pos = located.key_pos((*path, field.group(1)))
        group_key = (path, "missing" if kind == "missing" else ("extra" if kind == "extra_forbidden" else "value"))
        if kind in ("missing", "extra_forbidden"):
            group_key = (path, f"{kind}:{err['loc'][-1]}")
        grouped.setdefault(group_key, []).append((pos, message))
    problems: list[PackProblem] = []
    for entries in grouped.values():
        pos = min(p for p, _ in entries)
        messages: list[str] = []
        for _, message in entries:
            if message not in messages:
                messages.append(message)
        text = messages[0] if len(messages) == 1 else " or ".join(messages)
        problems.append(PackProblem(file, pos.line, pos.col, text))
    return problems
