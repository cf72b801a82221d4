"""The sandbox API, built from a lesson's `sandboxes.api` settings.

It is a Starlette app (the ASGI toolkit FastAPI is built on). Every route is generated from the
settings, so FastAPI's signature-driven validation and schema have nothing to work on, and importing
FastAPI costs ~320 ms on the project's machines, more than the whole 0.3 s start-up budget. The OpenAPI
document is generated here from the same settings; `/docs` is a self-contained page (no CDN).

Layers, outside in: traffic recorder (sees everything, 500s included) -> rate limiter -> routes.
HTTP caching (ETag, Last-Modified, Cache-Control) and the application cache are done in the handlers:
neither Starlette nor FastAPI gives JSON routes any of them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from sandboxes.api.database import Column, Database
from sandboxes.api.problems import ApiError, problem_response
from sandboxes.api.recorder import ASGIApp, Receive, RecorderMiddleware, Scope, Send, TrafficRecorder, trace_of
from tutor.pack.sandbox_api import ApiSettings, Resource

JSON = "application/json"
MAX_INT = 2**63 - 1


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(value), status_code=status, media_type=JSON, headers=headers)


async def read_json(request: Request) -> Any:
    """The request body as JSON: 415 for another content type, 400 when it does not parse."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if not body:
        raise ApiError(400, "this request needs a JSON body")
    if content_type and not (content_type == JSON or content_type.endswith("+json")):
        raise ApiError(415, f"send JSON with 'Content-Type: application/json' (got '{content_type}')")

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    try:
        return json.loads(body, parse_constant=no_constants)
    except UnicodeDecodeError as exc:
        raise ApiError(400, "the body is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}"[:200]) from exc


# -- shared state --------------------------------------------------------------------------------
@dataclass
class CacheEntry:
    body: bytes
    headers: dict[str, str]
    expires: float
    db_ms: float


@dataclass
class IdempotentResult:
    fingerprint: str
    status: int = 0
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    done: bool = False


class TokenBucket:
    def __init__(self, capacity: int, refill: float) -> None:
        self.capacity = capacity
        self.refill = refill
        self.tokens = float(capacity)
        self.updated = time.monotonic()

    def take(self) -> tuple[bool, float]:
        """(allowed, seconds until the next token)."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.refill)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True, 0.0
        return False, (1 - self.tokens) / self.refill


class State:
    def __init__(self, settings: ApiSettings, database: Path | None) -> None:
        self.settings = settings
        self.db = Database(database)
        self.cache: dict[tuple[str, ...], CacheEntry] = {}
        self.cache_lock = threading.Lock()
        self.idempotency: dict[str, IdempotentResult] = {}
        self.last_write: dict[str, float] = {}
        self.started = time.time()
        self.strategies: dict[tuple[str, str], str] = {}
        """(resource, relation) -> strategy the learner switched to through /_sandbox/relations."""
        self.cache_switch: dict[str, Any] = {}
        """`app_cache_ttl` / `single_flight` as the learner set them through /_sandbox/caching."""
        self.loading: dict[tuple[str, ...], asyncio.Future[CacheEntry]] = {}
        """Cache keys being loaded now (single flight): later misses wait for this load."""
        self.auth = None
        if settings.auth is not None:
            from sandboxes.api.auth import AuthService

            self.auth = AuthService(settings.auth)

    def invalidate(self, resource: str) -> None:
        with self.cache_lock:
            for key in [k for k in self.cache if k[1] == resource]:
                del self.cache[key]

    def cache_ttl(self) -> float | None:
        caching = self.settings.caching
        if caching is None:
            return None
        ttl = self.cache_switch.get("app_cache_ttl", caching.app_cache_ttl)
        return float(ttl) if ttl else None

    def cache_control(self, resource: Resource) -> str | None:
        chosen = self.cache_switch.get("cache_control", {})
        if resource.name in chosen:
            return str(chosen[resource.name]) or None
        if resource.cache_control is not None:
            return resource.cache_control
        return self.settings.caching.cache_control if self.settings.caching else None

    def single_flight(self) -> bool:
        caching = self.settings.caching
        return bool(caching and self.cache_switch.get("single_flight", caching.single_flight))

    def last_modified(self, table: str) -> float:
        return max(self.db.modified(), self.last_write.get(table, 0.0), self.started - 1)


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


# -- resources -----------------------------------------------------------------------------------
def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(400, f"'{name}' must be a whole number (got '{raw[:40]}')") from exc
    if not low <= value <= high:
        raise ApiError(400, f"'{name}' must be between {low} and {high} (got {value})")
    return value


def _encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(dumps(values)).decode().rstrip("=")


def _decode_cursor(raw: str, size: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, TypeError) as exc:
        raise ApiError(400, "the cursor is not one this API gave out; start again without it") from exc
    if not isinstance(values, list) or len(values) != size:
        raise ApiError(400, "the cursor is not one this API gave out; start again without it")
    return values


def _check_value(column: Column, value: Any) -> str | None:
    """Why `value` does not fit `column`, or None."""
    if value is None:
        return "must not be null" if column.notnull else None
    if isinstance(value, dict | list):
        return "must be a single value, not an object or a list"
    affinity = column.affinity
    if affinity == "INTEGER":
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be an integer (got {type(value).__name__})"
        if abs(value) > MAX_INT:
            return "is too big for a 64-bit integer"
    elif affinity in ("REAL", "NUMERIC"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be a number (got {type(value).__name__})"
        if isinstance(value, int) and abs(value) > MAX_INT:
            return "is too big"
    elif affinity == "TEXT":
        if not isinstance(value, str):
            return f"must be a string (got {type(value).__name__})"
        if len(value) > 10_000:
            return "is longer than 10000 characters"
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        return "is too big"
    return None


class ResourceApi:
    def __init__(self, state: State, resource: Resource, version: str) -> None:
        self.state = state
        self.r = resource
        self.version = version
        self.base = f"/{version}/{resource.name}"

    # -- helpers ---------------------------------------------------------------------------------
    def select_list(self) -> str:
        if self.r.fields:
            cols = list(dict.fromkeys([self.r.id_column, *self.r.fields]))
            return ", ".join(f'"{c}"' for c in cols)
        return "*"

    def _item_id(self, request: Request) -> int | str:
        raw = request.path_params["id"]
        return int(raw) if raw.lstrip("-").isdigit() and len(raw) < 19 else raw

    def authorize(self, request: Request, write: bool) -> None:
        needed = self.r.auth == "read" or (self.r.auth == "write" and write)
        if not needed and not (write and self.r.write_role):
            return
        principal = current_principal(self.state, request)
        if principal is None:
            raise ApiError(
                401,
                "log in first: this endpoint needs an access token or a session",
                headers={"WWW-Authenticate": 'Bearer realm="sandbox"'},
            )
        if write and self.r.write_role and principal.role != self.r.write_role:
            trace = trace_of(request.scope)
            if trace:
                trace.add("auth", "denied", user=principal.username, role=principal.role, needs=self.r.write_role)
            raise ApiError(
                403,
                f"'{principal.username}' (role '{principal.role}') may not change {self.r.name}; "
                f"that needs role '{self.r.write_role}'",
            )
        trace = trace_of(request.scope)
        if trace:
            trace.add("auth", "allowed", user=principal.username, role=principal.role, needs=self.r.write_role)

    def embed(self, conn: sqlite3.Connection, items: list[dict[str, Any]]) -> None:
        for relation in self.r.relations:
            if self.state.strategies.get((self.r.name, relation.name), relation.strategy) == "per_row":
                for item in items:
                    row = conn.execute(
                        f'SELECT * FROM "{relation.table}" WHERE id = ?', (item.get(relation.foreign_key),)
                    ).fetchone()
                    item[relation.name] = dict(row) if row else None
            else:
                keys = sorted({item.get(relation.foreign_key) for item in items} - {None}, key=str)
                found: dict[Any, dict[str, Any]] = {}
                if keys:
                    marks = ",".join("?" * len(keys))
                    for row in conn.execute(f'SELECT * FROM "{relation.table}" WHERE id IN ({marks})', keys):
                        found[row["id"]] = dict(row)
                for item in items:
                    item[relation.name] = found.get(item.get(relation.foreign_key))

    def _sort(self, request: Request) -> list[tuple[str, bool]]:
        raw = request.query_params.get("sort", "")
        keys: list[tuple[str, bool]] = []
        for part in [p.strip() for p in raw.split(",") if p.strip()]:
            descending = part.startswith("-")
            column = part.lstrip("-+")
            if column not in self.r.sortable:
                allowed = ", ".join(self.r.sortable) or "nothing"
                raise ApiError(400, f"cannot sort by '{column[:40]}'; sortable: {allowed}")
            keys.append((column, descending))
        return keys

    def _link(self, request: Request, **changes: Any) -> str:
        params = dict(request.query_params)
        for key, value in changes.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = str(value)
        from urllib.parse import urlencode

        return f"{self.base}?{urlencode(params)}" if params else self.base

    # -- reads -----------------------------------------------------------------------------------
    def _list_sync(self, request: Request) -> tuple[Any, dict[str, str]]:
        where, args = [], []
        for param, column in self.r.filters.items():
            value = request.query_params.get(param)
            if value is not None:
                where.append(f'"{column}" = ?')
                args.append(value)
        sort = self._sort(request)
        limit = _int_param(request, "limit", self.r.page_size, 1, self.r.max_page_size)
        headers: dict[str, str] = {}
        links: dict[str, str] = {}
        meta: dict[str, Any] = {"limit": limit}
        with self.state.db.connect(trace_of(request.scope)) as conn:
            table = f'"{self.r.table}"'
            id_col = f'"{self.r.id_column}"'
            if self.r.pagination == "cursor":
                if len(sort) > 1:
                    raise ApiError(400, "with cursor pagination, sort by one column at most")
                order_cols = [sort[0][0], self.r.id_column] if sort else [self.r.id_column]
                descending = bool(sort and sort[0][1])
                raw_cursor = request.query_params.get("cursor")
                if raw_cursor:
                    values = _decode_cursor(raw_cursor, len(order_cols))
                    cols = ", ".join(f'"{c}"' for c in order_cols)
                    marks = ", ".join("?" * len(order_cols))
                    where.append(f"({cols}) {'<' if descending else '>'} ({marks})")
                    args.extend(values)
                clause = f" WHERE {' AND '.join(where)}" if where else ""
                direction = " DESC" if descending else ""
                order = ", ".join(f'"{c}"{direction}' for c in order_cols)
                rows = conn.execute(
                    f"SELECT {self.select_list()} FROM {table}{clause} ORDER BY {order} LIMIT ?", [*args, limit + 1]
                ).fetchall()
                items = [dict(r) for r in rows[:limit]]
                next_cursor = None
                if len(rows) > limit and items:
                    next_cursor = _encode_cursor([items[-1].get(c) for c in order_cols])
                    links["next"] = self._link(request, cursor=next_cursor)
                meta["next_cursor"] = next_cursor
            else:
                clause = f" WHERE {' AND '.join(where)}" if where else ""
                order = ", ".join(f'"{c}"{" DESC" if d else ""}' for c, d in sort) or id_col
                if self.r.pagination == "none":
                    rows = conn.execute(
                        f"SELECT {self.select_list()} FROM {table}{clause} ORDER BY {order}", args
                    ).fetchall()
                    items = [dict(r) for r in rows]
                else:
                    offset = _int_param(request, "offset", 0, 0, 10**12)
                    total = conn.execute(f"SELECT count(*) FROM {table}{clause}", args).fetchone()[0]
                    rows = conn.execute(
                        f"SELECT {self.select_list()} FROM {table}{clause} ORDER BY {order} LIMIT ? OFFSET ?",
                        [*args, limit, offset],
                    ).fetchall()
                    items = [dict(r) for r in rows]
                    meta.update(total=total, offset=offset)
                    headers["X-Total-Count"] = str(total)
                    links["first"] = self._link(request, offset=None)
                    if offset > 0:
                        links["prev"] = self._link(request, offset=max(offset - limit, 0) or None)
                    if offset + limit < total:
                        links["next"] = self._link(request, offset=offset + limit)
                    last = max((total - 1) // limit * limit, 0)
                    links["last"] = self._link(request, offset=last or None)
            self.embed(conn, items)
        if links:
            headers["Link"] = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items())
        if self.version == "v1":
            body: dict[str, Any] = {"items": items, **meta}
        else:
            body = {"data": items, "meta": meta, "links": links}
        return body, headers

    def _get_sync(self, request: Request) -> tuple[Any, dict[str, str]]:
        item_id = self._item_id(request)
        with self.state.db.connect(trace_of(request.scope)) as conn:
            row = conn.execute(
                f'SELECT {self.select_list()} FROM "{self.r.table}" WHERE "{self.r.id_column}" = ?', (item_id,)
            ).fetchone()
            if row is None:
                raise ApiError(404, f"there is no {self.r.name} item with id {item_id}")
            item = dict(row)
            self.embed(conn, [item])
        return (item if self.version == "v1" else {"data": item}), {}

    async def read(self, request: Request, which: str) -> Response:
        self.authorize(request, write=False)
        state = self.state
        caching = state.settings.caching
        trace = trace_of(request.scope)
        begin = time.perf_counter()
        key = (self.version, self.r.name, request.url.path, str(request.query_params))
        entry: CacheEntry | None = None
        hit = False
        timing: list[str] = []
        ttl = state.cache_ttl()
        if ttl:
            with state.cache_lock:
                entry = state.cache.get(key)
                if entry is not None and entry.expires < time.monotonic():
                    del state.cache[key]
                    entry = None
            hit = entry is not None
            if trace:
                left = round(entry.expires - time.monotonic(), 3) if entry else None
                trace.add(
                    "cache", "HIT" if hit else "MISS", key=key[2] + ("?" + key[3] if key[3] else ""), ttl_left=left
                )
        loading: asyncio.Future[CacheEntry] | None = None
        collapsed = False
        if entry is None and ttl and state.single_flight():
            in_flight = state.loading.get(key)
            if in_flight is not None:
                # Single flight: another request is loading this key; wait for its answer instead
                # of sending the database the same query again.
                entry = await asyncio.shield(in_flight)
                collapsed = True
                if trace:
                    trace.add("cache", "waited for the load already in flight (single flight)")
            else:
                loading = state.loading[key] = asyncio.get_running_loop().create_future()
        if entry is None:
            try:
                entry = await self._load(request, which, trace, ttl)
            except BaseException as exc:
                if loading is not None:
                    state.loading.pop(key, None)
                    loading.set_exception(exc)
                    loading.exception()  # retrieved: waiters re-raise it, nobody else has to
                raise
            if ttl:
                with state.cache_lock:
                    state.cache[key] = entry
            if loading is not None:
                state.loading.pop(key, None)
                loading.set_result(entry)
            timing.append(f"db;dur={entry.db_ms:.2f}")
        headers = dict(entry.headers)
        if ttl:
            headers["X-Cache"] = "HIT" if hit else "MISS"
            # RFC 9211: `collapsed` marks a miss that shared another request's load (single flight).
            status_param = "hit" if hit else "fwd=miss; collapsed" if collapsed else "fwd=miss; stored"
            headers["Cache-Status"] = f"sandbox; {status_param}"
            timing.insert(0, f'cache;desc="{"HIT" if hit else "MISS, collapsed" if collapsed else "MISS"}"')
        body = entry.body
        self.version_headers(headers)
        if self.r.auth == "read":
            headers["Vary"] = "Authorization, Cookie"
        status = 200
        if caching:
            cache_control = state.cache_control(self.r)
            if cache_control:
                headers["Cache-Control"] = cache_control
            etag = etag_of(body) if caching.etag else None
            last_modified = state.last_modified(self.r.table) if caching.last_modified else None
            if etag:
                headers["ETag"] = etag
            if last_modified:
                headers["Last-Modified"] = formatdate(last_modified, usegmt=True)
            inm = request.headers.get("if-none-match")
            ims = request.headers.get("if-modified-since")
            if (etag and inm is not None and etag_matches(inm, etag)) or (
                inm is None and last_modified and ims and not_modified_since(ims, last_modified)
            ):
                status = 304
                body = b""
        timing.append(f"total;dur={(time.perf_counter() - begin) * 1000:.2f}")
        headers["Server-Timing"] = ", ".join(timing)
        if status == 304:
            return Response(status_code=304, headers=headers)
        return Response(body, status_code=200, media_type=JSON, headers=headers)

    async def _load(self, request: Request, which: str, trace: Any, ttl: float | None) -> CacheEntry:
        """Read from the database (after the lesson's deliberate delay): a cache miss, or no cache."""
        db_begin = time.perf_counter()
        if self.r.latency_ms:
            await asyncio.sleep(self.r.latency_ms / 1000)
            if trace:
                trace.add("latency", f"{self.r.latency_ms} ms of deliberate delay", self.r.latency_ms)
        sync = self._list_sync if which == "list" else self._get_sync
        payload, headers = await run_in_threadpool(sync, request)
        db_ms = (time.perf_counter() - db_begin) * 1000
        return CacheEntry(dumps(payload), headers, time.monotonic() + ttl if ttl else 0.0, db_ms)

    def version_headers(self, headers: dict[str, str]) -> None:
        if self.version == "v1" and "v2" in self.state.settings.versions:
            headers["Deprecation"] = "true"
            successor = f'</v2/{self.r.name}>; rel="successor-version"'
            headers["Link"] = f"{headers['Link']}, {successor}" if "Link" in headers else successor

    # -- writes ----------------------------------------------------------------------------------
    def _validate(self, conn: sqlite3.Connection, data: Any, mode: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ApiError(422, f"send a JSON object (got {type(data).__name__})")
        columns = {c.name: c for c in Database.columns(conn, self.r.table)}
        errors = []
        for name, value in data.items():
            column = columns.get(name)
            if column is None:
                errors.append({"field": name, "message": f"unknown field; known: {', '.join(columns)}"})
                continue
            problem = _check_value(column, value)
            if problem:
                errors.append({"field": name, "message": problem})
        if mode in ("create", "replace"):
            for column in columns.values():
                auto = column.pk and column.affinity == "INTEGER"
                if column.notnull and not column.has_default and not auto and column.name not in data:
                    errors.append({"field": column.name, "message": "is required"})
        if mode != "create" and self.r.id_column in data:
            errors.append({"field": self.r.id_column, "message": "the id is in the URL; it cannot be changed"})
        if errors:
            raise ApiError(422, "the body breaks the rules of this resource", errors=errors)
        return data

    def _integrity(self, exc: sqlite3.IntegrityError) -> ApiError:
        message = str(exc)
        if "UNIQUE" in message or "PRIMARY KEY" in message:
            return ApiError(409, f"conflicts with an existing {self.r.name} item: {message}")
        return ApiError(422, f"the database refused it: {message}")

    def _write_sync(self, request: Request, data: Any, mode: str) -> tuple[int, Any, dict[str, str]]:
        table, id_col = f'"{self.r.table}"', f'"{self.r.id_column}"'
        item_id: Any
        with self.state.db.connect(trace_of(request.scope)) as conn:
            try:
                if mode == "delete":
                    item_id = self._item_id(request)
                    cursor = conn.execute(f"DELETE FROM {table} WHERE {id_col} = ?", (item_id,))
                    if cursor.rowcount == 0:
                        raise ApiError(404, f"there is no {self.r.name} item with id {item_id}")
                    return 204, None, {}
                values = self._validate(conn, data, mode)
                if mode == "create":
                    names = ", ".join(f'"{k}"' for k in values)
                    marks = ", ".join("?" * len(values))
                    sql = (
                        f"INSERT INTO {table} ({names}) VALUES ({marks})"
                        if values
                        else f"INSERT INTO {table} DEFAULT VALUES"
                    )
                    cursor = conn.execute(sql, list(values.values()))
                    item_id = values.get(self.r.id_column, cursor.lastrowid)
                else:
                    item_id = self._item_id(request)
                    if values:
                        sets = ", ".join(f'"{k}" = ?' for k in values)
                        cursor = conn.execute(
                            f"UPDATE {table} SET {sets} WHERE {id_col} = ?", [*values.values(), item_id]
                        )
                        found = cursor.rowcount > 0
                    else:
                        found = conn.execute(f"SELECT 1 FROM {table} WHERE {id_col} = ?", (item_id,)).fetchone()
                    if not found:
                        raise ApiError(404, f"there is no {self.r.name} item with id {item_id}")
            except sqlite3.IntegrityError as exc:
                raise self._integrity(exc) from exc
            except (OverflowError, sqlite3.InterfaceError) as exc:
                raise ApiError(422, f"a value cannot be stored: {exc}") from exc
            row = conn.execute(f"SELECT {self.select_list()} FROM {table} WHERE {id_col} = ?", (item_id,)).fetchone()
            item = dict(row) if row else values
        headers = {"Location": f"{self.base}/{item_id}"} if mode == "create" else {}
        return (201 if mode == "create" else 200), (item if self.version == "v1" else {"data": item}), headers

    async def write(self, request: Request, mode: str) -> Response:
        if not self.r.writable:
            allow = "GET, HEAD"
            raise ApiError(405, f"{self.r.name} is read-only in this lesson", headers={"Allow": allow})
        self.authorize(request, write=True)
        data = await read_json(request) if mode != "delete" else None
        state = self.state
        idem: IdempotentResult | None = None
        key = request.headers.get("idempotency-key") if state.settings.idempotency_keys and mode == "create" else None
        if key is not None:
            if not key.strip() or len(key) > 255:
                raise ApiError(400, "Idempotency-Key must be 1 to 255 characters")
            fingerprint = hashlib.sha256(request.url.path.encode() + b"\0" + dumps(data)).hexdigest()
            with state.cache_lock:
                idem = state.idempotency.get(key)
                if idem is None:
                    state.idempotency[key] = IdempotentResult(fingerprint)
            if idem is not None:
                if idem.fingerprint != fingerprint:
                    raise ApiError(422, "this Idempotency-Key was already used for a different request")
                if not idem.done:
                    raise ApiError(409, "a request with this Idempotency-Key is still being processed")
                return Response(
                    idem.body,
                    status_code=idem.status,
                    media_type=JSON,
                    headers={**idem.headers, "Idempotent-Replayed": "true"},
                )
        try:
            status, payload, headers = await run_in_threadpool(self._write_sync, request, data, mode)
        except ApiError:
            if key is not None:
                with state.cache_lock:
                    state.idempotency.pop(key, None)
            raise
        state.last_write[self.r.table] = time.time()
        state.invalidate(self.r.name)
        body = dumps(payload) if payload is not None else b""
        if key is not None:
            state.idempotency[key] = IdempotentResult(
                state.idempotency[key].fingerprint, status, body, headers, done=True
            )
        if status == 204:
            return Response(status_code=204, headers=headers)
        return Response(body, status_code=status, media_type=JSON, headers=headers)

    # -- routes ------------------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        async def collection(request: Request) -> Response:
            if request.method in ("GET", "HEAD"):
                return await self.read(request, "list")
            return await self.write(request, "create")

        async def item(request: Request) -> Response:
            if request.method in ("GET", "HEAD"):
                return await self.read(request, "item")
            mode = {"PUT": "replace", "PATCH": "patch", "DELETE": "delete"}[request.method]
            return await self.write(request, mode)

        return [
            Route(self.base, collection, methods=["GET", "HEAD", "POST"]),
            Route(self.base + "/{id}", item, methods=["GET", "HEAD", "PUT", "PATCH", "DELETE"]),
        ]


# -- auth routes ---------------------------------------------------------------------------------
def current_principal(state: State, request: Request) -> Any:
    if state.auth is None:
        return None
    trace = trace_of(request.scope)
    principal = state.auth.authenticate(request.headers, request.cookies)
    if trace:
        trace.add(
            "auth",
            "anonymous" if principal is None else "authenticated",
            user=getattr(principal, "username", None),
            role=getattr(principal, "role", None),
        )
    return principal


def _credentials(data: Any) -> tuple[str, str]:
    if not isinstance(data, dict):
        raise ApiError(422, 'send a JSON object: {"username": ..., "password": ...}')
    username, password = data.get("username"), data.get("password")
    errors = [
        {"field": name, "message": "is required and must be a string"}
        for name, value in (("username", username), ("password", password))
        if not isinstance(value, str) or not value
    ]
    if errors:
        raise ApiError(422, "username and password are required", errors=errors)
    return str(username), str(password)


def auth_routes(state: State) -> list[Route]:
    auth = state.auth
    assert auth is not None
    settings = auth.settings

    def need_login(request: Request) -> Any:
        principal = current_principal(state, request)
        if principal is None:
            raise ApiError(
                401,
                "log in first: send 'Authorization: Bearer <access token>'",
                headers={"WWW-Authenticate": 'Bearer realm="sandbox"'},
            )
        return principal

    def tokens(user: Any) -> tuple[dict[str, Any], dict[str, str]]:
        body: dict[str, Any] = {"username": user.username, "role": user.role}
        if settings.jwt:
            token, ttl = auth.issue_access(user)
            body.update(access_token=token, token_type="bearer", expires_in=ttl)  # noqa: S106  # noqa: S106
        if settings.refresh_tokens:
            body["refresh_token"] = auth.issue_refresh(user)
        return body, {}

    async def register(request: Request) -> Response:
        username, password = _credentials(await read_json(request))
        user = await run_in_threadpool(auth.register, username, password)
        return json_response({"username": user.username, "role": user.role}, 201, headers={"Location": "/auth/me"})

    async def login(request: Request) -> Response:
        username, password = _credentials(await read_json(request))
        user = await run_in_threadpool(auth.login, username, password)
        trace = trace_of(request.scope)
        if trace:
            trace.add("auth", "login", user=user.username, role=user.role)
        body, _ = tokens(user)
        response = json_response(body, 200, headers={"Cache-Control": "no-store"})
        if settings.cookie_sessions:
            response.set_cookie(
                "session",
                auth.start_session(user),
                httponly=True,
                samesite="lax",
                path="/",
                max_age=settings.access_ttl_seconds * 12,
            )
        return response

    async def refresh(request: Request) -> Response:
        data = await read_json(request)
        token = data.get("refresh_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise ApiError(422, 'send {"refresh_token": "..."}')
        user, new_refresh = auth.rotate_refresh(token)
        body, _ = tokens(user)
        body["refresh_token"] = new_refresh
        return json_response(body, 200, headers={"Cache-Control": "no-store"})

    async def logout(request: Request) -> Response:
        principal = current_principal(state, request)
        body = await request.body()
        revoked = False
        if body:
            data = await read_json(request)
            if isinstance(data, dict) and isinstance(data.get("refresh_token"), str):
                revoked = auth.revoke_refresh(data["refresh_token"])
        if principal is not None and principal.jti:
            auth.revoked_jti.add(principal.jti)
            revoked = True
        sid = request.cookies.get("session")
        response = Response(status_code=204)
        if sid and sid in auth.sessions:
            del auth.sessions[sid]
            revoked = True
        if settings.cookie_sessions:
            response.delete_cookie("session", path="/", httponly=True, samesite="lax")
        if not revoked:
            raise ApiError(
                401,
                "nothing to log out: send the access token, a refresh token or the session cookie",
                headers={"WWW-Authenticate": 'Bearer realm="sandbox"'},
            )
        return response

    async def me(request: Request) -> Response:
        principal = need_login(request)
        return json_response({"username": principal.username, "role": principal.role, "via": principal.via})

    async def admin(request: Request) -> Response:
        principal = need_login(request)
        if principal.role != "admin":
            raise ApiError(
                403, f"'{principal.username}' is logged in but has role '{principal.role}'; this needs role 'admin'"
            )
        return json_response({"message": "welcome, admin", "users": sorted(auth.users)})

    routes = [
        Route("/auth/register", register, methods=["POST"]),
        Route("/auth/login", login, methods=["POST"]),
        Route("/auth/logout", logout, methods=["POST"]),
        Route("/auth/me", me, methods=["GET"]),
        Route("/auth/admin", admin, methods=["GET"]),
    ]
    if settings.refresh_tokens:
        routes.append(Route("/auth/refresh", refresh, methods=["POST"]))
    return routes


# -- sandbox controls ----------------------------------------------------------------------------
def relation_routes(state: State) -> list[Route]:
    """`/_sandbox/relations`: how each embedded relation is loaded, and a switch to change it.

    Only for relations a lesson marks `switchable` (the N+1 lesson): the switch stands in for the change a
    developer makes in the code (an ORM's eager loading, a hand-written `IN (...)` query)."""
    relations = {(r.name, rel.name): rel for r in state.settings.resources for rel in r.relations if rel.switchable}
    if not relations:
        return []
    how = {
        "per_row": "one query per item (N+1)",
        "join": "one query for the whole page: WHERE id IN (...)",
    }

    def describe(resource: str, name: str) -> dict[str, Any]:
        rel = relations[(resource, name)]
        strategy = state.strategies.get((resource, name), rel.strategy)
        return {
            "resource": resource,
            "relation": name,
            "table": rel.table,
            "foreign_key": rel.foreign_key,
            "strategy": strategy,
            "means": how[strategy],
            "choices": how,
            "change": f'PUT /_sandbox/relations/{resource}/{name} with {{"strategy": "join"}}',
        }

    async def listing(request: Request) -> Response:
        return json_response({"relations": [describe(r, n) for r, n in relations]})

    async def one(request: Request) -> Response:
        key = (request.path_params["resource"], request.path_params["relation"])
        if key not in relations:
            known = ", ".join(f"{r}/{n}" for r, n in relations)
            raise ApiError(404, f"no relation {key[0]}/{key[1]}; known: {known}")
        if request.method == "PUT":
            data = await read_json(request)
            strategy = data.get("strategy") if isinstance(data, dict) else None
            if strategy not in how:
                raise ApiError(
                    422,
                    'send {"strategy": "per_row"} or {"strategy": "join"}',
                    errors=[{"field": "strategy", "message": "must be 'per_row' or 'join'"}],
                )
            state.strategies[key] = str(strategy)
            state.invalidate(key[0])  # cached pages were built the old way
            trace = trace_of(request.scope)
            if trace:
                trace.add("handler", f"{key[0]}.{key[1]} is now loaded '{strategy}'")
        return json_response(describe(*key))

    return [
        Route("/_sandbox/relations", listing, methods=["GET"]),
        Route("/_sandbox/relations/{resource}/{relation}", one, methods=["GET", "PUT"]),
    ]


def caching_routes(state: State) -> list[Route]:
    """`/_sandbox/caching`: the application cache's settings now, and a switch to change them.

    It stands in for a code change (adding a cache-aside cache, a per-key lock around its loads), so a
    lesson can measure an endpoint before and after without a restart. Only with `caching.switchable`."""
    caching = state.settings.caching
    if caching is None or not caching.switchable:
        return []

    resources = {r.name: r for r in state.settings.resources}

    def describe() -> dict[str, Any]:
        return {
            "app_cache_ttl": state.cache_ttl(),
            "single_flight": state.single_flight(),
            "cache_control": {name: state.cache_control(r) for name, r in resources.items()},
            "means": {
                "app_cache_ttl": "seconds a cache-aside entry lives; null: no application cache",
                "single_flight": "concurrent misses of one key share one database load",
                "cache_control": "the Cache-Control header each resource's GET responses carry",
            },
            "change": 'PUT /_sandbox/caching with {"app_cache_ttl": 30}, {"single_flight": true} '
            'or {"cache_control": {"RESOURCE": "max-age=60"}}',
        }

    async def caching_switch(request: Request) -> Response:
        if request.method == "PUT":
            data = await read_json(request)
            errors: list[dict[str, str]] = []
            if not isinstance(data, dict) or not data:
                raise ApiError(422, 'send {"app_cache_ttl": SECONDS or null} and/or {"single_flight": true|false}')
            for name in data:
                if name not in ("app_cache_ttl", "single_flight", "cache_control"):
                    errors.append(
                        {"field": name, "message": "unknown; use app_cache_ttl, single_flight or cache_control"}
                    )
            chosen = data.get("cache_control", {})
            if "cache_control" not in data:
                pass
            elif not isinstance(chosen, dict) or not chosen:
                errors.append({"field": "cache_control", "message": 'must be {"RESOURCE": "directives", ...}'})
            else:
                for name, value in chosen.items():
                    if name not in resources:
                        errors.append({"field": f"cache_control.{name}", "message": f"no resource {name!r}"})
                    elif not isinstance(value, str) or len(value) > 200 or not value.isprintable():
                        errors.append({"field": f"cache_control.{name}", "message": "must be header text"})
            ttl = data.get("app_cache_ttl")
            if (
                "app_cache_ttl" in data
                and ttl is not None
                and (isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not 0 < ttl <= 86400)
            ):
                errors.append({"field": "app_cache_ttl", "message": "must be seconds above 0 (at most 86400) or null"})
            if "single_flight" in data and not isinstance(data["single_flight"], bool):
                errors.append({"field": "single_flight", "message": "must be true or false"})
            if errors:
                raise ApiError(422, "the caching switch was not changed", errors=errors)
            if "cache_control" in data:
                data = {**data, "cache_control": {**state.cache_switch.get("cache_control", {}), **chosen}}
            state.cache_switch.update(data)
            if "app_cache_ttl" in data or "single_flight" in data:
                for resource in resources:
                    state.invalidate(resource)  # a changed cache starts empty, as after a deploy
            trace = trace_of(request.scope)
            if trace:
                trace.add(
                    "handler",
                    f"application cache is now {describe()['app_cache_ttl']} s, "
                    f"single flight {'on' if state.single_flight() else 'off'}",
                )
        return json_response(describe())

    return [Route("/_sandbox/caching", caching_switch, methods=["GET", "PUT"])]


# -- rate limiting -------------------------------------------------------------------------------
class RateLimitMiddleware:
    """Token bucket per client (the client's address and which tool sent it); API paths only."""

    PREFIXES = ("/v1/", "/v2/", "/auth/")

    def __init__(self, app: ASGIApp, capacity: int, refill: float, problem_json: bool) -> None:
        self.app = app
        self.capacity = capacity
        self.refill = refill
        self.problem_json = problem_json
        self.buckets: dict[tuple[str, str], TokenBucket] = {}
        self.lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path + "/").startswith(self.PREFIXES):
            await self.app(scope, receive, send)
            return
        trace = trace_of(scope)
        client = scope.get("client") or ("?", 0)
        source = trace.events[0].data.get("source", "outside") if trace and trace.events else "outside"
        key = (str(client[0]), str(source))
        with self.lock:
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = self.buckets[key] = TokenBucket(self.capacity, self.refill)
            allowed, wait = bucket.take()
            remaining = int(bucket.tokens)
        reset = math.ceil((self.capacity - bucket.tokens) / self.refill)
        limit_headers = [
            (b"ratelimit-limit", str(self.capacity).encode()),
            (b"ratelimit-remaining", str(remaining).encode()),
            (b"ratelimit-reset", str(reset).encode()),
            (b"ratelimit-policy", f"{self.capacity};w={max(1, round(self.capacity / self.refill))}".encode()),
        ]
        if trace:
            trace.add("rate_limit", "allowed" if allowed else "refused", remaining=remaining)
        if not allowed:
            retry = max(1, math.ceil(wait))
            response = problem_response(
                429,
                f"too many requests: the bucket holds {self.capacity} and refills "
                f"{self.refill:g} per second; retry in {retry} s",
                instance=path,
                problem_json=self.problem_json,
                headers={"Retry-After": str(retry)},
            )
            response.raw_headers.extend(limit_headers)
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *limit_headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


# -- the app -------------------------------------------------------------------------------------
class SandboxApp:
    """The ASGI app the server runs, with a handle on its shared state (caches, accounts)."""

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def build_app(
    settings: ApiSettings,
    *,
    database: Path | None = None,
    recorder: TrafficRecorder | None = None,
    tracing: bool = True,
) -> SandboxApp:
    """The whole sandbox app; wrapped in the traffic recorder when `recorder` is given (`tracing`:
    whether each exchange also gets the events inside it)."""
    from sandboxes.api import openapi

    state = State(settings, database)
    routes: list[Route] = []
    for version in settings.versions:
        for resource in settings.resources:
            routes.extend(ResourceApi(state, resource, version).routes())
    if state.auth is not None:
        routes.extend(auth_routes(state))
    controls = relation_routes(state)
    routes.extend(controls)
    cache_controls = caching_routes(state)
    routes.extend(cache_controls)

    spec_cache: dict[str, bytes] = {}

    async def index(request: Request) -> Response:
        body: dict[str, Any] = {
            "name": "backend-tutor sandbox API",
            "docs": "/docs",
            "openapi": "/openapi.json",
            "resources": [f"/{v}/{r.name}" for v in settings.versions for r in settings.resources],
        }
        if state.auth is not None:
            body["auth"] = [route.path for route in auth_routes(state)]
            if state.auth.weak_modes:
                body["weak_auth_modes"] = state.auth.weak_modes
        if controls or cache_controls:
            body["sandbox_controls"] = ["/_sandbox/relations"] * bool(controls) + ["/_sandbox/caching"] * bool(
                cache_controls
            )
        return json_response(body)

    async def health(request: Request) -> Response:
        return json_response({"status": "ok"})

    async def openapi_json(request: Request) -> Response:
        if "spec" not in spec_cache:
            spec_cache["spec"] = dumps(openapi.spec(settings, state))
        return Response(spec_cache["spec"], media_type=JSON)

    async def docs(request: Request) -> Response:
        return HTMLResponse(openapi.DOCS_HTML)

    routes += [
        Route("/", index, methods=["GET", "HEAD"]),
        Route("/health", health, methods=["GET", "HEAD"]),
        Route("/openapi.json", openapi_json, methods=["GET", "HEAD"]),
        Route("/docs", docs, methods=["GET", "HEAD"]),
    ]

    def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        trace = trace_of(request.scope)
        if trace and exc.status in (401, 403):
            trace.add("auth", "refused", status=exc.status, reason=exc.detail)
        return problem_response(
            exc.status,
            exc.detail,
            instance=request.url.path,
            problem_json=settings.problem_json,
            headers=exc.headers,
            errors=exc.errors,
            title=exc.title,
        )

    def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        detail = exc.detail
        if exc.status_code == 404:
            detail = f"nothing at {request.url.path[:200]}; see /docs for what this sandbox serves"
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path[:200]}"
        return problem_response(
            exc.status_code,
            str(detail),
            instance=request.url.path,
            problem_json=settings.problem_json,
            headers=dict(exc.headers or {}),
        )

    def on_crash(request: Request, exc: Exception) -> Response:
        return problem_response(
            500, "the sandbox failed on this request", instance=request.url.path, problem_json=settings.problem_json
        )

    app = Starlette(
        routes=routes,
        exception_handlers={ApiError: on_api_error, HTTPException: on_http_error, Exception: on_crash},
    )
    outer: ASGIApp = app
    if settings.rate_limit is not None:
        outer = RateLimitMiddleware(
            outer, settings.rate_limit.capacity, settings.rate_limit.refill_per_second, settings.problem_json
        )
    if recorder is not None:
        outer = RecorderMiddleware(outer, recorder, tracing=tracing)
    return SandboxApp(outer, state)
