"""`code_http`'s `logs_request_id`: the learner's app logs the request id the checker sent.

Every request the checker sends a build-it app carries a fresh `X-Request-Id` (`tutor.code.runner`), as
a gateway in front of a service would. A step with `logs_request_id` then reads the app's own log, what
it printed (stdout and stderr) or a file it writes in its workspace, and passes when a line there
carries that id: one `grep ID` then finds every line about the request.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tutor.checks.base import CheckResult, shorten

WAIT_SECONDS = 1.0
"""How long the line may take to appear after the answer (a log handler may write from another thread)."""
READ_LIMIT = 4 * 1024 * 1024


def _log_text(app: Any, workspace: Path, where: bool | str) -> str:
    if where is True:
        start = max(0, app.child.output_size() - READ_LIMIT)
        return app.child.output_from(start, READ_LIMIT).decode("utf-8", "replace")
    path = workspace / str(where)
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - READ_LIMIT))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def request_id_missing(
    label: str, method: str, target: str, response: Any, app: Any, workspace: Path, where: bool | str
) -> CheckResult | None:
    """None when the app's log carries the request id sent with `response`'s request; else the failure."""
    request_id = response.request.headers.get("x-request-id", "")
    deadline = time.monotonic() + WAIT_SECONDS
    text = _log_text(app, workspace, where)
    while request_id not in text and time.monotonic() < deadline:
        time.sleep(0.02)
        text = _log_text(app, workspace, where)
    if request_id and request_id in text:
        return None
    place = "what your app printed" if where is True else f"{where} in your workspace"
    last = [line for line in text.splitlines() if line.strip()][-3:]
    details = [
        "Read the id from each request (request.headers['x-request-id']) and put it in every log line about "
        "that request: one grep then finds all of them, across services.",
    ]
    if where is not True and not (workspace / str(where)).exists():
        details.append(f"There is no {where} in your workspace yet.")
    elif last:
        details.append("The last lines there:")
        details.extend(f"  {shorten(line, 110)}" for line in last)
    else:
        details.append("Nothing was there.")
    return CheckResult(
        False,
        f"{label}: {method} {target} was answered, but {place} has no line with the request id the checker "
        f"sent (X-Request-Id: {request_id}).",
        expected=f"a log line carrying {request_id}",
        got="no line carries it",
        details=tuple(details),
    )
