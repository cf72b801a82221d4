"""`/_sandbox/*`: the switches a lesson gives the learner (relation loading strategies, the clock),
and the `Date` header from the lesson clock."""

from __future__ import annotations

import math
from email.utils import formatdate
from typing import Any

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
