"""`/auth/*`: register, log in, refresh, log out, who am I, and an admin-only page.

The accounts, tokens and sessions behind them are in `sandboxes.api.auth`."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandboxes.api.auth import bearer_challenge
from sandboxes.api.jsonio import json_response, read_json
from sandboxes.api.problems import ApiError
from sandboxes.api.recorder import trace_of
from sandboxes.api.state import State

# -- auth routes ---------------------------------------------------------------------------------
PERSONAL = {"Cache-Control": "no-store", "Vary": "Authorization, Cookie"}
"""On answers about the caller or carrying credentials: no cache keeps them (RFC 9111 §5.2.2.5), and
they depend on who asks (RFC 9110 §12.5.5)."""


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


def login_first(state: State) -> ApiError:
    """401 for a caller who sent no credentials, naming the ones this API takes."""
    cookies = state.auth is not None and state.auth.settings.cookie_sessions
    what = "'Authorization: Bearer <access token>'" + (" or the session cookie the login set" if cookies else "")
    return ApiError(401, f"log in first: send {what}", headers={"WWW-Authenticate": bearer_challenge()})


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
            raise login_first(state)
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
        return json_response(
            {"username": user.username, "role": user.role}, 201, headers={"Location": "/auth/me", **PERSONAL}
        )

    async def login(request: Request) -> Response:
        username, password = _credentials(await read_json(request))
        user = await run_in_threadpool(auth.login, username, password)
        trace = trace_of(request.scope)
        if trace:
            trace.add("auth", "login", user=user.username, role=user.role)
        body, _ = tokens(user)
        response = json_response(body, 200, headers=PERSONAL)
        if settings.cookie_sessions:
            response.set_cookie(
                "session",
                auth.start_session(user),
                httponly=True,
                samesite="lax",
                path="/",
                max_age=settings.session_ttl_seconds,
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
        return json_response(body, 200, headers=PERSONAL)

    async def logout(request: Request) -> Response:
        principal = current_principal(state, request)
        body = await request.body()
        revoked = False
        if body:  # optional; when sent, it is what /openapi.json says: an object, refresh_token a string
            data = await read_json(request)
            if not isinstance(data, dict):
                raise ApiError(422, 'send a JSON object, {"refresh_token": "..."}, or no body at all')
            if "refresh_token" in data and not isinstance(data["refresh_token"], str):
                raise ApiError(
                    422,
                    "refresh_token must be a string",
                    errors=[{"field": "refresh_token", "message": "must be a string"}],
                )
            if "refresh_token" in data:
                revoked = auth.revoke_refresh(data["refresh_token"])
        if principal is not None and principal.jti:
            auth.revoked_jti.add(principal.jti)
            revoked = True
        sid = request.cookies.get("session")
        response = Response(status_code=204)
        if sid and auth.end_session(sid):
            revoked = True
        if settings.cookie_sessions:
            response.delete_cookie("session", path="/", httponly=True, samesite="lax")
        if not revoked:
            raise ApiError(
                401,
                "nothing to log out: send the access token, a refresh token or the session cookie",
                headers={"WWW-Authenticate": bearer_challenge()},
            )
        return response

    async def me(request: Request) -> Response:
        principal = need_login(request)
        return json_response(
            {"username": principal.username, "role": principal.role, "via": principal.via}, headers=PERSONAL
        )

    async def admin(request: Request) -> Response:
        principal = need_login(request)
        if principal.role != "admin":
            raise ApiError(
                403, f"'{principal.username}' is logged in but has role '{principal.role}'; this needs role 'admin'"
            )
        body: dict[str, Any] = {"message": "welcome, admin", "users": sorted(auth.users)}
        if principal.alg is not None:
            body["token_alg"] = principal.alg  # "none": the weak mode let an unsigned token in
        return json_response(body, headers=PERSONAL)

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
