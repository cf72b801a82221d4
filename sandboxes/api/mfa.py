"""A second factor after the password (`auth.mfa`), and, only when a lesson turns them on, its classic flaws.

With `mfa`, the right password at `POST /auth/login` no longer logs an account in: the answer is
`{"mfa_required": true, "mfa_token": ...}`, and a one-time code goes to the account's device. `POST
/auth/mfa/verify` with the token and the code gives the access token. By default, as OWASP's
Multifactor Authentication Cheat Sheet and NIST SP 800-63B §5.2.2 ask: the `mfa_token` is no credential
anywhere else, a code works once and for `code_ttl_seconds`, and `max_attempts` wrong codes in a row end
the account's pending logins and lock its codes for `lockout_seconds` (429).

`GET /_sandbox/mfa/device` is the learner's own phone: the codes of the `devices` accounts, nobody else's.
Codes come from `seed` and the login's number, so a replay meets the same codes (a real server draws
them from a secure random source, `secrets.randbelow`).
"""

from __future__ import annotations

import hmac
import random
import secrets
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandboxes.api.auth import Principal, bearer_challenge
from sandboxes.api.jsonio import json_response, read_json
from sandboxes.api.problems import ApiError
from sandboxes.api.recorder import trace_of

if TYPE_CHECKING:
    from sandboxes.api.auth import AuthService
    from sandboxes.api.state import State
    from tutor.pack.sandbox_api import Mfa

WEAK_MODES = ("pending_login_is_logged_in", "unlimited_code_attempts")
FIXES = {
    "pending_login_is_logged_in": "issue no credential before the second factor: the mfa_token is good for "
    "/auth/mfa/verify and nothing else",
    "unlimited_code_attempts": "count wrong codes per account; after a few in a row, end the pending logins and "
    "lock the codes for a while",
}
PERSONAL = {"Cache-Control": "no-store", "Vary": "Authorization, Cookie"}
TOKEN_PREFIX = "mfa_"  # noqa: S105 - a prefix, no secret


@dataclass
class Pending:
    username: str
    code: str
    expires: float
    failures: int = 0


@dataclass
class MfaService:
    settings: Mfa
    auth: AuthService
    pending: dict[str, Pending] = field(default_factory=dict)
    """mfa_token -> the login waiting for its code."""
    failures: dict[str, tuple[int, float]] = field(default_factory=dict)
    """username -> (wrong codes in a row, codes locked until)."""
    logins: int = 0
    """Logins that passed the password: with `seed`, which code the next one gets."""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        weak = self.settings.weak
        self.weak: dict[str, bool] = {name: bool(weak and getattr(weak, name)) for name in WEAK_MODES}
        seeded = [u.username for u in self.auth.settings.users]
        self.devices = set(self.settings.devices or seeded[:1])
        self.auth.pending_bearer = self.pending_principal

    @property
    def weak_modes(self) -> list[str]:
        return [name for name in WEAK_MODES if self.weak[name]]

    def applies_to(self, username: str) -> bool:
        return not self.settings.accounts or username in self.settings.accounts

    # -- the state model -------------------------------------------------------------------
    def memory(self) -> dict[str, Any]:
        with self._lock:
            return {"pending": self.pending, "failures": self.failures, "logins": self.logins, "weak": self.weak}

    def set_memory(self, memory: dict[str, Any]) -> None:
        with self._lock:
            self.pending = memory["pending"]
            self.failures = memory["failures"]
            self.logins = memory["logins"]
            self.weak = memory["weak"]

    # -- the flow ----------------------------------------------------------------------------
    def start(self, username: str) -> str:
        """A login that passed the password: its mfa_token; the code goes to the account's device."""
        with self._lock:
            self.logins += 1
            rng = random.Random(f"{self.settings.seed}:{username}:{self.logins}")  # noqa: S311 - replayable codes
            code = f"{rng.randrange(10**self.settings.digits):0{self.settings.digits}d}"
            token = TOKEN_PREFIX + secrets.token_urlsafe(24)
            self.pending[token] = Pending(username, code, self.auth.clock.now() + self.settings.code_ttl_seconds)
            if len(self.pending) > 10_000:
                self.pending.pop(next(iter(self.pending)))
            return token

    def pending_principal(self, token: str) -> Principal | None:
        """The weak mode `pending_login_is_logged_in`: a half-done login counts as logged in."""
        if not token.startswith(TOKEN_PREFIX) or not self.weak["pending_login_is_logged_in"]:
            return None
        with self._lock:
            record = self.pending.get(token)
            user = self.auth.users.get(record.username) if record else None
        if record is None or user is None or record.expires <= self.auth.clock.now():
            return None
        return Principal(user.username, user.role, "bearer")  # WEAK MODE: no second factor was checked

    def verify(self, token: str, code: str) -> tuple[str, int]:
        """(username, wrong codes this login got before) for the right code; ApiError otherwise."""
        now = self.auth.clock.now()
        challenge = {"WWW-Authenticate": bearer_challenge()}
        with self._lock:
            record = self.pending.get(token)
            if record is None or record.expires <= now:
                self.pending.pop(token, None)
                raise ApiError(
                    401, "this login has ended or never began; log in again with the password", headers=challenge
                )
            count, locked_until = self.failures.get(record.username, (0, 0.0))
            if locked_until > now and not self.weak["unlimited_code_attempts"]:
                wait = max(1, int(locked_until - now + 0.999))
                raise ApiError(
                    429,
                    f"too many wrong codes for this account; try again in {wait} s",
                    headers={"Retry-After": str(wait)},
                )
            if not hmac.compare_digest(code.strip().encode(), record.code.encode()):
                record.failures += 1
                if self.weak["unlimited_code_attempts"]:
                    raise ApiError(401, "wrong code", headers=challenge)  # WEAK MODE: nothing is counted
                count += 1
                if count >= self.settings.max_attempts:
                    until = now + self.settings.lockout_seconds
                    self.failures[record.username] = (0, until)
                    for other in [t for t, p in self.pending.items() if p.username == record.username]:
                        del self.pending[other]
                    wait = self.settings.lockout_seconds
                    raise ApiError(
                        429,
                        f"too many wrong codes for this account: its logins ended; try again in {wait} s",
                        headers={"Retry-After": str(wait)},
                    )
                self.failures[record.username] = (count, 0.0)
                raise ApiError(401, "wrong code", headers=challenge)
            del self.pending[token]
            self.failures.pop(record.username, None)
            return record.username, record.failures

    def device(self) -> list[dict[str, Any]]:
        now = self.auth.clock.now()
        with self._lock:
            codes = [
                {"username": p.username, "code": p.code, "expires_in": int(p.expires - now)}
                for p in self.pending.values()
                if p.username in self.devices and p.expires > now
            ]
        return codes[::-1]


def mfa_routes(state: State, plain_login: Any) -> list[Route]:
    """`/auth/login` (a second step for the accounts with a factor), `/auth/mfa/verify`,
    `/_sandbox/mfa/device` and, with `weak.switchable`, `/_sandbox/mfa`. `plain_login`: the login of
    `auth_routes`, for the accounts without one."""
    from sandboxes.api.auth_routes import _credentials

    service = state.mfa
    auth = state.auth
    assert service is not None and auth is not None

    async def login(request: Request) -> Response:
        username, password = _credentials(await read_json(request))
        if not service.applies_to(username):
            response: Response = await plain_login(request)
            return response
        from starlette.concurrency import run_in_threadpool

        user = await run_in_threadpool(auth.login, username, password)
        token = service.start(user.username)
        trace = trace_of(request.scope)
        if trace:
            trace.add("auth", "password ok; second factor pending", user=user.username)
        return json_response(
            {
                "mfa_required": True,
                "mfa_token": token,
                "detail": "send the code from your device to POST /auth/mfa/verify with this mfa_token",
            },
            headers=PERSONAL,
        )

    async def verify(request: Request) -> Response:
        data = await read_json(request)
        if not isinstance(data, dict):
            raise ApiError(422, 'send {"mfa_token": "...", "code": "..."}')
        errors = [
            {"field": name, "message": "is required and must be a string"}
            for name in ("mfa_token", "code")
            if not isinstance(data.get(name), str) or not data.get(name)
        ]
        if errors:
            raise ApiError(422, "mfa_token and code are required", errors=errors)
        username, failed = service.verify(str(data["mfa_token"])[:200], str(data["code"])[:20])
        user = auth.users[username]
        access, ttl = auth.issue_access(user)
        body: dict[str, Any] = {
            "username": user.username,
            "role": user.role,
            "access_token": access,
            "token_type": "bearer",
            "expires_in": ttl,
            "failed_codes": failed,
        }
        if auth.settings.refresh_tokens:
            body["refresh_token"] = auth.issue_refresh(user)
        trace = trace_of(request.scope)
        if trace:
            trace.add("auth", "second factor ok", user=user.username)
        response = json_response(body, headers=PERSONAL)
        if auth.settings.cookie_sessions:  # the session starts here, after the code, as the login's would
            response.set_cookie(
                "session",
                auth.start_session(user),
                httponly=True,
                samesite="lax",
                path="/",
                max_age=auth.settings.session_ttl_seconds,
            )
        return response

    async def device(request: Request) -> Response:
        return json_response(
            {"accounts": sorted(service.devices), "codes": service.device()}, headers={"Cache-Control": "no-store"}
        )

    routes = [
        Route("/auth/login", login, methods=["POST"]),
        Route("/auth/mfa/verify", verify, methods=["POST"]),
        Route("/_sandbox/mfa/device", device, methods=["GET"]),
    ]
    weak = service.settings.weak
    if weak is not None and weak.switchable:

        async def switch(request: Request) -> Response:
            if request.method == "PUT":
                data = await read_json(request)
                if not isinstance(data, dict) or not data:
                    raise ApiError(422, 'send a JSON object such as {"unlimited_code_attempts": false}')
                errors = [
                    {
                        "field": str(name)[:40],
                        "message": f"must be one of {', '.join(WEAK_MODES)}, set to true or false",
                    }
                    for name, value in data.items()
                    if name not in WEAK_MODES or not isinstance(value, bool)
                ]
                if errors:
                    raise ApiError(422, "unknown weak mode or a value that is not true/false", errors=errors)
                with state.lock:
                    service.weak.update(data)
            return json_response(
                {
                    "weak_modes": dict(service.weak),
                    "fixes": FIXES,
                    "change": 'PUT /_sandbox/mfa with {"unlimited_code_attempts": false} (or any of the modes)',
                },
                headers={"Cache-Control": "no-store"},
            )

        routes.append(Route("/_sandbox/mfa", switch, methods=["GET", "PUT"]))
    return routes


def openapi_paths(service: MfaService | None, problem: Any, ok: Any, bad_body: dict[str, Any]) -> dict[str, Any]:
    """This factor's operations in /openapi.json; the login's own entry gains the second-step answer."""
    if service is None:
        return {}
    verify_body = {
        "type": "object",
        "required": ["mfa_token", "code"],
        "properties": {"mfa_token": {"type": "string", "minLength": 1}, "code": {"type": "string", "minLength": 1}},
    }
    tokens = {
        "type": "object",
        "properties": {
            "username": {"type": "string"},
            "access_token": {"type": "string"},
            "failed_codes": {"type": "integer"},
        },
    }
    paths: dict[str, Any] = {
        "/auth/mfa/verify": {
            "post": {
                "tags": ["auth"],
                "summary": "The second step of a login: the mfa_token and the code from the device",
                "requestBody": {"required": True, "content": {"application/json": {"schema": verify_body}}},
                "responses": {
                    "200": ok("Logged in", tokens),
                    "401": problem("A wrong code, or a login that has ended (log in again)"),
                    "429": problem("Too many wrong codes for this account: wait Retry-After seconds"),
                    **{k: v for k, v in bad_body.items() if k != "429"},
                },
            }
        },
        "/_sandbox/mfa/device": {
            "get": {
                "summary": "Your own device: the codes of your pending logins",
                "tags": ["sandbox controls"],
                "responses": {"200": ok("The codes now", {"type": "object"})},
            }
        },
    }
    if service.settings.weak is not None and service.settings.weak.switchable:
        schema = {"type": "object", "properties": {name: {"type": "boolean"} for name in WEAK_MODES}}
        paths["/_sandbox/mfa"] = {
            "get": {
                "summary": "Which weak second-factor modes are on, and the code change that fixes each",
                "tags": ["sandbox controls"],
                "responses": {"200": ok("The weak modes now", {"type": "object"})},
            },
            "put": {
                "summary": "Turn weak second-factor modes off or on (stands in for the code fix)",
                "tags": ["sandbox controls"],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {**schema, "minProperties": 1, "additionalProperties": False}}
                    },
                },
                "responses": {
                    "200": ok("The weak modes now", {"type": "object"}),
                    **{k: v for k, v in bad_body.items() if k != "429"},
                },
            },
        }
    return paths
