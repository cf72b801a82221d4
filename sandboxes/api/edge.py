"""A shared cache in front of the API, as a CDN's edge would be, at `/edge/...`, and `GET /v1/home` behind it.

The edge stores and reuses answers as RFC 9111 has a shared cache do, in a subset: it keys on the method,
the host and the URL (§2), adds the request headers a stored answer's `Vary` names (§4.1), keeps an answer
for its `s-maxage` or `max-age` on the lesson clock (§4.2.1; no heuristic freshness), never stores
`private`, `no-store`, `no-cache` or `Vary: *` answers, nor one to a request with `Authorization` unless
the answer allows it (§3.5), and drops a URL's answers after an unsafe request to it succeeds (§4.4).
Each answer through it says what it did in `Cache-Status` (RFC 9211) with the key it used.

`GET /v1/home` is a start page whose greeting follows `Accept-Language` (named in its `Vary`) and whose
links are absolute URLs. With `forwarded_host: trusted` it builds them from `X-Forwarded-Host`, a header the
edge does not key on: one request with that header poisons the stored page for everyone (the deliberately
unsafe mode of a cache-poisoning lesson). `vary` names the header in `Vary` too; `ignored` uses the API's
own address."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandboxes.api.jsonio import json_response, read_json
from sandboxes.api.problems import ApiError
from sandboxes.api.recorder import ASGIApp, Receive, Scope, Send, trace_of
from tutor.pack.sandbox_api import EdgeCache

PREFIX = "/edge"
MAX_BODY = 1 << 20
MODES = {
    "trusted": "links are built from X-Forwarded-Host, which the edge does not key on: one request poisons the page",
    "vary": "links follow X-Forwarded-Host, and Vary names it: each value gets its own stored copy",
    "ignored": "links are built from the API's own address; X-Forwarded-Host changes nothing",
}
GREETINGS = {
    "en": "Welcome to the bookshop",
    "fr": "Bienvenue à la librairie",
    "de": "Willkommen in der Buchhandlung",
}
RECENT = 20
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?")
_UNSAFE_TEXT = re.compile(r'[^\x20-\x7e]|["\\]')


@dataclass
class EdgeEntry:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    vary: dict[str, str | None]
    """Each header the answer's Vary names -> its value in the request that stored it (None: absent)."""
    stored: float
    expires: float
    key: str
    initial_age: int = 0
    """The Age the answer came with (RFC 9111 §4.2.3): a hit reports it plus the time since it was stored."""


@dataclass
class Edge:
    """What the edge remembers: its stored answers by URL, and the route's mode as the learner switched it."""

    settings: EdgeCache
    memory: dict[str, Any] = field(default_factory=lambda: {"entries": {}, "switch": {}})

    def mode(self) -> str:
        return str(self.memory["switch"].get("forwarded_host", self.settings.forwarded_host))

    def count(self) -> int:
        return sum(len(v) for v in self.memory["entries"].values())


# -- keys and Cache-Control ----------------------------------------------------------------------
def _header(scope: Scope, name: str) -> str | None:
    """A request header's value as the cache compares it (RFC 9111 §4.1): several lines combined, the
    whitespace around commas dropped; None when the request has none."""
    wanted = name.lower().encode("latin-1")
    values = [v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == wanted]
    if not values:
        return None
    return ",".join(part.strip() for value in values for part in value.split(","))


def url_key(scope: Scope, path: str) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    server = scope.get("server") or ("127.0.0.1", 0)
    host = _header(scope, "host") or f"{server[0]}:{server[1]}"
    return f"http://{host}{path}" + (f"?{query}" if query else "")


def _path_of(url: str) -> str:
    """The path of a stored URL (`http://host/v1/home?cb=1` -> `/v1/home`)."""
    return "/" + url.split("://", 1)[-1].partition("/")[2].partition("?")[0]


def directives(headers: list[tuple[bytes, bytes]]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for k, v in headers:
        if k.lower() != b"cache-control":
            continue
        for part in v.decode("latin-1").split(","):
            name, eq, value = part.strip().partition("=")
            if name:
                found.setdefault(name.strip().lower(), value.strip().strip('"') if eq else None)
    return found


def vary_names(headers: list[tuple[bytes, bytes]]) -> list[str]:
    names: list[str] = []
    for k, v in headers:
        if k.lower() == b"vary":
            names += [n.strip().lower() for n in v.decode("latin-1").split(",") if n.strip()]
    return names


def freshness(status: int, headers: list[tuple[bytes, bytes]], authorized: bool) -> float | None:
    """Seconds a shared cache may keep this answer (RFC 9111 §3, §4.2.1), or None: not stored."""
    if status < 200 or status in (206, 304):
        return None
    cc = directives(headers)
    if {"no-store", "private"} & cc.keys() or ("no-cache" in cc and cc["no-cache"] is None):
        return None
    if "*" in vary_names(headers):
        return None
    if authorized and not {"public", "s-maxage", "must-revalidate"} & cc.keys():
        return None  # §3.5: an answer to a request with credentials stays out of a shared cache
    for name in ("s-maxage", "max-age"):
        value = cc.get(name)
        if value is not None and value.isdigit():
            lifetime = int(value)
            lifetime -= _age(headers)
            return float(lifetime) if lifetime > 0 else None
    return None


def _age(headers: list[tuple[bytes, bytes]]) -> int:
    value = next((v for k, v in headers if k.lower() == b"age"), b"0").decode("latin-1").strip()
    return int(value) if value.isdigit() else 0


def _sf_string(text: str) -> str:
    """An RFC 9651 string: printable ASCII, with `"` and `\\` escaped."""
    return '"' + _UNSAFE_TEXT.sub(lambda m: "\\" + m.group() if m.group() in '"\\' else "?", text[:300]) + '"'


def shown_key(method: str, url: str, vary: dict[str, str | None]) -> str:
    parts = [f"{method} {url}"] + [f"{name}={value if value is not None else '(none)'}" for name, value in vary.items()]
    return "; ".join(parts)


def _without(headers: list[tuple[bytes, bytes]], *names: bytes) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in headers if k.lower() not in names]


def _with_status(headers: list[tuple[bytes, bytes]], member: str) -> list[tuple[bytes, bytes]]:
    """RFC 9211 §2: each cache adds its member after those of the caches nearer the origin."""
    before = [v.decode("latin-1") for k, v in headers if k.lower() == b"cache-status"]
    value = ", ".join([*before, member])
    return [*_without(headers, b"cache-status"), (b"cache-status", value.encode("latin-1"))]


def _selected(scope: Scope, entry: EdgeEntry) -> bool:
    """Whether the request's values of the headers the entry's Vary names equal those that stored it (§4.1)."""
    return all(_header(scope, name) == value for name, value in entry.vary.items())


def _host_of(url: str) -> str:
    return url.split("://", 1)[-1].partition("/")[0].lower()


def poisoned(url: str, entry: EdgeEntry) -> bool:
    """A stored start page a visitor without X-Forwarded-Host is served, whose links point at another host than
    the one the visitor asked for."""
    if _path_of(url) != "/v1/home" or entry.status != 200 or entry.vary.get("x-forwarded-host") is not None:
        return False
    try:
        link = json.loads(entry.body)["links"]["self"]
    except (ValueError, KeyError, TypeError):
        return False
    return not isinstance(link, str) or _host_of(link) != _host_of(url)


# -- the edge ------------------------------------------------------------------------------------
class EdgeMiddleware:
    """Serves `/edge/...` from its store, or forwards it to the API (`/...`) and stores what may be kept."""

    def __init__(self, app: ASGIApp, state: Any) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        edge: Edge = self.state.edge
        inner_path = path[len(PREFIX) :] or "/"
        raw = scope.get("raw_path")
        inner = {**scope, "path": inner_path, "raw_path": (raw[len(PREFIX) :] or b"/") if raw else None}
        method = scope["method"]
        url = url_key(scope, inner_path)
        trace = trace_of(scope)
        if method not in ("GET", "HEAD"):
            status = await self._forward(inner, receive, send, member=None)
            if 200 <= status < 400:  # RFC 9111 §4.4: an unsafe request that succeeded invalidates the URL
                with self.state.lock:
                    edge.memory["entries"].pop(url, None)
            return
        now = self.state.clock.now()
        with self.state.lock:
            variants: list[EdgeEntry] = edge.memory["entries"].get(url, [])
            fresh = [e for e in variants if e.expires > now]
            had_stale = len(fresh) < len(variants)
            if had_stale:
                edge.memory["entries"][url] = fresh
            hit = next((e for e in fresh if _selected(scope, e)), None)
            # RFC 9211 §2.2: `stale` when the answer this request selects has expired, `vary-miss` when the URL
            # has answers but none for this request's values of the Vary'd headers
            stale_selected = any(_selected(scope, e) for e in variants if e.expires <= now)
        if hit is not None:
            age = hit.initial_age + max(0, int(now - hit.stored))
            ttl = max(0, math.ceil(hit.expires - now))
            headers = _without(hit.headers, b"age", b"date")
            member = f"edge; hit; ttl={ttl}; key={_sf_string(hit.key)}"
            headers = _with_status([*headers, (b"age", str(age).encode())], member)
            if trace:
                trace.add("cache", "edge HIT", key=hit.key, age=age)
            await send({"type": "http.response.start", "status": hit.status, "headers": headers})
            await send({"type": "http.response.body", "body": b"" if method == "HEAD" else hit.body})
            return
        why = "stale" if stale_selected else "vary-miss" if variants else "uri-miss"
        if trace:
            trace.add("cache", f"edge MISS ({why})", key=url)
        await self._forward(inner, receive, send, member=why, url=url, store=method == "GET")

    async def _forward(
        self, scope: Scope, receive: Receive, send: Send, *, member: str | None, url: str = "", store: bool = False
    ) -> int:
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        status = int(start.get("status", 500))
        headers: list[tuple[bytes, bytes]] = list(start.get("headers", []))
        body = b"".join(chunks)
        if member is not None:
            edge: Edge = self.state.edge
            lifetime = freshness(status, headers, _header(scope, "authorization") is not None)
            stored = store and lifetime is not None and len(body) <= MAX_BODY
            vary = {name: _header(scope, name) for name in vary_names(headers)}
            key = shown_key(scope["method"], url, vary)
            if stored and lifetime is not None:
                now = self.state.clock.now()
                entry = EdgeEntry(
                    status, _without(headers, b"cache-status"), body, vary, now, now + lifetime, key, _age(headers)
                )
                with self.state.lock:
                    entries: dict[str, list[EdgeEntry]] = edge.memory["entries"]
                    kept = [e for e in entries.get(url, []) if e.vary != vary]
                    entries[url] = [*kept, entry]
                    while edge.count() > edge.settings.max_entries:
                        oldest = min((e.stored, u) for u, es in entries.items() for e in es)[1]
                        entries[oldest] = entries[oldest][1:]
                        if not entries[oldest]:
                            del entries[oldest]
            member_text = f"edge; fwd={member}" + ("; stored" if stored else "") + f"; key={_sf_string(key)}"
            headers = _with_status(headers, member_text)
        await send({**start, "type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return status


# -- GET /v1/home ----------------------------------------------------------------------------------
def language(header: str | None) -> str:
    """The first language of `Accept-Language` (by q, then order) that the page has; English otherwise."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((header or "").split(",")):
        tag, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag and q > 0:
            ranked.append((-q, i, tag.lower()))
    for _, _, tag in sorted(ranked):
        primary = tag.split("-")[0]
        if primary in GREETINGS:
            return primary
        if tag == "*":
            return "en"
    return "en"


def edge_routes(state: Any) -> list[Route]:
    edge: Edge | None = state.edge
    if edge is None:
        return []
    settings = edge.settings

    async def home(request: Request) -> Response:
        mode = edge.mode()
        server = request.scope.get("server") or ("127.0.0.1", 0)
        own = f"{server[0]}:{server[1]}"
        host = own
        if mode != "ignored":
            # a host name and a port, as a framework behind a proxy would take it; anything else is not one
            forwarded = (request.headers.get("x-forwarded-host") or "").split(",")[0].strip()
            given = request.headers.get("host", "")
            host = next((h for h in (forwarded, given) if len(h) <= 200 and _HOST.fullmatch(h)), own)
        lang = language(request.headers.get("accept-language"))
        links = {"self": f"http://{host}/v1/home"}
        links.update({r.name: f"http://{host}/v1/{r.name}" for r in state.settings.resources})
        headers = {
            "Cache-Control": f"public, max-age={settings.max_age}",
            "Vary": "Accept-Language, X-Forwarded-Host" if mode == "vary" else "Accept-Language",
            "Content-Language": lang,
        }
        trace = trace_of(request.scope)
        if trace:
            trace.add("handler", f"home page in {lang}, links to {host[:60]} (forwarded_host: {mode})")
        return json_response({"greeting": GREETINGS[lang], "language": lang, "links": links}, headers=headers)

    def describe(request: Request) -> dict[str, Any]:
        now = state.clock.now()
        with state.lock:
            everything = [e for es in edge.memory["entries"].values() for e in es]
            bad = sum(poisoned(u, e) for u, es in edge.memory["entries"].items() for e in es if e.expires > now)
        everything.sort(key=lambda e: e.stored)
        data: dict[str, Any] = {
            "forwarded_host": edge.mode(),
            "modes": MODES,
            "stored": len(everything),
            "poisoned": bad,
            "entries": [
                {
                    "key": e.key,
                    "status": e.status,
                    "age": max(0, int(now - e.stored)),
                    "ttl_left": max(0, int(e.expires - now)),
                    "vary": e.vary,
                }
                for e in everything[-RECENT:]
            ],
            "purge": "DELETE /_sandbox/edge empties the edge; ?path=/v1/home drops that path's answers (any query)",
        }
        if settings.switchable:
            data["change"] = 'PUT /_sandbox/edge with {"forwarded_host": "ignored"} (or "vary", "trusted")'
        return data

    async def control(request: Request) -> Response:
        trace = trace_of(request.scope)
        if request.method == "DELETE":
            only = request.query_params.get("path")
            if only is not None:  # the API's path, or the same through the edge
                only = "/" + only.lstrip("/")
                only = only[len(PREFIX) :] or "/" if only == PREFIX or only.startswith(PREFIX + "/") else only
            with state.lock:
                entries: dict[str, list[EdgeEntry]] = edge.memory["entries"]
                chosen = [u for u in entries if only is None or _path_of(u) == only]
                emptied = sum(len(entries.pop(u)) for u in chosen)
            if trace:
                trace.add("handler", f"the edge was purged ({emptied} answers)")
            return json_response({**describe(request), "emptied": emptied})
        if request.method == "PUT":
            if not settings.switchable:
                raise ApiError(403, "the home page's handling of X-Forwarded-Host is fixed in this lesson")
            data = await read_json(request)
            if not isinstance(data, dict) or not data:
                raise ApiError(422, 'send {"forwarded_host": "ignored"} (or "vary", "trusted")')
            errors = [
                {"field": str(k)[:40], "message": "unknown; use forwarded_host"} for k in data if k != "forwarded_host"
            ]
            mode = data.get("forwarded_host")
            if "forwarded_host" in data and not (isinstance(mode, str) and mode in MODES):
                errors.append({"field": "forwarded_host", "message": "must be trusted, vary or ignored"})
            if errors:
                raise ApiError(422, "the edge was not changed", errors=errors)
            with state.lock:
                edge.memory["switch"]["forwarded_host"] = data["forwarded_host"]
            if trace:
                trace.add("handler", f"forwarded_host is now {data['forwarded_host']}; stored answers stay")
        return json_response(describe(request))

    return [
        Route("/v1/home", home, methods=["GET", "HEAD"]),
        Route("/_sandbox/edge", control, methods=["GET", "HEAD", "PUT", "DELETE"]),
    ]


# -- /openapi.json ---------------------------------------------------------------------------------
def edge_paths(settings: EdgeCache, bad_body: dict[str, Any]) -> dict[str, Any]:
    tag = ["sandbox controls"]
    text = {"type": "string"}
    home = {
        "type": "object",
        "required": ["greeting", "language", "links"],
        "properties": {
            "greeting": text,
            "language": {"enum": sorted(GREETINGS)},
            "links": {"type": "object", "additionalProperties": text},
        },
    }
    now = {
        "type": "object",
        "required": ["forwarded_host", "stored", "entries"],
        "properties": {
            "forwarded_host": {"enum": list(MODES)},
            "stored": {"type": "integer"},
            "entries": {"type": "array", "items": {"type": "object"}},
            "emptied": {"type": "integer"},
            "poisoned": {"type": "integer"},
        },
    }
    header = {"schema": {"type": "string"}, "required": False}
    answer = {"application/json": {"schema": now}}
    put_responses: dict[str, Any] = {"200": {"description": "Changed", "content": answer}}
    put_responses.update({k: v for k, v in bad_body.items() if k != "429"})
    put_responses["403"] = {"description": "The mode is fixed in this lesson"}
    return {
        "/v1/home": {
            "get": {
                "summary": "The start page: its greeting by Accept-Language, its links' host by forwarded_host",
                "parameters": [
                    {"name": "Accept-Language", "in": "header", **header},
                    {"name": "X-Forwarded-Host", "in": "header", **header},
                ],
                "responses": {"200": {"description": "The page", "content": {"application/json": {"schema": home}}}},
            }
        },
        "/_sandbox/edge": {
            "get": {
                "summary": "The shared cache at /edge/...: what it stores, and how /v1/home treats X-Forwarded-Host",
                "tags": tag,
                "responses": {"200": {"description": "The edge now", "content": {"application/json": {"schema": now}}}},
            },
            "put": {
                "summary": "Change how /v1/home treats X-Forwarded-Host (stands in for the code change)",
                "tags": tag,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["forwarded_host"],
                                "properties": {"forwarded_host": {"enum": list(MODES)}},
                                "additionalProperties": False,
                            }
                        }
                    },
                },
                "responses": put_responses,
            },
            "delete": {
                "summary": "Purge the edge, or with ?path= one path's stored answers",
                "tags": tag,
                "parameters": [{"name": "path", "in": "query", "required": False, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "Purged; `emptied` says how many", "content": answer}},
            },
        },
    }
