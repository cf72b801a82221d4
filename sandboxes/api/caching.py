"""HTTP caching (RFC 9111 and the validators of RFC 9110 §8.8) and the application cache.

ETag, Last-Modified, Cache-Control and If-None-Match / If-Modified-Since on reads are done here: neither
Starlette nor FastAPI gives JSON routes any of them. The application cache is cache-aside, keyed by
URL, timed by the lesson clock, and emptied for a resource when the API writes to it."""

from __future__ import annotations

import hashlib
from email.utils import parsedate_to_datetime


# -- HTTP caching helpers ------------------------------------------------------------------------
def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def etag_matches(header: str, etag: str) -> bool:
    bare = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == bare:
            return True
    return False


def not_modified_since(header: str, last_modified: float) -> bool:
    try:
        since = parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return False  # an unreadable date is ignored, as RFC 9110 says
    return int(last_modified) <= since


def personal_cache_control(value: str) -> str:
    """A lesson's Cache-Control for an answer that depends on who asks: `private` added, so no shared
    cache keeps one user's answer for another (RFC 9111 §5.2.2.7)."""
    directives = [d.strip() for d in value.split(",") if d.strip()]
    lowered = [d.lower() for d in directives]
    if "private" in lowered or "no-store" in lowered:
        return value
    directives = [d for d in directives if d.lower() != "public"]
    return ", ".join(["private", *directives])
