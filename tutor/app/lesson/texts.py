"""The lesson's texts as the learner reads them: placeholders filled with the running sandboxes' values,
and the reference solution as plain text. No Textual."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from tutor.pack.actions import SqlStep, Wait

if TYPE_CHECKING:
    from tutor.pack.models import Step

API_STAND_IN = "http://127.0.0.1:(port shown once the API runs)"
DB_STAND_IN = "(the lesson database's path, shown once it is ready)"


def fill_placeholders(text: str, api_url: str | None, db_path: str | None, more: dict[str, str] | None = None) -> str:
    """`{{api_url}}` and `{{db_path}}` in lesson text, with the running sandboxes' real values (a readable
    stand-in while they start); `more`: the API's other values (`{{log_path}}`, `{{upstream_url_NAME}}`).
    Spaces inside the braces are allowed: `{{ api_url }}`."""
    values = {"api_url": api_url or API_STAND_IN, "db_path": db_path or DB_STAND_IN, **(more or {})}
    text = re.sub(r"\{\{\s*(api_url|db_path)\s*\}\}", lambda m: values[m.group(1)], text)
    return re.sub(
        r"\{\{\s*(log_path|webhook_secret|upstream_url_[a-z0-9_]+)\s*\}\}",
        lambda m: values.get(m.group(1), "(shown once the API runs)"),
        text,
    )


def solution_text(step: Step, pack_root: Any = None) -> str:
    """The reference solution as plain text: the answer (with the option's words), SQL, requests, and a
    build-it step's reference files (their full text)."""
    parts: list[str] = []
    action = step.solution
    if action.files is not None and pack_root is not None:
        from tutor.code.workspace import list_files

        for name, path in list_files(pack_root / action.files).items():
            parts.append(f"{name}:\n" + path.read_text(encoding="utf-8", errors="replace"))
    if action.answer is not None:
        options = {o.id: o.text.strip() for o in getattr(step.check, "options", [])}
        picked = action.answer if isinstance(action.answer, list) else [action.answer]
        if options:
            parts.append("Answer:\n" + "\n".join(f"  - {options.get(str(p), p)}" for p in picked))
        else:
            parts.append(f"Answer: {action.answer}")
    if action.sql:
        parts.append("SQL:\n" + "\n".join(f"  {line}" for line in action.sql.strip().splitlines()))
    if action.wait is not None:
        parts.append(f"Wait: move the lesson clock {action.wait:g} s forward (POST /_sandbox/clock)")
    for request in action.requests:
        if isinstance(request, Wait):
            parts.append(f"Wait: move the lesson clock {request.wait:g} s forward (POST /_sandbox/clock)")
            continue
        if isinstance(request, SqlStep):
            parts.append("SQL:\n" + "\n".join(f"  {line}" for line in request.sql.strip().splitlines()))
            continue
        line = f"{request.method} {request.path}"
        if request.query:
            line += ("&" if "?" in request.path else "?") + "&".join(
                f"{k}={json.dumps(v) if isinstance(v, bool) else v}" for k, v in request.query.items()
            )
        if request.repeat > 1:
            # a burst: the load tool sends it N times, C at a time (F9 in the request workbench)
            at_once = f", {request.concurrency} at a time" if request.concurrency > 1 else ""
            line += f"  ({request.repeat} times{at_once}: the Load tab, F9)"
        headers = "".join(f"\n    {k}: {v}" for k, v in request.headers.items())
        body = ""
        if request.json_body is not None:
            body = f"\n    {json.dumps(request.json_body, ensure_ascii=False)}"
        elif request.body:
            body = f"\n    {request.body}"
        parts.append(f"Request: {line}{headers}{body}")
    return "\n".join(parts)
