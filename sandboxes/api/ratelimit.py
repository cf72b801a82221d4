"""Rate limiting: a token bucket per client, refilled on the lesson clock."""

from __future__ import annotations

import math
from typing import Any

from sandboxes.api.problems import problem_response
from sandboxes.api.recorder import ASGIApp, Receive, Scope, Send, caller_key, trace_of
from sandboxes.api.state import State, TokenBucket


# -- rate limiting -------------------------------------------------------------------------------
class RateLimitMiddleware:
    """Token bucket per caller (their credentials, or with none their address: `caller_key`); API paths only.
    The tool that sent a request does not get a bucket of its own: a retry sent from the request
    workbench meets the same limit as the curl burst before it.

    Headers follow the IETF httpapi working group's draft "RateLimit header fields for HTTP"
    (draft-ietf-httpapi-ratelimit-headers, still a draft): `RateLimit-Policy: "bucket";q=5;w=10`
    (quota, and seconds for an empty bucket to fill) and `RateLimit: "bucket";r=2;t=4` (remaining, and
    seconds until the bucket is full again). Buckets live in the sandbox state and refill on the
    lesson clock."""

    PREFIXES = ("/v1/", "/v2/", "/auth/")
    POLICY = "bucket"

    def __init__(self, app: ASGIApp, state: State, capacity: int, refill: float, problem_json: bool) -> None:
        self.app = app
        self.state = state
        self.capacity = capacity
        self.refill = refill
        self.problem_json = problem_json

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path + "/").startswith(self.PREFIXES):
            await self.app(scope, receive, send)
            return
        trace = trace_of(scope)
        source = trace.events[0].data.get("source", "outside") if trace and trace.events else "outside"
        # The checker's own requests (a probe, a repeat) neither spend nor meet the learner's limit.
        key = "tutor" if source == "tutor" else caller_key(scope["headers"], scope.get("client"))
        state = self.state
        with state.lock:
            now = state.clock.now()
            bucket = state.buckets.get(key)
            if bucket is None:
                bucket = state.buckets[key] = TokenBucket(self.capacity, self.refill, now)
            allowed, wait = bucket.take(now)
            tokens = bucket.tokens
        remaining = int(tokens)
        reset = math.ceil((self.capacity - tokens) / self.refill)
        window = max(1, math.ceil(self.capacity / self.refill))
        limit_headers = [
            (b"ratelimit-policy", f'"{self.POLICY}";q={self.capacity};w={window}'.encode()),
            (b"ratelimit", f'"{self.POLICY}";r={remaining};t={reset}'.encode()),
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
