"""A lesson's resources: a collection at /v1/{name} and its items at /v1/{name}/{id}, backed by one
table of the lesson database. Reads, writes, pagination, sorting, filters and embedded relations."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import sqlite3
import time
from email.utils import formatdate
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandboxes.api.auth_routes import current_principal, login_first
from sandboxes.api.caching import etag_matches, etag_of, not_modified_since, personal_cache_control
from sandboxes.api.conditional import check_read, check_write
from sandboxes.api.database import Column, Database
from sandboxes.api.jsonio import JSON, MAX_INT, MAX_TEXT, dumps, read_json, require_json_acceptable
from sandboxes.api.problems import ApiError
from sandboxes.api.recorder import trace_of
from sandboxes.api.state import CacheEntry, IdempotentResult, State
from sandboxes.api.versions import add_version_headers
from tutor.pack.sandbox_api import Resource

_INT_ID = re.compile(r"-?[0-9]{1,18}")


MAX_FLOAT_INT = 2**1023
PRECONDITION_HEADERS = ("if-match", "if-unmodified-since", "if-none-match")
_INT_PARAM = re.compile(r"-?[0-9]{1,19}")


def sort_pattern(sortable: list[str], most: int | None) -> str:
    """The regular expression `?sort=` must match (also in /openapi.json): 'col' or '-col', comma-separated."""
    key = "-?(?:" + "|".join(re.escape(c) for c in sortable) + ")"
    more = "" if most == 1 else f"(?:,{key})*"
    return f"^{key}{more}$"


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not _INT_PARAM.fullmatch(raw):
        raise ApiError(400, f"'{name}' must be a whole number (got '{raw[:40]}')")
    value = int(raw)
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
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            return f"must be an integer (got {type(value).__name__})"
        if abs(value) > MAX_INT:
            return "is too big for a 64-bit integer"
    elif affinity in ("REAL", "NUMERIC") and (isinstance(value, bool) or not isinstance(value, int | float)):
        return f"must be a number (got {type(value).__name__})"
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > MAX_FLOAT_INT:
        # /openapi.json says minimum -2^1023, maximum 2^1023 for every number column: a float beyond that
        # is refused like an integer beyond it (whose float would not be exact, or not exist)
        return "must be between -2^1023 and 2^1023"
    if affinity == "TEXT":
        if not isinstance(value, str):
            return f"must be a string (got {type(value).__name__})"
        if len(value) > MAX_TEXT:
            return f"is longer than {MAX_TEXT} characters"
    return None


def _stored(column: Column, value: Any) -> Any:
    """The value as SQLite can keep it: 3.0 for an INTEGER column is 3; an integer too big for 64 bits
    is kept as a real (as SQLite itself does with such a literal)."""
    if isinstance(value, bool) or value is None:
        return value
    if column.affinity == "INTEGER" and isinstance(value, float):
        return int(value)
    if isinstance(value, int) and abs(value) > MAX_INT:
        return float(value)
    return value


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
        # ASCII digits only: str.isdigit() also accepts '¹' or '٣', which int() then refuses.
        raw = request.path_params["id"]
        return int(raw) if _INT_ID.fullmatch(raw) else raw

    def authorize(self, request: Request, write: bool) -> None:
        needed = self.r.auth == "read" or (self.r.auth == "write" and write)
        if not needed and not (write and self.r.write_role):
            return
        principal = current_principal(self.state, request)
        request.state.principal = principal
        if principal is None:
            raise login_first(self.state)
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

    def owner(self, request: Request, by_id: bool) -> str | None:
        """The user whose rows this request may see and change; None when rows are not owned. The
        lesson's weak mode skips the check for rows asked for by id, the classic BOLA: the list is
        scoped to the caller, `/items/{id}` is not."""
        if not self.r.owner_column or self.state.auth is None:
            return None
        if by_id and self.state.auth.weak["skip_owner_check"]:
            return None
        principal = getattr(request.state, "principal", None)
        return None if principal is None else str(principal.username)

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
        raw = request.query_params.get("sort")
        if raw is None:
            return []
        keys: list[tuple[str, bool]] = []
        for part in raw.split(","):
            descending = part.startswith("-")
            column = part.removeprefix("-")
            if column not in self.r.sortable:
                allowed = ", ".join(self.r.sortable) or "nothing"
                raise ApiError(
                    400, f"cannot sort by '{part[:40]}'; sortable: {allowed} ('-' before one for descending)"
                )
            keys.append((column, descending))
        if self.r.pagination == "cursor" and len(keys) > 1:
            raise ApiError(400, "with cursor pagination, sort by one column at most")
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
        owner = self.owner(request, by_id=False)
        if owner is not None:
            where.append(f'"{self.r.owner_column}" = ?')
            args.append(owner)
        sort = self._sort(request)
        limit = _int_param(request, "limit", self.r.page_size, 1, self.r.max_page_size)
        headers: dict[str, str] = {}
        links: dict[str, str] = {}
        meta: dict[str, Any] = {"limit": limit}
        with self.state.db.connect(trace_of(request.scope)) as conn:
            table = f'"{self.r.table}"'
            id_col = f'"{self.r.id_column}"'
            if self.r.pagination == "cursor":
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

    def representation(self, conn: sqlite3.Connection, item_id: Any, owner: str | None = None) -> Any | None:
        """The body a GET of the item answers (relations embedded), or None when there is no such item
        (or, with `owner_column`, none that belongs to `owner`)."""
        mine = f' AND "{self.r.owner_column}" = ?' if owner is not None else ""
        row = conn.execute(
            f'SELECT {self.select_list()} FROM "{self.r.table}" WHERE "{self.r.id_column}" = ?{mine}',
            (item_id,) if owner is None else (item_id, owner),
        ).fetchone()
        if row is None:
            return None
        item = dict(row)
        self.embed(conn, [item])
        return item if self.version == "v1" else {"data": item}

    def _get_sync(self, request: Request) -> tuple[Any, dict[str, str]]:
        item_id = self._item_id(request)
        owner = self.owner(request, by_id=True)
        with self.state.db.connect(trace_of(request.scope)) as conn:
            payload = self.representation(conn, item_id, owner)
        if payload is None:
            raise ApiError(404, f"there is no {self.r.name} item with id {item_id}")
        return payload, {}

    @property
    def etags(self) -> bool:
        """Whether answers carry an ETag: the lesson turned validators on, or writes need If-Match."""
        caching = self.state.settings.caching
        return bool(caching and caching.etag) or self.r.require_preconditions

    async def read(self, request: Request, which: str) -> Response:
        self.authorize(request, write=False)
        require_json_acceptable(request)
        state = self.state
        caching = state.settings.caching
        trace = trace_of(request.scope)
        begin = time.perf_counter()
        key = (
            self.version,
            self.r.name,
            request.url.path,
            str(request.query_params),
            str(self.owner(request, by_id=which == "item")),
        )
        entry: CacheEntry | None = None
        hit = False
        expired = False  # an entry was there, but its TTL had run out (RFC 9211: fwd=stale)
        timing: list[str] = []
        ttl = state.cache_ttl()
        if ttl:
            with state.cache_lock:
                entry = state.cache.get(key)
                if entry is not None and entry.expires <= state.clock.now():
                    del state.cache[key]
                    entry = None
                    expired = True
            hit = entry is not None
            if trace:
                left = round(entry.expires - state.clock.now(), 3) if entry else None
                trace.add(
                    "cache", "HIT" if hit else "MISS", key=key[2] + ("?" + key[3] if key[3] else ""), ttl_left=left
                )
        loading: asyncio.Future[CacheEntry] | None = None
        collapsed = False
        if entry is None and ttl and state.single_flight():
            with state.cache_lock:
                in_flight = state.loading.get(key)
                if in_flight is None:
                    loading = state.loading[key] = asyncio.get_running_loop().create_future()
            if in_flight is not None:
                # Single flight: another request is loading this key; wait for its answer instead
                # of sending the database the same query again.
                entry = await asyncio.shield(in_flight)
                collapsed = True
                if trace:
                    trace.add("cache", "waited for the load already in flight (single flight)")
        if entry is None:
            try:
                entry = await self._load(request, which, trace, ttl)
            except ApiError as exc:
                if ttl and exc.status == 404:  # looked up, missed, and not stored: every repeat asks the database
                    exc.headers = {**exc.headers, "X-Cache": "MISS", "Cache-Status": "sandbox; fwd=miss"}
                if loading is not None:
                    with state.cache_lock:
                        state.loading.pop(key, None)
                    loading.set_exception(exc)
                    loading.exception()
                raise
            except BaseException as exc:
                if loading is not None:
                    with state.cache_lock:
                        state.loading.pop(key, None)
                    loading.set_exception(exc)
                    loading.exception()  # retrieved: the waiters re-raise it, nobody else must
                raise
            if ttl:
                with state.cache_lock:
                    state.cache[key] = entry
            if loading is not None:
                with state.cache_lock:
                    state.loading.pop(key, None)
                loading.set_result(entry)
            timing.append(f"db;dur={entry.db_ms:.2f}")
        headers = dict(entry.headers)
        if ttl:
            headers["X-Cache"] = "HIT" if hit else "MISS"
            # RFC 9211: `collapsed` marks a miss that shared another request's load (single flight).
            # `fwd=stale` marks a miss on an entry whose TTL had run out, `fwd=miss` one that was never
            # stored or was dropped by a write.
            cache_status = (
                "hit"
                if hit
                else "fwd=miss; collapsed"
                if collapsed
                else "fwd=stale; stored"
                if expired
                else "fwd=miss; stored"
            )
            headers["Cache-Status"] = f"sandbox; {cache_status}"
            if hit:  # RFC 9111 §5.1: how long ago the origin made this answer
                headers["Age"] = str(max(0, int(state.clock.now() - entry.stored)))
            timing.insert(0, f'cache;desc="{"HIT" if hit else "MISS, collapsed" if collapsed else "MISS"}"')
        if entry.missing is not None:  # a negative entry: the 404, stored or served from the cache
            timing.append(f"total;dur={(time.perf_counter() - begin) * 1000:.2f}")
            raise ApiError(404, entry.missing, headers={**headers, "Server-Timing": ", ".join(timing)})
        body = entry.body
        self.version_headers(request, headers)
        personal = self.r.auth == "read"
        if personal:  # the answer depends on who asks (RFC 9110 §12.5.5)
            headers["Vary"] = "Authorization, Cookie"
        status = 200
        cache_control = state.cache_control(self.r) if caching else None
        if cache_control:
            headers["Cache-Control"] = personal_cache_control(cache_control) if personal else cache_control
        elif personal:
            headers["Cache-Control"] = "private, no-cache"
        if caching or self.etags:
            etag = etag_of(body) if self.etags else None
            last_modified = state.last_modified(self.r.table) if caching and caching.last_modified else None
            if etag:
                headers["ETag"] = etag
            if last_modified:
                headers["Last-Modified"] = formatdate(last_modified, usegmt=True)
            check_read(request.headers, etag=etag, last_modified=last_modified, what=request.url.path)
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
        negative = self.state.negative_ttl() if which == "item" else None
        try:
            payload, headers = await run_in_threadpool(sync, request)
        except ApiError as exc:
            if negative is None or exc.status != 404:
                raise
            # Negative caching: the miss is stored too, for its own (short) time, so a flood of unknown ids
            # reaches the database once per id and TTL instead of once per request.
            stored = self.state.clock.now()
            db_ms = (time.perf_counter() - db_begin) * 1000
            if trace:
                trace.add("cache", f"stored the 404 for {negative:g} s (a negative entry)")
            return CacheEntry(b"", {}, stored, stored + negative, db_ms, missing=exc.detail)
        db_ms = (time.perf_counter() - db_begin) * 1000
        stored = self.state.clock.now()
        return CacheEntry(dumps(payload), headers, stored, stored + ttl if ttl else stored, db_ms)

    def version_headers(self, request: Request, headers: dict[str, str]) -> None:
        settings = self.state.settings
        add_version_headers(
            headers,
            version=self.version,
            versions=list(settings.versions),
            path=request.url.path,
            started=self.state.started,
            sunset_after_days=settings.sunset_after_days,
        )

    # -- writes ----------------------------------------------------------------------------------
    def required_fields(self, columns: dict[str, Column]) -> list[str]:
        """What a POST and a PUT must send: the resource's `required`, and every NOT NULL column with no
        default (an INTEGER PRIMARY KEY is given by the database)."""
        required = list(self.r.required)
        for column in columns.values():
            auto = column.pk and column.affinity == "INTEGER"
            if column.notnull and not column.has_default and not auto and column.name not in required:
                required.append(column.name)
        return required

    def _validate(self, conn: sqlite3.Connection, data: Any, mode: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ApiError(422, f"send a JSON object (got {type(data).__name__})")
        columns = {c.name: c for c in Database.columns(conn, self.r.table)}
        writable = self.writable_columns(columns)
        required = self.required_fields(columns)
        errors = []
        for name, value in data.items():
            column = columns.get(name)
            if column is None or (name not in writable and name != self.r.id_column):
                errors.append({"field": name, "message": f"unknown field; known: {', '.join(writable)}"})
                continue
            problem = _check_value(column, value)
            if problem is None and value is None and name in required:
                problem = "is required and must not be null"
            if problem:
                errors.append({"field": name, "message": problem})
            else:
                data[name] = _stored(column, value)
        if mode in ("create", "replace"):
            for name in required:
                if name not in data and not (mode == "replace" and name == self.r.id_column):
                    errors.append({"field": name, "message": "is required"})
        if mode != "create" and self.r.id_column in data:
            errors.append(
                {"field": self.r.id_column, "message": "the id is the URL's: leave it out of the body, even unchanged"}
            )
        if errors:
            raise ApiError(422, "the body breaks the rules of this resource", errors=errors)
        return data

    def writable_columns(self, columns: dict[str, Column]) -> list[str]:
        """The fields a client may send: the resource's `fields` (or every column), the id included."""
        if self.r.fields:
            return [c for c in dict.fromkeys([self.r.id_column, *self.r.fields]) if c in columns]
        return list(columns)

    def _integrity(self, exc: sqlite3.IntegrityError) -> ApiError:
        """The database's refusal in the API's words: which rule, never SQLite's own message (an error
        body names no tables, SQL or library internals)."""
        message = str(exc)
        if "UNIQUE" in message or "PRIMARY KEY" in message:
            # SQLite says "UNIQUE constraint failed: books.title" (or "books.a, books.b").
            columns = [c.strip().rpartition(".")[2] for c in message.partition(":")[2].split(",") if c.strip()]
            what = " and ".join(columns) if columns else "a unique value"
            return ApiError(409, f"conflicts with an existing {self.r.name} item: another one has the same {what}")
        if "FOREIGN KEY" in message:
            # The body is well formed; what it points at does not exist now (RFC 9110 §15.5.10).
            return ApiError(
                409,
                "it points at something that does not exist: a field that refers to another table names no row there",
            )
        return ApiError(422, "the database refused it: a value breaks a rule of the table")

    def _write_sync(self, request: Request, data: Any, mode: str) -> tuple[int, Any, dict[str, str]]:
        """One write in one transaction: for an item, check it exists (404), then the preconditions
        (412/428), then change it; answer with the item as a GET would show it, and its ETag."""
        table, id_col = f'"{self.r.table}"', f'"{self.r.id_column}"'
        item_id: Any
        owner = self.owner(request, by_id=mode != "create")
        mine, mine_args = (f' AND "{self.r.owner_column}" = ?', [owner]) if owner is not None else ("", [])
        # Preconditions are read and the write is made in one transaction, so nothing changes the item
        # in between. Without any, the write is one statement, as before: no transaction around it.
        conditional = mode != "create" and (
            self.r.require_preconditions or any(h in request.headers for h in PRECONDITION_HEADERS)
        )
        with self.state.db.connect(trace_of(request.scope)) as conn:
            if conditional:
                conn.execute("BEGIN IMMEDIATE")
            try:
                if mode != "create":
                    item_id = self._item_id(request)
                if conditional:
                    current = self.representation(conn, item_id, owner)
                    if current is None:
                        raise ApiError(404, f"there is no {self.r.name} item with id {item_id}")
                    check_write(
                        request.headers,
                        etag=etag_of(dumps(current)),
                        last_modified=self.state.last_modified(self.r.table),
                        required=self.r.require_preconditions,
                        what=f"{self.r.name} item {item_id}",
                    )
                if mode == "delete":
                    cursor = conn.execute(f"DELETE FROM {table} WHERE {id_col} = ?{mine}", (item_id, *mine_args))
                    if cursor.rowcount == 0:
                        raise ApiError(404, f"there is no {self.r.name} item with id {item_id}")
                    if conditional:
                        conn.execute("COMMIT")
                    return 204, None, {}
                if owner is not None and isinstance(data, dict):
                    if data.get(self.r.owner_column, owner) != owner:
                        raise ApiError(403, f"'{owner}' may not give rows to another user")
                    if mode in ("create", "replace"):
                        data = {**data, str(self.r.owner_column): owner}
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
                    item_id = values.get(self.r.id_column)
                    if item_id is None:  # not sent, or sent as null: the database picked it
                        item_id = cursor.lastrowid
                else:
                    sets, args = self._assignments(conn, values, replace=mode == "replace")
                    if sets:
                        cursor = conn.execute(
                            f"UPDATE {table} SET {sets} WHERE {id_col} = ?{mine}", [*args, item_id, *mine_args]
                        )
                        found = cursor.rowcount > 0
                    else:
                        found = conn.execute(
                            f"SELECT 1 FROM {table} WHERE {id_col} = ?{mine}", (item_id, *mine_args)
                        ).fetchone()
                    if not found:
                        raise ApiError(404, f"there is no {self.r.name} item with id {item_id}")
                payload = self.representation(conn, item_id)
                if conditional:
                    conn.execute("COMMIT")
            except sqlite3.IntegrityError as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise self._integrity(exc) from exc
            except (OverflowError, sqlite3.InterfaceError) as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise ApiError(422, f"a value cannot be stored: {exc}") from exc
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        headers = {"Location": f"{self.base}/{item_id}"} if mode == "create" else {}
        if self.etags and payload is not None:
            headers["ETag"] = etag_of(dumps(payload))
        return (201 if mode == "create" else 200), payload, headers

    def _assignments(self, conn: sqlite3.Connection, values: dict[str, Any], *, replace: bool) -> tuple[str, list[Any]]:
        """`SET` clause and its arguments. PATCH changes what was sent; PUT replaces the whole item
        (RFC 9110 §9.3.4): a field not sent goes back to the column's default, or NULL."""
        if not replace:
            return ", ".join(f'"{k}" = ?' for k in values), list(values.values())
        columns = {c.name: c for c in Database.columns(conn, self.r.table)}
        parts: list[str] = []
        args: list[Any] = []
        for name in self.writable_columns(columns):
            if name == self.r.id_column:
                continue
            if name in values:
                parts.append(f'"{name}" = ?')
                args.append(values[name])
            else:  # the default's expression comes from the lesson's own schema, not from the request
                parts.append(f'"{name}" = {columns[name].default or "NULL"}')
        return ", ".join(parts), args

    async def write(self, request: Request, mode: str) -> Response:
        if not self.r.writable:
            allow = "GET, HEAD"
            raise ApiError(405, f"{self.r.name} is read-only in this lesson", headers={"Allow": allow})
        self.authorize(request, write=True)
        require_json_acceptable(request)
        data = await read_json(request) if mode != "delete" else None
        state = self.state
        idem: IdempotentResult | None = None
        key = request.headers.get("idempotency-key") if state.settings.idempotency_keys and mode == "create" else None
        if key is not None:
            if not key.strip() or len(key) > 255:
                raise ApiError(400, "Idempotency-Key must be 1 to 255 characters")
            # The request as JSON means it: a JSON object's members have no order (RFC 8259 §4), so a
            # retry that serialises the same object in another order is the same request.
            canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
            fingerprint = hashlib.sha256(request.url.path.encode() + b"\0" + canonical).hexdigest()
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
        state.last_write[self.r.table] = state.clock.now()
        if mode != "create" or state.invalidate_on_create():
            state.invalidate(self.r.name)
        if state.jobs is not None or state.webhooks is not None:  # the lesson's jobs and events of this write
            await run_in_threadpool(
                state.written,
                self.r.name,
                mode,
                payload,
                request.path_params.get("id"),
                request.headers.get("x-request-id"),
            )
        body = dumps(payload) if payload is not None else b""
        if key is not None:
            state.idempotency[key] = IdempotentResult(
                state.idempotency[key].fingerprint, status, body, headers, done=True
            )
        headers = dict(headers)
        self.version_headers(request, headers)
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

        # A read-only resource routes no write method, so a 405's Allow header lists exactly what works.
        writes = self.r.writable
        return [
            Route(self.base, collection, methods=["GET", "HEAD", *(["POST"] if writes else [])]),
            Route(self.base + "/{id}", item, methods=["GET", "HEAD", *(["PUT", "PATCH", "DELETE"] if writes else [])]),
        ]
