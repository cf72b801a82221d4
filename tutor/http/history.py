"""What the learner sent from the request workbench, kept per lesson on disk: the history (every request
with its response, newest last, searchable, replayable) and the requests they saved by name. No Textual.

    history = RequestHistory(folder)           # the lesson's folder under the tutor's home
    history.add(spec, record)                  # after each send
    history.entries()                          # oldest first
    history.search("cookie")                   # entries whose request or response mentions it
    saved = SavedRequests(folder)
    saved.save("login", spec); saved.all()     # {"login": spec}

A damaged line or file loses only itself: the rest is read, and the next write replaces the file whole.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from tutor.files import write_atomic
from tutor.http.request import RequestSpec, format_headers
from tutor.http.response import ResponseRecord

HISTORY_LIMIT = 200
"""Requests kept per lesson; the oldest go first."""
KEPT_BODY = 20_000
"""Characters of each response body kept in the history file (the screen shows up to SHOWN_BODY)."""


@dataclass(frozen=True)
class HistoryEntry:
    at: float
    request: RequestSpec
    response: ResponseRecord | None

    def label(self) -> str:
        status = f"  ->  {self.response.status}" if self.response is not None else ""
        return f"{time.strftime('%H:%M:%S', time.localtime(self.at))}  {self.request.label()}{status}"

    def matches(self, text: str) -> bool:
        """Whether `text` (any case) is in the request (method, URL, headers, body) or its response."""
        wanted = text.casefold()
        where = [self.request.label(), format_headers(self.request.headers), self.request.body]
        if self.response is not None:
            where += [f"{self.response.status} {self.response.reason}", self.response.text()]
        return any(wanted in part.casefold() for part in where)

    def to_json(self) -> dict[str, object]:
        response = None
        if self.response is not None:
            response = self.response.to_json()
            response["body"] = self.response.body[:KEPT_BODY]
        return {"at": round(self.at, 3), "request": self.request.to_json(), "response": response}

    @classmethod
    def from_json(cls, data: object) -> HistoryEntry | None:
        if not isinstance(data, dict):
            return None
        request = RequestSpec.from_json(data.get("request"))
        if request is None:
            return None
        raw = data.get("response")
        response = ResponseRecord.from_json(raw) if raw is not None else None
        at = data.get("at")
        return cls(float(at) if isinstance(at, int | float) else 0.0, request, response)


class RequestHistory:
    FILE = "requests.jsonl"

    def __init__(self, folder: Path) -> None:
        self.path = folder / self.FILE

    def entries(self) -> list[HistoryEntry]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            try:
                entry = HistoryEntry.from_json(json.loads(line))
            except ValueError:
                continue
            if entry is not None:
                out.append(entry)
        return out[-HISTORY_LIMIT:]

    def add(self, request: RequestSpec, response: ResponseRecord | None, *, at: float | None = None) -> HistoryEntry:
        entry = HistoryEntry(time.time() if at is None else at, request, response)
        entries = [*self.entries(), entry][-HISTORY_LIMIT:]
        write_atomic(self.path, "".join(json.dumps(e.to_json(), ensure_ascii=False) + "\n" for e in entries))
        return entry

    def search(self, text: str) -> list[HistoryEntry]:
        entries = self.entries()
        return entries if not text.strip() else [e for e in entries if e.matches(text.strip())]


class SavedRequests:
    FILE = "saved-requests.json"

    def __init__(self, folder: Path) -> None:
        self.path = folder / self.FILE

    def all(self) -> dict[str, RequestSpec]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        out = {}
        for name, raw in data.items():
            spec = RequestSpec.from_json(raw)
            if isinstance(name, str) and spec is not None:
                out[name] = spec
        return out

    def save(self, name: str, spec: RequestSpec) -> None:
        name = " ".join(name.split())
        if not name:
            raise ValueError("a saved request needs a name")
        saved = self.all()
        saved[name] = spec
        self._write(saved)

    def remove(self, name: str) -> None:
        saved = self.all()
        if saved.pop(name, None) is not None:
            self._write(saved)

    def _write(self, saved: dict[str, RequestSpec]) -> None:
        payload = {name: spec.to_json() for name, spec in sorted(saved.items())}
        write_atomic(self.path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
