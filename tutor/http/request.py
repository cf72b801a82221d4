"""A request as the learner composes it in the request workbench: method, a path relative to the lesson's
API, headers and a body. No Textual: the workbench, the load tool and headless commands share it.

    spec = RequestSpec("POST", "/v1/books", {"Idempotency-Key": "k1"}, '{"title": "Dune"}')
    headers, body = spec.prepared()     # what goes on the wire: a JSON body gets its Content-Type
    spec.label()                        # 'POST /v1/books'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
SOURCE_HEADER = "X-Backend-Tutor-Client"
"""Who sent a request (workbench | tutor); the sandbox records it and removes it. Without it: outside."""
REF_HEADER = "X-Backend-Tutor-Ref"
"""The load tool's requests carry a ref starting with 'load-': the traffic view labels them 'load'."""

TRANSPORT_HEADERS = frozenset({"host", "accept", "accept-encoding", "connection", "user-agent", "content-length"})
"""Headers every HTTP client adds by itself (curl its own values, httpx its own): not part of the request the
learner composed, so neither shown nor copied unless the learner typed them."""


@dataclass(frozen=True)
class RequestSpec:
    method: str
    url: str  # relative to the sandbox: /v1/books?limit=5
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""

    def prepared(self) -> tuple[dict[str, str], bytes | None]:
        """Headers and body as sent: a body without a Content-Type is sent as JSON (what the lessons' API
        reads), so the learner need not type that header each time."""
        headers = dict(self.headers)
        body = self.body.encode() if self.body.strip() else None
        if body is not None and header(headers, "content-type") is None:
            headers["Content-Type"] = "application/json"
        return headers, body

    def label(self) -> str:
        return f"{self.method} {self.url}"

    def with_headers(self, headers: dict[str, str]) -> RequestSpec:
        return RequestSpec(self.method, self.url, headers, self.body)

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "headers": dict(self.headers), "body": self.body}

    @classmethod
    def from_json(cls, data: Any) -> RequestSpec | None:
        """The spec `to_json` wrote, or None when `data` is not one (a damaged history line)."""
        if not isinstance(data, dict):
            return None
        method, url, headers, body = data.get("method"), data.get("url"), data.get("headers", {}), data.get("body", "")
        if not (isinstance(method, str) and isinstance(url, str) and isinstance(body, str)):
            return None
        if not isinstance(headers, dict):
            return None
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
            return None
        return cls(method.upper(), url, dict(headers), body)


def header(headers: dict[str, str], name: str) -> str | None:
    """A header's value by name, whatever its case (HTTP header names are case-insensitive)."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def parse_headers(text: str) -> tuple[dict[str, str], list[str]]:
    """'Name: value' per line -> headers, and the lines that are not headers."""
    headers: dict[str, str] = {}
    bad: list[str] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
            bad.append(line)
            continue
        headers[name.strip()] = value.strip()
    return headers, bad


def format_headers(headers: dict[str, str]) -> str:
    """Headers as the workbench's header box holds them: one 'Name: value' per line."""
    return "\n".join(f"{name}: {value}" for name, value in headers.items())


def relative_url(url: str, base_url: str) -> str:
    """What the learner typed in the URL box, as a path on the lesson's API: the API's own address is
    dropped, quotes around it too, and a missing leading slash is added."""
    url = url.strip().strip("'\"").strip() or "/"
    if base_url and url.startswith(base_url):
        url = url[len(base_url) :] or "/"
    if not url.startswith("/"):
        url = "/" + url
    return url
