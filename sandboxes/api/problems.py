"""Errors as `application/problem+json` (RFC 9457), or plain JSON when a lesson turns that off."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from starlette.responses import Response

VALIDATION_TYPE = "tag:backend-tutor,2026:validation-error"
"""The one problem type with its own members (`errors`: one entry per field). Every other problem is
`about:blank`: its `title` is the status phrase and the status says it all (RFC 9457 §4.2.1). A tag
URI (RFC 4151) names it without pretending to be a page one could fetch (RFC 9457 §3.1.1)."""


def problem_type(status: int, errors: object) -> str:
    return VALIDATION_TYPE if errors else "about:blank"


TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}  # RFC 9110 names
VALIDATION_TITLE = "The request content breaks the rules of the resource"


class ApiError(Exception):
    """Raised by handlers; turned into a problem response by the app."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, Any]] | None = None,
        title: str | None = None,
        members: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.errors = errors
        self.title = title
        self.members = members
        """Extension members of the problem (RFC 9457 §3.2): what the client needs to act on it."""


def problem_response(
    status: int,
    detail: str,
    *,
    instance: str | None = None,
    problem_json: bool = True,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
    title: str | None = None,
    members: dict[str, Any] | None = None,
) -> Response:
    try:
        phrase = TITLES.get(status) or HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    if problem_json:
        payload: dict[str, Any] = {
            "type": problem_type(status, errors),
            "title": (title or VALIDATION_TITLE) if errors else phrase,
            "status": status,
            "detail": detail,
        }
        if instance:
            payload["instance"] = instance
        media = "application/problem+json"
    else:
        payload = {"detail": detail}
        media = "application/json"
    if errors:
        payload["errors"] = errors
    for name, value in (members or {}).items():
        payload.setdefault(name, value)
    return Response(json.dumps(payload), status_code=status, media_type=media, headers=headers)
