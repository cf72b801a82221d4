"""A response as the request workbench shows it, keeps it in its history and compares two of them. No Textual.

record = ResponseRecord.build(status, reason, headers, content, elapsed_ms)
record.status_line(spec)            # 'GET /v1/books  ->  200 OK   server 1.1 ms · round trip 3.0 ms   123 bytes'
record.text()                       # headers, a blank line, the body (JSON pretty-printed)
side_by_side(a.lines(), b.lines())  # rows for a diff of two responses
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any, Literal

SHOWN_BODY = 200_000
"""Characters of a body shown and kept; the status line gives the full size."""


def server_time_ms(header: str | None) -> float | None:
    """The server's own time from a Server-Timing header (W3C Server Timing): its `total` metric, else the
    largest `dur` it reports. None when there is none."""
    if not header:
        return None
    durations: dict[str, float] = {}
    for metric in header.split(","):
        name, *params = (part.strip() for part in metric.split(";"))
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "dur":
                try:
                    durations[name.lower()] = float(value.strip().strip('"'))
                except ValueError:
                    continue
    if not durations:
        return None
    return durations.get("total", max(durations.values()))


def format_ms(ms: float) -> str:
    """Milliseconds as they are: a cache hit reads as the fraction of a millisecond it is."""
    if ms < 1:
        return f"{ms:.2f} ms"
    if ms < 100:
        return f"{ms:.1f} ms"
    return f"{ms:,.0f} ms"


def pretty_body(content: bytes, content_type: str) -> tuple[str, str | None]:
    """(text, "json" when it is JSON): JSON is indented, anything else shown as its text."""
    text = content[:SHOWN_BODY].decode("utf-8", "replace")
    if "json" in content_type:
        try:
            return json.dumps(json.loads(content), indent=2, ensure_ascii=False)[:SHOWN_BODY], "json"
        except ValueError:
            return text, None
    return text, None


@dataclass(frozen=True)
class ResponseRecord:
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: str  # as shown: JSON pretty-printed, cut at SHOWN_BODY characters
    size: int  # bytes of the body as received
    elapsed_ms: float
    language: str | None = None  # "json" when the body is JSON

    @classmethod
    def build(
        cls, status: int, reason: str, headers: list[tuple[str, str]], content: bytes, elapsed_ms: float
    ) -> ResponseRecord:
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        body, language = pretty_body(content, content_type)
        return cls(status, reason, tuple(headers), body, len(content), elapsed_ms, language)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    @property
    def server_ms(self) -> float | None:
        return server_time_ms(self.header("server-timing"))

    def status_text(self) -> str:
        """'200 OK   server 1.1 ms · round trip 3.0 ms   123 bytes'."""
        timing = f"round trip {format_ms(self.elapsed_ms)}"
        server = self.server_ms
        if server is not None:
            timing = f"server {format_ms(server)} · {timing}"
        return f"{self.status} {self.reason}   {timing}   {self.size} bytes"

    def head_text(self) -> str:
        return "\n".join(f"{name}: {value}" for name, value in self.headers)

    def text(self) -> str:
        """What the response view holds: the headers, a blank line, then the body."""
        head = self.head_text()
        return f"{head}\n\n{self.body}" if self.body else head

    def lines(self) -> list[str]:
        """The response as lines to compare: the status, the headers by name (so the same header lines up
        in two responses), then the body."""
        status = [f"{self.status} {self.reason}"]
        head = sorted(f"{name.lower()}: {value}" for name, value in self.headers)
        return [*status, *head, "", *self.body.splitlines()]

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "headers": [list(h) for h in self.headers],
            "body": self.body,
            "size": self.size,
            "elapsed_ms": round(self.elapsed_ms, 3),
            "language": self.language,
        }

    @classmethod
    def from_json(cls, data: Any) -> ResponseRecord | None:
        try:
            headers = tuple((str(k), str(v)) for k, v in data["headers"])
            return cls(
                int(data["status"]),
                str(data["reason"]),
                headers,
                str(data["body"]),
                int(data["size"]),
                float(data["elapsed_ms"]),
                data.get("language") if data.get("language") in ("json", None) else None,
            )
        except (KeyError, TypeError, ValueError):
            return None


Change = Literal["same", "changed", "left", "right"]


@dataclass(frozen=True)
class DiffRow:
    left: str | None  # None: nothing on this side (the line exists on the other side only)
    right: str | None
    change: Change


def side_by_side(left: list[str], right: list[str]) -> list[DiffRow]:
    """Two texts line by line, aligned: equal lines side by side, changed lines paired, and lines only one
    side has opposite a gap."""
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            rows.extend(DiffRow(line, line, "same") for line in left[a0:a1])
            continue
        ours, theirs = left[a0:a1], right[b0:b1]
        paired = min(len(ours), len(theirs))
        rows.extend(DiffRow(ours[i], theirs[i], "changed") for i in range(paired))
        rows.extend(DiffRow(line, None, "left") for line in ours[paired:])
        rows.extend(DiffRow(None, line, "right") for line in theirs[paired:])
    return rows
