"""Logs that tell the truth: one JSON line for every request the sandbox answered, in a file the
learner can `tail -f` and `grep`, for lessons with `logs` (docs/sandbox-api.md, "Request logs").

A line is written from the exchange the traffic recorder kept (a listener of `TrafficRecorder`), after
the response's last byte, so the log and the traffic are the same requests, one line each, 500s and
413s included:

    {"time": "2026-12-07T03:00:01.123Z", "level": "info", "service": "api", "request_id": "9f0c...",
     "method": "GET", "path": "/v1/books", "query": "limit=2", "status": 200, "duration_ms": 3.2,
     "sql": 2, "cache": "MISS", "user": "alice", "source": "outside", "bytes": 512}

`time` is the lesson clock (the same clock as the `Date` header); `duration_ms` is real time. An
upstream of the lesson (`sandboxes.api.upstream`) writes its calls into the same file with its own
`service` name, so `grep REQUEST_ID` follows one request across both services when the caller passed
its id on. The file is bounded: past `max_mb` it moves to `NAME.1` (the one before is dropped) and a
new one starts. Nothing here is in the state snapshot: a log is history, as the traffic recorder is.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LEVELS = ("info", "warn", "error")


def iso_time(epoch: float) -> str:
    """`2026-12-07T03:00:01.123Z`: UTC, milliseconds."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def level_of(status: int, error: str | None = None) -> str:
    if error or status >= 500 or status == 0:
        return "error"
    return "warn" if status >= 400 else "info"


def record_of(exchange: Any) -> dict[str, Any]:
    """The log line of one exchange (`sandboxes.api.recorder.Exchange`), as a dict."""
    sql = 0
    cache: str | None = None
    user: str | None = None
    upstream_calls = 0
    for event in exchange.trace:
        kind = event.kind
        if kind == "sql":
            sql += 1
        elif kind == "cache":
            cache = str(event.label)
        elif kind == "auth" and user is None and event.data.get("user"):
            user = str(event.data["user"])
        elif kind == "upstream":
            upstream_calls += 1
        elif kind == "truncated":
            sql += int(event.data.get("dropped", {}).get("sql", 0))
    record: dict[str, Any] = {
        "time": iso_time(exchange.lesson_time),
        "level": level_of(exchange.status, exchange.error),
        "service": "api",
        "request_id": exchange.request_id,
        "method": exchange.method,
        "path": exchange.path,
        "query": exchange.query or None,
        "status": exchange.status,
        "duration_ms": round(exchange.duration_ms, 1),
        "sql": sql,
        "cache": cache,
        "user": user,
        "source": exchange.source,
        "bytes": exchange.response_body_size,
    }
    if upstream_calls:
        record["upstream_calls"] = upstream_calls
    if exchange.error:
        record["error"] = exchange.error
    return record


class RequestLog:
    """The log file: JSON lines, appended and flushed one by one (a `tail -f` sees each at once)."""

    def __init__(self, path: Path, max_mb: int = 20) -> None:
        self.path = path
        self.max_bytes = max_mb * 1024 * 1024
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size:
            os.replace(path, self._older)  # the previous run's lines stay one generation
        self._file = open(path, "a", encoding="utf-8", newline="\n")  # noqa: SIM115 (closed in close())
        self.lines = 0

    @property
    def _older(self) -> Path:
        return self.path.with_name(self.path.name + ".1")

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, separators=(", ", ": ")) + "\n"
        with self._lock:
            if self._file.closed:
                return
            if self._file.tell() + len(line) > self.max_bytes:
                self._file.close()
                os.replace(self.path, self._older)
                self._file = open(self.path, "a", encoding="utf-8", newline="\n")  # noqa: SIM115
            self._file.write(line)
            self._file.flush()
            self.lines += 1

    def write_exchange(self, exchange: Any) -> None:
        """A `TrafficRecorder` listener: the line of each exchange, as it is recorded."""
        self.write(record_of(exchange))

    def close(self) -> None:
        with self._lock:
            self._file.close()


# -- reading: what the flow view and checks use ----------------------------------------------------
def read(path: Path | str | None, *, older: bool = False) -> Iterator[dict[str, Any]]:
    """The log's records in file order (with `older`, the rotated generation first); a line that is not
    a JSON object (the learner's own, a half-written one) is skipped."""
    if path is None:
        return
    path = Path(path)
    files = [path.with_name(path.name + ".1"), path] if older else [path]
    for file in files:
        try:
            handle = open(file, encoding="utf-8", errors="replace")  # noqa: SIM115
        except OSError:
            continue
        with handle:
            for line in handle:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    yield record


def story(path: Path | str | None, request_id: str | None) -> list[dict[str, Any]]:
    """Every line that carries `request_id`, in order: the API's line and the upstream calls made for it."""
    if not request_id:
        return []
    return [r for r in read(path) if r.get("request_id") == request_id]


def line_text(record: dict[str, Any]) -> str:
    """One record as a short line for a screen: time, service, status, method path, duration, SQL, cache, user;
    for the worker's and webhooks' lines, what happened to which job or event."""
    if record.get("service") == "worker":
        bits = [str(record.get("time", "?"))[11:23], "worker", str(record.get("event", "?"))]
        bits.append(f"job {record.get('job', '?')} {record.get('kind', '?')} attempt {record.get('attempt', '?')}")
        if record.get("error"):
            bits.append(str(record["error"]))
        return "  ".join(bits)
    if record.get("service") == "webhooks":
        bits = [str(record.get("time", "?"))[11:23], "webhooks", str(record.get("status", "?"))]
        bits.append(f"POST {record.get('event', '?')} {record.get('type', '?')} attempt {record.get('attempt', '?')}")
        bits.append(f"{record.get('duration_ms', 0)} ms")
        if record.get("problem"):
            bits.append(str(record["problem"]))
        return "  ".join(bits)
    bits = [
        str(record.get("time", "?"))[11:23],
        str(record.get("service", "?")),
        str(record.get("status", "?")),
        f"{record.get('method', '?')} {record.get('path', '?')}"
        + (f"?{record['query']}" if record.get("query") else ""),
        f"{record.get('duration_ms', 0)} ms",
    ]
    if record.get("sql") is not None:
        bits.append(f"sql {record['sql']}")
    if record.get("cache"):
        bits.append(f"cache {record['cache']}")
    if record.get("user"):
        bits.append(f"user {record['user']}")
    if record.get("fault"):
        bits.append(f"fault {record['fault']}")
    return "  ".join(bits)
