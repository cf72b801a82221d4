"""An old API version that says so: `Deprecation` (RFC 9745), `Sunset` (RFC 8594) and a link to its
successor.

With `versions: [v1, v2]`, every successful answer of a v1 resource (reads and writes; not errors) carries:

- `Deprecation: @<unix seconds>`: since when v1 is deprecated (RFC 9745 §2: a Structured Field Date),
  here the start of the day (UTC) the sandbox started;
- `Sunset: <HTTP-date>`: when v1 may stop answering (RFC 8594 §3), `sunset_after_days` later;
- `Link: </v2/...>; rel="successor-version"` (RFC 5829) to the same resource in v2, and
  `</docs>; rel="deprecation"` (RFC 9745 §3) to where the change is documented.
"""

from __future__ import annotations

from email.utils import formatdate

DAY = 24 * 3600


def deprecation_headers(path: str, started: float, sunset_after_days: int) -> dict[str, str]:
    deprecated = int(started // DAY * DAY)
    successor = "/v2/" + path.removeprefix("/v1/")
    return {
        "Deprecation": f"@{deprecated}",
        "Sunset": formatdate(deprecated + sunset_after_days * DAY, usegmt=True),
        "Link": f'<{successor}>; rel="successor-version", </docs>; rel="deprecation"',
    }


def add_version_headers(
    headers: dict[str, str], *, version: str, versions: list[str], path: str, started: float, sunset_after_days: int
) -> None:
    """Add the deprecation headers to an answer of `version` at `path` (nothing for the newest version)."""
    if version != "v1" or "v2" not in versions:
        return
    extra = deprecation_headers(path, started, sunset_after_days)
    link = extra.pop("Link")
    headers.update(extra)
    headers["Link"] = f"{headers['Link']}, {link}" if "Link" in headers else link
