"""What the sandbox API used to send and no longer does, so `pack test` can name the likely cause when a
pack written for an earlier release checks for it. No Textual. CHANGELOG.md lists the same changes.

    likely_cause("response header RateLimit-Remaining: missing")   # "the sandbox no longer sends ..."
"""

from __future__ import annotations

import re

RATE_LIMIT = (
    "likely cause: the sandbox no longer sends RateLimit-Limit, RateLimit-Remaining or RateLimit-Reset (an "
    'earlier draft of the RateLimit header fields). It sends RateLimit-Policy: "bucket";q=QUOTA;w=SECONDS and '
    'RateLimit: "bucket";r=REMAINING;t=SECONDS: check those (CHANGELOG.md, 0.1.0).'
)
CHALLENGE = (
    "likely cause: the sandbox's WWW-Authenticate wording changed: every challenge now starts with "
    'Bearer realm="sandbox", and error_description says what happened in words ("the access token expired", '
    '"bad signature", "algorithm not accepted", ...). Match error="invalid_token" with a pattern instead of '
    "the whole header (CHANGELOG.md, 0.1.0)."
)

READ_PRECONDITION = (
    "likely cause: a GET or HEAD whose If-Match or If-Unmodified-Since does not hold is now answered 412, "
    "judged before If-None-Match and If-Modified-Since (RFC 9110 §13.2.2); reads ignored both before. Leave "
    "If-Match out of the read, or expect 412 (CHANGELOG.md, Unreleased)."
)

_READ_412 = re.compile(r"status: expected (?:200|304)\b[^|]*?, got 412", re.I)
_RETIRED_RATE_LIMIT = re.compile(r"\b(x-)?ratelimit-(limit|remaining|reset)\b", re.I)
_CHALLENGE = re.compile(r"\bwww-authenticate\b", re.I)
_OLD_CHALLENGE_WORDS = ('"token expired"', 'bearer error="invalid_token"', 'error_description="token')


def likely_cause(failure: str) -> str | None:
    """A sentence naming the sandbox change a failed case most likely ran into, or None."""
    if _RETIRED_RATE_LIMIT.search(failure):
        return RATE_LIMIT
    if _READ_412.search(failure) and re.search(r"\b(GET|HEAD)\b", failure) and "if-" in failure.lower():
        return READ_PRECONDITION
    if _CHALLENGE.search(failure):
        lowered = failure.lower()
        if any(words in lowered for words in _OLD_CHALLENGE_WORDS):
            return CHALLENGE
    return None
