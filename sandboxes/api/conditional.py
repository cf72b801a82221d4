"""Conditional writes (RFC 9110 §13): `If-Match`, `If-Unmodified-Since` and `If-None-Match` on PUT,
PATCH and DELETE of an item, and `428 Precondition Required` (RFC 6585 §3) for a resource that
requires them (`require_preconditions`), so that two clients cannot overwrite each other's change
without knowing ("lost update").

Evaluated in the order of RFC 9110 §13.2.2, after the item is known to exist (a missing item is 404:
preconditions are ignored when the answer without them would not be 2xx), inside the write's
transaction, against the item's current representation: the body a GET of it would answer, whose
ETag a client got from that GET or from the previous write.
"""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime

from starlette.datastructures import Headers

from sandboxes.api.caching import etag_matches
from sandboxes.api.problems import ApiError


def _strong_match(header: str, etag: str) -> bool:
    """If-Match uses the strong comparison (RFC 9110 §8.8.3.2): a weak tag never matches."""
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or (not candidate.startswith("W/") and candidate == etag):
            return True
    return False


_ENTITY_TAG = re.compile(r'\s*(?:W/)?"[^"]*"\s*')


def _is_tag_list(value: str) -> bool:
    """`*`, or a comma-separated list of entity tags with their double quotes (RFC 9110 §8.8.3)."""
    return value.strip() == "*" or all(_ENTITY_TAG.fullmatch(part) for part in value.split(","))


def _date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None  # an unreadable date is ignored (RFC 9110 §13.1.4)


def check_write(headers: Headers, *, etag: str, last_modified: float, required: bool, what: str) -> None:
    """Raise 428 or 412 when the request's preconditions do not allow this write to `what`."""
    if_match = headers.get("if-match")
    if_unmodified = headers.get("if-unmodified-since")
    if_none_match = headers.get("if-none-match")
    if required and if_match is None and if_unmodified is None:
        raise ApiError(
            428,
            f"changing {what} needs a precondition: send If-Match with the ETag you last saw "
            "(or If-Unmodified-Since), so a change made since is not overwritten",
        )
    if if_match is not None:
        if not _is_tag_list(if_match):
            # Not an entity tag at all (its quotes left out, say): it can name no version, so the
            # condition is false, but nothing says the item changed.
            raise ApiError(
                412,
                f"If-Match does not hold: '{if_match[:60]}' is not an entity tag. An ETag is sent back "
                f"exactly as the API gave it, double quotes included (the current one of {what} is {etag})",
                headers={"ETag": etag},
            )
        if not _strong_match(if_match, etag):
            raise ApiError(
                412,
                f"If-Match does not hold: the current ETag of {what} is {etag}, not the one you sent, so it "
                "has changed since you read it (or that tag was never its own); GET it again, re-apply your "
                "change, and send the new ETag",
                headers={"ETag": etag},
            )
    elif if_unmodified is not None:
        since = _date(if_unmodified)
        if since is not None and int(last_modified) > since:
            raise ApiError(
                412,
                f"If-Unmodified-Since does not hold: {what} has changed since {if_unmodified}",
                headers={"ETag": etag},
            )
    if if_none_match is not None and etag_matches(if_none_match, etag):
        # On a write, If-None-Match: * (or the current tag) means "only if it does not exist yet".
        raise ApiError(412, f"If-None-Match does not hold: {what} exists with that ETag", headers={"ETag": etag})


def check_read(headers: Headers, *, etag: str | None, last_modified: float | None, what: str) -> None:
    """Raise 412 when a GET's or HEAD's If-Match or If-Unmodified-Since does not hold: RFC 9110 §13.2.2
    evaluates them before If-None-Match and If-Modified-Since, for reads as for writes."""
    if_match = headers.get("if-match")
    if_unmodified = headers.get("if-unmodified-since")
    if if_match is not None and etag is not None:
        if not _is_tag_list(if_match) or not _strong_match(if_match, etag):
            raise ApiError(
                412,
                f"If-Match does not hold: the current ETag of {what} is {etag}, not the one you sent",
                headers={"ETag": etag},
            )
    elif if_match is None and if_unmodified is not None and last_modified is not None:
        since = _date(if_unmodified)
        if since is not None and int(last_modified) > since:
            raise ApiError(412, f"If-Unmodified-Since does not hold: {what} has changed since {if_unmodified}")
