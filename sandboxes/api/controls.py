"""`/_sandbox/*`: the switches a lesson gives the learner (relation loading strategies, the application
cache, the clock),
and the `Date` header from the lesson clock."""

from __future__ import annotations

import math
import re
from email.utils import formatdate
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandboxes.api.jsonio import json_response, read_json
from sandboxes.api.problems import ApiError
from sandboxes.api.recorder import ASGIApp, Receive, Scope, Send, trace_of
from sandboxes.api.state import MAX_ADVANCE, State


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
        "select_in": "one query for the whole page: WHERE id IN (...)",
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
            "change": f'PUT /_sandbox/relations/{resource}/{name} with {{"strategy": "select_in"}}',
            "aliases": {"join": "select_in"},
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
            if not isinstance(strategy, str):
                strategy = None
            if strategy == "join":
                strategy = "select_in"  # its old name, kept so that older lessons still work
            if strategy not in how:
                raise ApiError(
                    422,
                    'send {"strategy": "per_row"} or {"strategy": "select_in"}',
                    errors=[
                        {"field": "strategy", "message": "must be 'per_row' or 'select_in' ('join' is its old name)"}
                    ],
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


def weak_auth_routes(state: State) -> list[Route]:
    """`/_sandbox/auth`: the weak auth modes in force, and a switch for each when the lesson makes them
    `switchable`. Turning one off stands in for the code change that fixes it."""
    auth = state.auth
    if auth is None or auth.settings.weak is None or not auth.settings.weak.switchable:
        return []
    fixes = {
        "accept_alg_none": "pin the algorithm: jwt.decode(token, key, algorithms=['HS256'])",
        "guessable_secret": "sign with a random 256-bit key read from the environment "
        "(a new key: every old token stops working)",
        "skip_expiry": "check the 'exp' claim on every request",
        "skip_owner_check": "load rows WHERE id = ? AND owner = <the caller>",
    }

    def describe() -> dict[str, Any]:
        return {
            "weak_modes": {name: auth.weak[name] for name in fixes},
            "fixes": fixes,
            "change": 'PUT /_sandbox/auth with {"accept_alg_none": false} (or any of the modes)',
        }

    async def weak(request: Request) -> Response:
        if request.method == "PUT":
            data = await read_json(request)
            if not isinstance(data, dict) or not data:
                raise ApiError(422, 'send a JSON object such as {"accept_alg_none": false}')
            errors = [
                {"field": str(name)[:40], "message": f"must be one of {', '.join(fixes)}, set to true or false"}
                for name, value in data.items()
                if name not in fixes or not isinstance(value, bool)
            ]
            if errors:
                raise ApiError(422, "unknown weak mode or a value that is not true/false", errors=errors)
            for name, value in data.items():
                auth.set_weak(name, value)
            with state.cache_lock:
                state.cache.clear()
            trace = trace_of(request.scope)
            if trace:
                trace.add("handler", "weak auth modes now: " + (", ".join(auth.weak_modes) or "none"))
        return json_response(describe())

    return [Route("/_sandbox/auth", weak, methods=["GET", "PUT"])]


_VISIBLE = re.compile(r"[\x20-\x7e]*")
"""What a header value may hold here: visible ASCII and spaces (RFC 9110 §5.5, without obs-text)."""


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
            "negative_ttl": state.cache_switch.get("negative_ttl", caching.negative_ttl),
            "invalidate_on_create": state.invalidate_on_create(),
            "means": {
                "app_cache_ttl": "seconds a cache-aside entry lives; null: no application cache",
                "single_flight": "concurrent misses of one key share one database load",
                "cache_control": "the Cache-Control header each resource's GET responses carry",
                "negative_ttl": "seconds a 404 of an item is kept in the cache; null: 404s are never stored",
                "invalidate_on_create": "whether a POST drops the resource's entries (the new id's 404 among them)",
            },
            "change": 'PUT /_sandbox/caching with {"app_cache_ttl": 30}, {"single_flight": true}, '
            '{"cache_control": {"RESOURCE": "max-age=60"}}, {"negative_ttl": 30} or {"invalidate_on_create": true}',
            "empty": "DELETE /_sandbox/caching empties the application cache",
        }

    async def caching_switch(request: Request) -> Response:
        if request.method == "DELETE":
            # Empty the application cache, as `redis-cli FLUSHDB` would after a fix made in the database.
            with state.cache_lock:
                emptied = len(state.cache)
                state.cache.clear()
            trace = trace_of(request.scope)
            if trace:
                trace.add("handler", f"the application cache was emptied ({emptied} entries)")
            return json_response({**describe(), "emptied": emptied})
        if request.method == "PUT":
            data = await read_json(request)
            errors: list[dict[str, str]] = []
            if not isinstance(data, dict) or not data:
                raise ApiError(422, 'send {"app_cache_ttl": SECONDS or null} and/or {"single_flight": true|false}')
            switches = ("app_cache_ttl", "single_flight", "cache_control", "negative_ttl", "invalidate_on_create")
            for name in data:
                if name not in switches:
                    errors.append({"field": name, "message": f"unknown; use {', '.join(switches)}"})
            chosen = data.get("cache_control", {})
            if "cache_control" not in data:
                pass
            elif not isinstance(chosen, dict) or not chosen:
                errors.append({"field": "cache_control", "message": 'must be {"RESOURCE": "directives", ...}'})
            else:
                for name, value in chosen.items():
                    if name not in resources:
                        errors.append({"field": f"cache_control.{name}", "message": f"no resource {name!r}"})
                    elif not isinstance(value, str) or len(value) > 200 or not _VISIBLE.fullmatch(value):
                        errors.append({"field": f"cache_control.{name}", "message": "must be header text"})
            ttl = data.get("app_cache_ttl")
            if (
                "app_cache_ttl" in data
                and ttl is not None
                and (isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not 0 < ttl <= 86400)
            ):
                errors.append({"field": "app_cache_ttl", "message": "must be seconds above 0 (at most 86400) or null"})
            for flag in ("single_flight", "invalidate_on_create"):
                if flag in data and not isinstance(data[flag], bool):
                    errors.append({"field": flag, "message": "must be true or false"})
            negative = data.get("negative_ttl")
            if (
                "negative_ttl" in data
                and negative is not None
                and (isinstance(negative, bool) or not isinstance(negative, (int, float)) or not 0 < negative <= 86400)
            ):
                errors.append({"field": "negative_ttl", "message": "must be seconds above 0 (at most 86400) or null"})
            if errors:
                raise ApiError(422, "the caching switch was not changed", errors=errors)
            if "cache_control" in data:
                data = {**data, "cache_control": {**state.cache_switch.get("cache_control", {}), **chosen}}
            state.cache_switch.update(data)
            if "app_cache_ttl" in data or "single_flight" in data or "negative_ttl" in data:
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

    return [Route("/_sandbox/caching", caching_switch, methods=["GET", "PUT", "DELETE"])]


def clock_routes(state: State) -> list[Route]:
    """`/_sandbox/clock`: read the lesson clock, and move it forward with `{"advance": SECONDS}`."""

    def describe() -> dict[str, Any]:
        now = state.clock.now()
        return {
            "now": round(now, 3),
            "date": formatdate(now, usegmt=True),
            "offset_seconds": round(state.clock.offset, 3),
        }

    async def clock(request: Request) -> Response:
        if request.method == "POST":
            data = await read_json(request)
            advance = data.get("advance") if isinstance(data, dict) else None
            unknown = sorted(set(data) - {"advance"}) if isinstance(data, dict) else []
            problem = None
            if isinstance(advance, bool) or not isinstance(advance, int | float):
                problem = "must be a number of seconds"
            elif not math.isfinite(advance) or advance < 0:
                problem = "must be 0 or more: the clock only moves forward"
            elif advance > MAX_ADVANCE:
                problem = f"must be at most {MAX_ADVANCE} (a year and a day)"
            if problem or unknown or not isinstance(data, dict):
                errors = [{"field": "advance", "message": problem}] if problem else []
                errors += [{"field": name, "message": "unknown field; send only 'advance'"} for name in unknown]
                raise ApiError(422, 'send {"advance": SECONDS}, a number from 0 up', errors=errors or None)
            assert isinstance(advance, int | float)
            state.clock.advance(float(advance))
            await run_in_threadpool(state.settle, 5.0)  # the worker and deliveries catch up with the new time
            trace = trace_of(request.scope)
            if trace:
                trace.add("handler", f"the lesson clock moved {advance:g} s forward")
        return json_response(describe(), headers={"Cache-Control": "no-store"})

    return [Route("/_sandbox/clock", clock, methods=["GET", "POST"])]


class DateMiddleware:
    """`Date` (RFC 9110 §6.6.1) from the lesson clock; the server's own Date header is turned off."""

    def __init__(self, app: ASGIApp, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_date(message: Any) -> None:
            if message["type"] == "http.response.start":
                date = formatdate(self.state.clock.now(), usegmt=True).encode()
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                message["headers"] = [(b"date", date), *headers]
            await send(message)

        await self.app(scope, receive, send_with_date)
