"""`/_sandbox/upstreams`: the lesson's upstreams, their calls and faults, and the switches a lesson
gives the learner (faults and outages with `switchable`, the route's client policy with
`client.switchable`). Also the `route` each upstream may have on the sandbox API."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandboxes.api.jsonio import json_response, read_json
from sandboxes.api.problems import ApiError
from sandboxes.api.recorder import trace_of
from sandboxes.api.state import MAX_ADVANCE, State
from sandboxes.api.upstream import SWITCHES, UpstreamHub, stats
from sandboxes.api.upstream_client import CLIENT_FIELDS, policy, route_handler

RECENT = 20


def _errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": str(e["msg"]).removeprefix("Value error, ")}
        for e in exc.errors()
    ]


def upstream_routes(state: State) -> list[Route]:
    hub = state.upstreams
    if not isinstance(hub, UpstreamHub):
        return []

    def known(request: Request) -> str:
        name = str(request.path_params["name"])
        if name not in hub.settings:
            raise ApiError(404, f"no upstream {name[:40]!r}; this lesson has {', '.join(hub.settings)}")
        return name

    def describe(name: str, *, calls: bool = False, since: str = "step") -> dict[str, Any]:
        upstream = hub.settings[name]
        now = state.clock.now()
        step_calls = hub.since_mark(name)
        with hub.lock:
            memory = hub.memory[name]
            breaker = dict(memory["breaker"])
            numbered = memory["count"]
        data: dict[str, Any] = {
            "name": name,
            "url": hub.urls.get(name),
            "seed": upstream.seed,
            "calls_numbered": numbered,
            "faults": {k: v for k, v in hub.faults(name).items() if k in (*SWITCHES, "script")},
            "outages": hub.outages(name, now),
            "stats": {"since_step": stats(step_calls), "all": stats(hub.all_calls(name))},
        }
        if upstream.route:
            pol = policy(hub, name)
            data["route"] = upstream.route
            data["client"] = pol
            if pol.get("breaker"):
                opened = breaker["opened_at"]
                reopen = opened + float(pol["breaker"]["open_seconds"]) if opened is not None else None
                data["breaker"] = {
                    "state": "closed" if opened is None else ("open" if now < (reopen or 0) else "half-open"),
                    "failures_in_a_row": breaker["failures"],
                    "tries_again_in": round(reopen - now, 3) if reopen is not None and now < reopen else None,
                }
        if calls:
            chosen = step_calls if since == "step" else hub.all_calls(name)
            data["calls"] = [c.to_json() for c in chosen[-RECENT:]]
        changes = []
        if upstream.switchable:
            changes += [
                f'PUT /_sandbox/upstreams/{name} with {{"error_rate": 0.5}} (or reset_rate, drip_rate, hang_rate, '
                "latency, error_status, retry_after)",
                f'POST /_sandbox/upstreams/{name}/outage with {{"seconds": 60}} starts an outage now; DELETE ends it',
            ]
        if upstream.route and upstream.client.switchable:
            changes.append(
                f'PUT /_sandbox/upstreams/{name}/client with {{"retries": 3, "jitter": "full"}} (or timeout_ms, '
                "backoff_ms, max_backoff_ms, breaker, bulkhead)"
            )
        if changes:
            data["change"] = changes
        return data

    async def listing(request: Request) -> Response:
        return json_response({"upstreams": [describe(name) for name in hub.settings]})

    async def one(request: Request) -> Response:
        name = known(request)
        if request.method == "PUT":
            upstream = hub.settings[name]
            if not upstream.switchable:
                raise ApiError(403, f"the faults of {name} are fixed in this lesson")
            data = await read_json(request)
            if not isinstance(data, dict) or not data:
                raise ApiError(422, 'send a JSON object such as {"error_rate": 0.5}')
            unknown = [
                {"field": str(k)[:40], "message": f"not a switch; use {', '.join(SWITCHES)}"}
                for k in data
                if k not in SWITCHES
            ]
            if unknown:
                raise ApiError(422, "the faults were not changed", errors=unknown)
            current = hub.faults(name)
            merged = {**upstream.model_dump(), **{k: current[k] for k in SWITCHES}, **data}
            try:
                checked = type(upstream).model_validate(merged)
            except ValidationError as exc:
                raise ApiError(422, "the faults were not changed", errors=_errors(exc)) from exc
            with hub.lock:
                switched = hub.memory[name]["switched"]
                for key in data:
                    value = getattr(checked, key)
                    switched[key] = value.model_dump() if hasattr(value, "model_dump") else value
            trace = trace_of(request.scope)
            if trace:
                trace.add("handler", f"{name}'s faults changed: {', '.join(sorted(data))}")
        since = request.query_params.get("since", "step")
        if since not in ("step", "all"):
            raise ApiError(400, "`since` is `step` (the calls since the step opened) or `all`")
        return json_response(describe(name, calls=True, since=since), headers={"Cache-Control": "no-store"})

    async def outage(request: Request) -> Response:
        name = known(request)
        if not hub.settings[name].switchable:
            raise ApiError(403, f"the outages of {name} are fixed in this lesson")
        now = state.clock.now()
        trace = trace_of(request.scope)
        if request.method == "DELETE":
            with hub.lock:
                windows = hub.memory[name]["outages"]
                ended = sum(1 for w in windows if w[0] <= now < w[1])
                hub.memory[name]["outages"] = [w for w in windows if w[1] <= now or w[0] > now]
            if trace:
                trace.add("handler", f"{name}: {ended} outage(s) ended")
            return json_response({**describe(name), "ended": ended})
        data = await read_json(request)
        seconds = data.get("seconds") if isinstance(data, dict) else None
        behaviour = data.get("behaviour", "error") if isinstance(data, dict) else None
        errors = []
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds <= MAX_ADVANCE:
            errors.append(
                {"field": "seconds", "message": f"must be a number of lesson seconds above 0, at most {MAX_ADVANCE}"}
            )
        if behaviour not in ("error", "reset", "hang"):
            errors.append({"field": "behaviour", "message": "must be error, reset or hang"})
        if isinstance(data, dict):
            errors += [
                {"field": str(k)[:40], "message": "unknown; send seconds and behaviour"}
                for k in data
                if k not in ("seconds", "behaviour")
            ]
        if errors or not isinstance(data, dict):
            raise ApiError(422, 'send {"seconds": 60, "behaviour": "error"}', errors=errors or None)
        assert isinstance(seconds, int | float)
        with hub.lock:
            hub.memory[name]["outages"].append([now, now + float(seconds), str(behaviour)])
        if trace:
            trace.add("handler", f"{name}: an outage ({behaviour}) for {seconds:g} s of lesson time")
        return json_response(describe(name), status=201)

    async def client(request: Request) -> Response:
        name = known(request)
        upstream = hub.settings[name]
        if upstream.route is None:
            raise ApiError(404, f"{name} has no route on this API, so no client policy")
        if request.method == "PUT":
            if not upstream.client.switchable:
                raise ApiError(403, f"the client policy for {name} is fixed in this lesson")
            data = await read_json(request)
            if not isinstance(data, dict) or not data:
                raise ApiError(422, 'send a JSON object such as {"retries": 3, "jitter": "full"}')
            unknown = [
                {"field": str(k)[:40], "message": f"not a setting; use {', '.join(CLIENT_FIELDS)}"}
                for k in data
                if k not in CLIENT_FIELDS
            ]
            if unknown:
                raise ApiError(422, "the client policy was not changed", errors=unknown)
            merged = {**policy(hub, name), **data, "switchable": True}
            try:
                checked = type(upstream.client).model_validate(merged)
            except ValidationError as exc:
                raise ApiError(422, "the client policy was not changed", errors=_errors(exc)) from exc
            with hub.lock:
                for key in data:
                    value = getattr(checked, key)
                    hub.memory[name]["client"][key] = value.model_dump() if hasattr(value, "model_dump") else value
                if "breaker" in data:  # a new breaker starts closed
                    hub.memory[name]["breaker"].update(failures=0, opened_at=None, trial=False)
            trace = trace_of(request.scope)
            if trace:
                trace.add("handler", f"{name}'s client policy changed: {', '.join(sorted(data))}")
        return json_response(describe(name), headers={"Cache-Control": "no-store"})

    routes = [
        Route("/_sandbox/upstreams", listing, methods=["GET"]),
        Route("/_sandbox/upstreams/{name}", one, methods=["GET", "PUT"]),
        Route("/_sandbox/upstreams/{name}/outage", outage, methods=["POST", "DELETE"]),
        Route("/_sandbox/upstreams/{name}/client", client, methods=["GET", "PUT"]),
    ]
    for name, upstream in hub.settings.items():
        if upstream.route:
            routes.append(Route(upstream.route, route_handler(state, name), methods=["GET", "HEAD"]))
    return routes
