"""The sandbox API, built from a lesson's `sandboxes.api` settings.

It is a Starlette app (the ASGI toolkit FastAPI is built on). Every route is generated from the
settings, so FastAPI's signature-driven validation and schema have nothing to work on, and importing
FastAPI costs ~320 ms on the project's machines, more than the whole 0.3 s start-up budget. The OpenAPI
document is generated here from the same settings; `/docs` is a self-contained page (no CDN).

Layers, outside in: traffic recorder (sees everything, 500s included) -> Date from the lesson clock
-> rate limiter -> routes. Where each behaviour lives:

- `state`: everything the API remembers, its snapshot, and the lesson clock
- `resources`: /v1|v2/{resource}[/{id}]: reads, writes, pages, sorting, filters, relations
- `caching`: ETag, Last-Modified, Cache-Control, 304s and the application cache
- `conditional`: If-Match / If-Unmodified-Since on writes (412) and required preconditions (428)
- `versions`: Deprecation, Sunset and the successor link of an old version
- `ratelimit`: the token bucket and its RateLimit headers
- `auth` (accounts, tokens) and `auth_routes` (/auth/*); `password_reset` (/auth/password-reset, the
  mailbox); `mfa` (a second factor after the password)
- `edge`: a shared cache at /edge/... (Vary, cache keys) and /v1/home behind it
- `controls`: /_sandbox/relations, /_sandbox/caching, /_sandbox/clock, /_sandbox/auth, and the Date header
- `cors`: CORS headers and preflights, /_sandbox/cors, and the old paths of `redirects`
- `problems`: errors as problem+json; `openapi`: the /openapi.json document
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from sandboxes.api.auth import bearer_challenge
from sandboxes.api.auth_routes import auth_routes
from sandboxes.api.controls import DateMiddleware, caching_routes, clock_routes, relation_routes, weak_auth_routes
from sandboxes.api.jsonio import JSON, dumps, json_response
from sandboxes.api.logs import RequestLog
from sandboxes.api.problems import ApiError, problem_response
from sandboxes.api.ratelimit import RateLimitMiddleware
from sandboxes.api.recorder import ASGIApp, Receive, RecorderMiddleware, Scope, Send, TrafficRecorder, trace_of
from sandboxes.api.resources import ResourceApi
from sandboxes.api.state import State
from tutor.pack.sandbox_api import ApiSettings


# -- the app -------------------------------------------------------------------------------------
class SandboxApp:
    """The ASGI app the server runs, with a handle on its shared state (caches, accounts)."""

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


METHOD_ORDER = {m: i for i, m in enumerate(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))}


def build_app(
    settings: ApiSettings,
    *,
    database: Path | None = None,
    recorder: TrafficRecorder | None = None,
    tracing: bool = True,
    log: RequestLog | None = None,
) -> SandboxApp:
    """The whole sandbox app; wrapped in the traffic recorder when `recorder` is given (`tracing`:
    whether each exchange also gets the events inside it). `log`: the request log of a lesson with `logs`,
    written a line per exchange the recorder keeps."""
    from sandboxes.api import openapi

    state = State(settings, database)
    state.log = log
    if settings.upstreams:
        from sandboxes.api.upstream import UpstreamHub

        state.upstreams = UpstreamHub(settings.upstreams, state.clock, state.started, state.lock)
        if settings.logs is not None and settings.logs.upstreams:
            state.upstreams.log = log
    routes: list[Route] = []
    if settings.edge is not None:
        from sandboxes.api.edge import Edge, edge_routes

        state.edge = Edge(settings.edge)
        routes.extend(edge_routes(state))
    for version in settings.versions:
        for resource in settings.resources:
            routes.extend(ResourceApi(state, resource, version).routes())
    if state.auth is not None:
        plain = auth_routes(state)
        if state.mfa is not None:  # its /auth/login comes first: a second step for the accounts with a factor
            from sandboxes.api.mfa import mfa_routes

            login = next(r.endpoint for r in plain if r.path == "/auth/login")
            routes.extend(mfa_routes(state, login))
        routes.extend(plain)
    if state.password_reset is not None:
        from sandboxes.api.password_reset import reset_routes

        routes.extend(reset_routes(state))
    controls = relation_routes(state)
    routes.extend(controls)
    weak_controls = weak_auth_routes(state)
    routes.extend(weak_controls)
    routes.extend(clock_routes(state))
    cache_controls = caching_routes(state)
    routes.extend(cache_controls)
    background: list[Route] = []
    if settings.jobs is not None or settings.webhooks is not None:
        from sandboxes.api.background import job_routes, webhook_routes

        if settings.webhooks is not None:
            from sandboxes.api.webhooks import WebhookHub

            state.webhooks = WebhookHub(settings.webhooks, state.clock, state.lock)
            if settings.logs is not None and settings.logs.background:
                state.webhooks.log = log
        if settings.jobs is not None:
            from sandboxes.api.jobs import JobQueue

            state.jobs = JobQueue(settings.jobs, state)
            if settings.logs is not None and settings.logs.background:
                state.jobs.log = log
            state.jobs.create_table()
        background = job_routes(state) + webhook_routes(state)
        routes.extend(background)
    cors_controls: list[Route] = []
    if settings.cors is not None or settings.redirects:
        from sandboxes.api.cors import CorsPolicy, cors_routes

        if settings.cors is not None:
            state.cors = CorsPolicy(settings.cors)
        cors_controls = cors_routes(state)
        routes.extend(cors_controls)
    upstream_controls: list[Route] = []
    if state.upstreams is not None:
        from sandboxes.api.upstream_routes import upstream_routes

        upstream_controls = upstream_routes(state)
        routes.extend(upstream_controls)

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
            if state.password_reset is not None:
                body["auth"] += ["/auth/password-reset", "/auth/password-reset/confirm", "/auth/mailbox"]
            if state.mfa is not None:
                body["auth"] += ["/auth/mfa/verify"]
            # what every access token's exp - iat is (the login's expires_in says the same)
            body["access_ttl_seconds"] = state.auth.settings.access_ttl_seconds
            weak_modes = state.weak_auth_modes()
            if weak_modes:
                body["weak_auth_modes"] = weak_modes
        body["sandbox_controls"] = [
            "/_sandbox/clock",
            *(["/_sandbox/relations"] if controls else []),
            *(["/_sandbox/auth"] if weak_controls else []),
            *(["/_sandbox/password-reset"] if any(r.path == "/_sandbox/password-reset" for r in routes) else []),
            *(["/_sandbox/mfa/device"] if state.mfa is not None else []),
            *(["/_sandbox/mfa"] if any(r.path == "/_sandbox/mfa" for r in routes) else []),
            *(["/_sandbox/caching"] if cache_controls else []),
            *(["/_sandbox/upstreams"] if upstream_controls else []),
            *(["/_sandbox/jobs"] if state.jobs is not None else []),
            *(["/_sandbox/webhooks"] if state.webhooks is not None else []),
            *(["/_sandbox/cors"] if cors_controls else []),
            *(["/_sandbox/edge"] if state.edge is not None else []),
        ]
        if state.edge is not None:
            body["edge"] = "/edge/... is a shared cache in front of this API: /edge/v1/home is /v1/home through it"
        if state.upstreams is not None:
            body["upstreams"] = {
                u.name: {"url": state.upstreams.urls.get(u.name), **({"route": u.route} if u.route else {})}
                for u in settings.upstreams
            }
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
        headers = dict(exc.headers)
        if exc.status == 401 and "WWW-Authenticate" not in headers:
            headers["WWW-Authenticate"] = bearer_challenge()  # RFC 9110 §11.6.1: every 401 has a challenge
        return problem_response(
            exc.status,
            exc.detail,
            instance=request.url.path,
            problem_json=settings.problem_json,
            headers=headers,
            errors=exc.errors,
            title=exc.title,
            members=exc.members,
        )

    def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        detail = exc.detail
        headers = dict(exc.headers or {})
        if exc.status_code == 404:
            detail = f"nothing at {request.url.path[:200]}; see /docs for what this sandbox serves"
        elif exc.status_code == 405:
            # Starlette lists the methods from a set, in a different order in every process.
            methods = {m.strip() for m in headers.get("Allow", "").split(",") if m.strip()}
            headers["Allow"] = ", ".join(sorted(methods, key=lambda m: (METHOD_ORDER.get(m, 99), m)))
            detail = f"{request.method} is not allowed on {request.url.path[:200]}; it allows {headers['Allow']}"
        return problem_response(
            exc.status_code,
            str(detail),
            instance=request.url.path,
            problem_json=settings.problem_json,
            headers=headers,
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
    if settings.redirects:
        from sandboxes.api.cors import RedirectMiddleware

        outer = RedirectMiddleware(outer, state)
    if background:
        from sandboxes.api.background import BackgroundMiddleware

        outer = BackgroundMiddleware(outer, state)
    if settings.rate_limit is not None:
        outer = RateLimitMiddleware(
            outer, state, settings.rate_limit.capacity, settings.rate_limit.refill_per_second, settings.problem_json
        )
    if state.cors is not None:
        from sandboxes.api.cors import CorsMiddleware

        outer = CorsMiddleware(outer, state)
    if state.edge is not None:  # in front of the rate limit, as a CDN is: a hit never reaches the API
        from sandboxes.api.edge import EdgeMiddleware

        outer = EdgeMiddleware(outer, state)
    outer = DateMiddleware(outer, state)
    if recorder is not None:
        outer = RecorderMiddleware(
            outer, recorder, tracing=tracing, clock=state.clock.now, request_ids=settings.logs is not None
        )
        if log is not None:
            recorder.subscribe(log.write_exchange)
            recorder.log_path = log.path
    return SandboxApp(outer, state)
