"""Errors as `application/problem+json` (RFC 9457), or plain JSON when a lesson turns that off."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from starlette.responses import Response

PROBLEM_TYPES = {
    400: "/problems/bad-request",
    401: "/problems/unauthenticated",
    403: "/problems/forbidden",
    404: "/problems/not-found",
    405: "/problems/method-not-allowed",
    409: "/problems/conflict",
    413: "/problems/content-too-large",
    415: "/problems/unsupported-media-type",
    422: "/problems/validation",
    429: "/problems/rate-limited",
    500: "/problems/server-error",
}


TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}  # RFC 9110 names


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
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.errors = errors
        self.title = title


def problem_response(
    status: int,
    detail: str,
    *,
    instance: str | None = None,
    problem_json: bool = True,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
    title: str | None = None,
) -> Response:
    try:
        phrase = TITLES.get(status) or HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    if problem_json:
        payload: dict[str, Any] = {
            "type": PROBLEM_TYPES.get(status, "about:blank"),
            "title": title or phrase,
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
    return Response(json.dumps(payload), status_code=status, media_type=media, headers=headers)
