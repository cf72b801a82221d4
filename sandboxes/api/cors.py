"""CORS (the Fetch standard's CORS protocol) and redirects (RFC 9110 §15.4), from `sandboxes.api.cors` and
`sandboxes.api.redirects`.

CORS is headers the API sends and a browser obeys: a preflight (`OPTIONS` with `Origin` and
`Access-Control-Request-Method`) is answered here, 204 with what is allowed, and every other request
that carries an `Origin` gets `Access-Control-Allow-Origin` when its origin may read the answer. Every
answer that depends on the Origin says `Vary: Origin`, the answers to requests without one too (a cache
must not hand their copy to a page); with `*`, every answer says `*` and none varies. Nothing
is refused: the API only says what it allows, and the browser decides; curl, which sends no `Origin`,
gets the same data as ever. That is the point a lesson makes: CORS is not access control.

The weak mode `reflect_origin` echoes any `Origin` with `Access-Control-Allow-Credentials: true`, the
misconfiguration that lets every web page read a logged-in user's answers; `/_sandbox/cors` shows the
policy and, with `weak.switchable`, turns the weak mode off, standing in for the code fix.

A redirect answers its status and `Location` (the new path, with the rest of the path and the query
kept) to every method; what a client then sends is the client's choice, which is what a lesson shows.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandboxes.api.jsonio import json_response, read_json
from sandboxes.api.problems import ApiError, problem_response
from sandboxes.api.recorder import ASGIApp, Message, Receive, Scope, Send, trace_of
from sandboxes.api.state import State
from tutor.pack.sandbox_cors import Cors

NO_STORE = {"Cache-Control": "no-store"}
PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"


class CorsPolicy:
    """The lesson's CORS settings and the weak mode as switched now (`memory`, in the state snapshot)."""

    def __init__(self, settings: Cors) -> None:
        self.settings = settings
        self.memory: dict[str, Any] = {"reflect_origin": bool(settings.weak and settings.weak.reflect_origin)}

    @property
    def reflecting(self) -> bool:
        return bool(self.memory["reflect_origin"])

    def allowed(self, origin: str) -> str | None:
        """What `Access-Control-Allow-Origin` says to a request from `origin`, or None: not this one."""
        if self.reflecting:
            return origin
        if self.settings.allow_origins == ["*"]:
            return "*"
        return origin if origin in self.settings.allow_origins else None

    @property
    def credentials(self) -> bool:
        return self.reflecting or self.settings.allow_credentials

    def describe(self) -> dict[str, Any]:
        s = self.settings
        out: dict[str, Any] = {
            "allow_origins": s.allow_origins,
            "allow_methods": s.allow_methods,
            "allow_headers": s.allow_headers,
            "expose_headers": s.expose_headers,
            "allow_credentials": s.allow_credentials,
            "max_age": s.max_age,
        }
        if s.weak is not None:
            out["weak_modes"] = {"reflect_origin": self.reflecting}
            out["fix"] = "compare Origin with a list of the origins you trust, and echo only those"
            if s.weak.switchable:
                out["change"] = 'PUT /_sandbox/cors with {"reflect_origin": false}'
        return out


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _vary_origin(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` with `Origin` added to what the answer already varies on, in one `Vary`."""
    kept = [(k, v) for k, v in headers if k.lower() != b"vary"]
    vary = [v.decode("latin-1") for k, v in headers if k.lower() == b"vary"]
    return [*kept, (b"vary", ", ".join([*vary, "Origin"]).encode("latin-1"))]


class CorsMiddleware:
    """Answers preflights and adds the CORS headers to answers of requests with an `Origin`. `/_sandbox/*`
    (the lesson's controls) is left alone."""

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        policy: CorsPolicy | None = self.state.cors
        if scope["type"] != "http" or policy is None or str(scope.get("path", "")).startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        origin = _header(scope, b"origin")
        if origin is None:
            # Not a CORS request (curl, a navigation), yet a cache may keep this answer for one that is: an
            # answer that depends on Origin says so with `Vary: Origin` here too, and `*` is sent to all
            # (the Fetch standard, "CORS protocol and HTTP caches")
            static = policy.settings.allow_origins == ["*"] and not policy.reflecting

            async def plain(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers", []))
                    if static:
                        headers.append((b"access-control-allow-origin", b"*"))
                    else:
                        headers = _vary_origin(headers)
                    message = {**message, "headers": headers}
                await send(message)

            await self.app(scope, receive, plain)
            return
        allowed = policy.allowed(origin)
        trace = trace_of(scope)
        asked = _header(scope, b"access-control-request-method")
        if scope["method"] == "OPTIONS" and asked is not None:
            headers = [(b"vary", PREFLIGHT_VARY.encode())]
            if allowed is not None:
                s = policy.settings
                headers += [
                    (b"access-control-allow-origin", allowed.encode("latin-1")),
                    (b"access-control-allow-methods", ", ".join(s.allow_methods).encode()),
                    (b"access-control-max-age", str(s.max_age).encode()),
                ]
                if s.allow_headers:
                    headers.append((b"access-control-allow-headers", ", ".join(s.allow_headers).encode()))
                if policy.credentials:
                    headers.append((b"access-control-allow-credentials", b"true"))
            if trace:
                verdict = f"allowed ({'echoed' if allowed == origin else allowed})" if allowed else "not allowed"
                trace.add("handler", f"CORS preflight from {origin[:80]} for {asked[:20]}: origin {verdict}")
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if allowed != "*":
                    headers = _vary_origin(headers)
                if allowed is not None:
                    headers.append((b"access-control-allow-origin", allowed.encode("latin-1")))
                    if policy.credentials:
                        headers.append((b"access-control-allow-credentials", b"true"))
                    if policy.settings.expose_headers:
                        headers.append(
                            (b"access-control-expose-headers", ", ".join(policy.settings.expose_headers).encode())
                        )
                message = {**message, "headers": headers}
            await send(message)

        if trace:
            trace.add(
                "handler", f"CORS: Origin {origin[:80]} " + (f"allowed ({allowed})" if allowed else "not allowed")
            )
        await self.app(scope, receive, with_cors)


def cors_routes(state: State) -> list[Route]:
    """`/_sandbox/cors`: the policy in force, and the weak mode's switch with `weak.switchable`."""
    policy: CorsPolicy | None = state.cors
    if policy is None:
        return []

    async def root(request: Request) -> Response:
        if request.method == "PUT":
            weak = policy.settings.weak
            if weak is None or not weak.switchable:
                raise ApiError(403, "this lesson's CORS policy cannot be switched")
            data = await read_json(request)
            if (
                not isinstance(data, dict)
                or set(data) != {"reflect_origin"}
                or not isinstance(data["reflect_origin"], bool)
            ):
                raise ApiError(
                    422,
                    'send {"reflect_origin": false} (or true)',
                    errors=[{"field": "reflect_origin", "message": "must be true or false, and the only field"}],
                )
            with state.lock:
                policy.memory["reflect_origin"] = data["reflect_origin"]
            trace = trace_of(request.scope)
            if trace:
                trace.add("handler", f"CORS reflect_origin now {data['reflect_origin']}")
        return json_response(policy.describe(), headers=NO_STORE)

    return [Route("/_sandbox/cors", root, methods=["GET", "PUT"])]


REDIRECTED = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


class RedirectMiddleware:
    """Each of `redirects`: its status and `Location` to every method, for the path and the paths under it
    (answered before the routes, so an old path needs no route of its own). Another method (TRACE, a
    plain OPTIONS) is 405, as on any route."""

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self.problem_json = state.settings.problem_json
        self.moves = [(m.path, m.to, m.status) for m in state.settings.redirects]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        move = None
        if scope["type"] == "http":
            move = next((m for m in self.moves if path == m[0] or path.startswith(m[0] + "/")), None)
        if move is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] not in REDIRECTED:
            allow = ", ".join(REDIRECTED)
            answer = problem_response(
                405,
                f"{scope['method'][:20]} is not allowed on {path[:200]}; it allows {allow}",
                instance=path[:200],
                problem_json=self.problem_json,
                headers={"Allow": allow},
            )
            await answer(scope, receive, send)
            return
        old, to, status = move
        # the rest of the path as the client sent it (percent-encoded), so the header stays ASCII
        raw = scope.get("raw_path") or path.encode("utf-8")
        rest = quote(unquote(raw.decode("latin-1"))[len(old) :], safe="/-._~!$&'()*+,;=:@%")
        target = to + rest
        query = scope.get("query_string", b"").decode("latin-1")
        if query:
            target += "?" + quote(query, safe="/?&=-._~!$'()*+,;:@%")
        trace = trace_of(scope)
        if trace:
            trace.add("handler", f"moved: {status} to {target[:200]}")
        await json_response({"moved_to": target}, status=status, headers={"Location": target})(scope, receive, send)
