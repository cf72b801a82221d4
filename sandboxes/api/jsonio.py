"""JSON in and out: the body parser every handler uses, and compact JSON responses."""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandboxes.api.problems import ApiError

JSON = "application/json"
ACCEPT_PATCH = "application/json, application/merge-patch+json"
"""The patch formats a PATCH may send: a JSON object of the fields to change (RFC 7396 merge patch)."""
MAX_INT = 2**63 - 1
MAX_TEXT = 10_000
"""The longest text a field may hold, in characters."""


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(value), status_code=status, media_type=JSON, headers=headers)


def accepts_json(accept: str) -> bool:
    """Whether an `Accept` header (RFC 9110 §12.5.1) lets the server answer `application/json`.

    The most specific media range that covers JSON decides (`application/json`, then `application/*`,
    then `*/*`), and it must have a weight above 0. A header that cannot be read is ignored, as if absent.
    """
    weights: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        if not media:
            continue
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    return True
        weights[media.lower()] = weight
    if not weights:
        return True
    for media in (JSON, "application/*", "*/*"):
        if media in weights:
            return weights[media] > 0
    return False


def require_json_acceptable(request: Request) -> None:
    """406 Not Acceptable (RFC 9110 §15.5.7) when the client's `Accept` rules out the only format this
    API can send. No `Accept` header means anything is fine."""
    accept = request.headers.get("accept")
    if accept is not None and not accepts_json(accept):
        raise ApiError(
            406,
            f"this API answers only in application/json, and 'Accept: {accept[:80]}' rules that out",
        )


async def read_json(request: Request) -> Any:
    """The request body as JSON: 415 for another content type, 400 when it does not parse."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if not body:
        raise ApiError(400, "this request needs a JSON body")
    if content_type and not (content_type == JSON or content_type.endswith("+json")):
        # Say what would be read: Accept in a response names the media types preferred in a request's
        # content (RFC 9110 §12.5.1); for PATCH, Accept-Patch names the patch formats (RFC 5789 §2.2, §3.1).
        accepted = {"Accept-Patch": ACCEPT_PATCH} if request.method == "PATCH" else {"Accept": JSON}
        raise ApiError(415, f"send JSON with 'Content-Type: application/json' (got '{content_type}')", headers=accepted)

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    def finite(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"the number {text[:30]} is too big for a 64-bit float")
        return value

    try:
        return json.loads(body, parse_constant=no_constants, parse_float=finite)
    except UnicodeDecodeError as exc:
        raise ApiError(400, "the body is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}"[:200]) from exc
