"""A password reset flow (`auth.password_reset`): ask for a reset, read the mail in your own inbox,
set a new password with the link's token. Plus, only when a lesson turns them on, its classic flaws.

By default it does what OWASP's Forgot Password Cheat Sheet asks: the token is 32 random bytes, kept
only as its SHA-256 (a copy of the store gives nobody a working link), used once, and dead after
`token_ttl_seconds` of lesson time; every email gets the same answer, known or not; the link is built
from the address the server listens on, never from a header the caller chose. A reset also ends the
account's cookie sessions and refresh tokens: whoever was logged in with the old password is out.

The "mail server" is in memory: `GET /auth/mailbox` shows the messages sent to the caller's own
address, `USERNAME@example.com` (RFC 2606 keeps example.com for documentation), so a learner reads
their own reset links and nobody else's.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandboxes.api.jsonio import json_response, read_json
from sandboxes.api.problems import ApiError
from sandboxes.api.recorder import trace_of

if TYPE_CHECKING:
    from sandboxes.api.auth import AuthService
    from sandboxes.api.state import State
    from tutor.pack.sandbox_api import PasswordReset

MAIL_DOMAIN = "example.com"
WEAK_MODES = (
    "sequential_tokens",
    "reusable_tokens",
    "tokens_never_expire",
    "link_from_host_header",
    "tells_unknown_email",
)
FIXES = {
    "sequential_tokens": "make each token with secrets.token_urlsafe(32): 256 random bits nobody can guess",
    "reusable_tokens": "mark the token used when it resets the password, and refuse it after",
    "tokens_never_expire": "store an expiry with the token (15 minutes) and refuse it after",
    "link_from_host_header": "build the link from the site's configured address, never from Host or X-Forwarded-Host",
    "tells_unknown_email": "answer every email the same: 202, 'if an account has this email, a link is on its way'",
}
FIRST_SEQUENTIAL = 104_211
"""Where the weak counter starts: a 6-digit number that looks random until you see the next one."""
MAX_MESSAGES = 20
"""Messages kept per inbox: the newest."""
SAME_ANSWER = "if an account has this email, a reset link is on its way to it"
REFUSED = "this reset link is not valid: it is unknown, already used or expired; ask for a new one"
PERSONAL = {"Cache-Control": "no-store", "Vary": "Authorization, Cookie"}


def email_of(username: str) -> str:
    return f"{username.lower()}@{MAIL_DOMAIN}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class ResetToken:
    username: str
    expires: float
    used: bool = False


@dataclass
class ResetService:
    settings: PasswordReset
    auth: AuthService
    tokens: dict[str, ResetToken] = field(default_factory=dict)
    """SHA-256 of the token -> whose it is, until when, whether it was used."""
    mail: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """email -> the messages sent to it, newest first."""
    counter: int = FIRST_SEQUENTIAL

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        weak = self.settings.weak
        self.weak: dict[str, bool] = {name: bool(weak and getattr(weak, name)) for name in WEAK_MODES}

    @property
    def weak_modes(self) -> list[str]:
        return [name for name in WEAK_MODES if self.weak[name]]

    # -- the state model (sandboxes.api.state) ------------------------------------------------
    def memory(self) -> dict[str, Any]:
        with self._lock:
            return {"tokens": self.tokens, "mail": self.mail, "counter": self.counter, "weak": self.weak}

    def set_memory(self, memory: dict[str, Any]) -> None:
        with self._lock:
            self.tokens = memory["tokens"]
            self.mail = memory["mail"]
            self.counter = memory["counter"]
            self.weak = memory["weak"]

    # -- the flow ----------------------------------------------------------------------------
    def _account(self, email: str) -> str | None:
        wanted = email.strip().lower()
        return next((name for name in self.auth.users if email_of(name) == wanted), None)

    def _new_token(self) -> str:
        if self.weak["sequential_tokens"]:
            self.counter += 1
            return str(self.counter - 1)  # WEAK MODE: the next number of a shared counter
        return secrets.token_urlsafe(32)

    def request(self, email: str, origin: str) -> bool:
        """Mail a reset link to `email` if an account has it; whether one did."""
        with self._lock:
            username = self._account(email)
            if username is None:
                return False
            token = self._new_token()
            now = self.auth.clock.now()
            self.tokens[_digest(token)] = ResetToken(username, now + self.settings.token_ttl_seconds)
            if len(self.tokens) > 10_000:
                self.tokens.pop(next(iter(self.tokens)))
            link = f"{origin}/reset-password?token={token}"
            inbox = self.mail.setdefault(email_of(username), [])
            inbox.insert(
                0,
                {
                    "to": email_of(username),
                    "subject": "Reset your password",
                    "text": f"Someone asked to reset the password of '{username}'. To choose a new one, open {link}",
                    "link": link,
                    "token": token,
                    "sent": now,
                },
            )
            del inbox[MAX_MESSAGES:]
            return True

    def confirm(self, token: str, password: str) -> str:
        """Set a new password with a reset token; the account's name. 400 for a token that does not work."""
        if len(password) < 8:
            raise ApiError(
                422,
                "the new password breaks the rules",
                errors=[{"field": "password", "message": "at least 8 characters"}],
            )
        with self._lock:
            record = self.tokens.get(_digest(token))
            if record is None:
                raise ApiError(400, REFUSED)
            if record.used and not self.weak["reusable_tokens"]:
                raise ApiError(400, REFUSED)
            if record.expires <= self.auth.clock.now() and not self.weak["tokens_never_expire"]:
                raise ApiError(400, REFUSED)
            user = self.auth.users.get(record.username)
            if user is None:
                raise ApiError(400, REFUSED)
            record.used = True
        self.auth.set_password(user.username, password)
        return user.username

    def inbox(self, username: str) -> dict[str, Any]:
        with self._lock:
            return {"email": email_of(username), "messages": list(self.mail.get(email_of(username), []))}


def _origin(request: Request, weak_host: bool) -> str:
    """Where the emailed link points. The server's own address (the socket it listens on), unless the weak
    mode takes the host the request names."""
    if weak_host:
        # WEAK MODE: the caller chooses the host of a link that goes to someone else's inbox
        host = request.headers.get("x-forwarded-host") or request.headers.get("host")
        if host:
            return "http://" + host.split(",")[0].strip()[:200]
    server = request.scope.get("server") or ("127.0.0.1", 0)
    return f"http://{server[0]}:{server[1]}"


def reset_routes(state: State) -> list[Route]:
    """`/auth/password-reset`, `/auth/password-reset/confirm`, `/auth/mailbox` and, with `weak.switchable`,
    `/_sandbox/password-reset`."""
    from sandboxes.api.auth_routes import current_principal, login_first

    service = state.password_reset
    assert service is not None

    async def ask(request: Request) -> Response:
        data = await read_json(request)
        email = data.get("email") if isinstance(data, dict) else None
        if not isinstance(email, str) or not email.strip() or len(email) > 254:
            raise ApiError(
                422,
                'send {"email": "..."}',
                errors=[{"field": "email", "message": "is required: a string of 1 to 254 characters"}],
            )
        known = service.request(email, _origin(request, service.weak["link_from_host_header"]))
        trace = trace_of(request.scope)
        if trace:
            trace.add("handler", "reset link mailed" if known else "no account has this email: nothing mailed")
        if not known and service.weak["tells_unknown_email"]:
            # WEAK MODE: it tells, and names the address it has no account for
            raise ApiError(404, f"no account has the email '{email.strip()}'", members={"email": email.strip()})
        return json_response({"detail": SAME_ANSWER}, 202, headers={"Cache-Control": "no-store"})

    async def confirm(request: Request) -> Response:
        data = await read_json(request)
        if not isinstance(data, dict):
            raise ApiError(422, 'send {"token": "...", "password": "..."}')
        errors = [
            {"field": name, "message": "is required and must be a string"}
            for name in ("token", "password")
            if not isinstance(data.get(name), str) or not data.get(name)
        ]
        if errors:
            raise ApiError(422, "token and password are required", errors=errors)
        username = await run_in_threadpool(service.confirm, str(data["token"])[:1000], str(data["password"]))
        trace = trace_of(request.scope)
        if trace:
            trace.add("handler", "password reset", user=username)
        return json_response(
            {"username": username, "detail": "the password is changed; log in with the new one"},
            headers={"Cache-Control": "no-store"},
        )

    async def mailbox(request: Request) -> Response:
        principal = current_principal(state, request)
        if principal is None:
            raise login_first(state)
        return json_response(service.inbox(principal.username), headers=PERSONAL)

    routes = [
        Route("/auth/password-reset", ask, methods=["POST"]),
        Route("/auth/password-reset/confirm", confirm, methods=["POST"]),
        Route("/auth/mailbox", mailbox, methods=["GET"]),
    ]
    weak = service.settings.weak
    if weak is not None and weak.switchable:
        routes.append(Route("/_sandbox/password-reset", _switch(state, service), methods=["GET", "PUT"]))
    return routes


def _switch(state: State, service: ResetService) -> Any:
    def describe() -> dict[str, Any]:
        return {
            "weak_modes": dict(service.weak),
            "fixes": FIXES,
            "change": 'PUT /_sandbox/password-reset with {"sequential_tokens": false} (or any of the modes)',
        }

    async def switch(request: Request) -> Response:
        if request.method == "PUT":
            data = await read_json(request)
            if not isinstance(data, dict) or not data:
                raise ApiError(422, 'send a JSON object such as {"sequential_tokens": false}')
            errors = [
                {"field": str(name)[:40], "message": f"must be one of {', '.join(WEAK_MODES)}, set to true or false"}
                for name, value in data.items()
                if name not in WEAK_MODES or not isinstance(value, bool)
            ]
            if errors:
                raise ApiError(422, "unknown weak mode or a value that is not true/false", errors=errors)
            with state.lock:
                service.weak.update(data)
            trace = trace_of(request.scope)
            if trace:
                trace.add("handler", "weak reset modes now: " + (", ".join(service.weak_modes) or "none"))
        return json_response(describe(), headers={"Cache-Control": "no-store"})

    return switch


def openapi_paths(service: ResetService | None, problem: Any, ok: Any, bad_body: dict[str, Any]) -> dict[str, Any]:
    """This flow's operations in /openapi.json (`problem` and `ok` are the document's own helpers)."""
    if service is None:
        return {}

    def body(schema: dict[str, Any]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": schema}}}

    detail = {"type": "object", "properties": {"detail": {"type": "string"}}}
    ask_answers: dict[str, Any] = {"202": ok("The same answer for every email", detail), **bad_body}
    if service.settings.weak is not None and service.settings.weak.tells_unknown_email:
        ask_answers["404"] = problem("No account has this email (a deliberately weak mode: it tells)")
    message = {
        "type": "object",
        "properties": {name: {"type": "string"} for name in ("to", "subject", "text", "link", "token")}
        | {"sent": {"type": "number"}},
    }
    paths: dict[str, Any] = {
        "/auth/password-reset": {
            "post": {
                "tags": ["auth"],
                "summary": "Ask for a password reset: a link is mailed to the account's address",
                "requestBody": body(
                    {
                        "type": "object",
                        "required": ["email"],
                        "properties": {"email": {"type": "string", "minLength": 1, "maxLength": 254}},
                    }
                ),
                "responses": ask_answers,
            }
        },
        "/auth/password-reset/confirm": {
            "post": {
                "tags": ["auth"],
                "summary": "Set a new password with the token of a reset link",
                "requestBody": body(
                    {
                        "type": "object",
                        "required": ["token", "password"],
                        "properties": {
                            "token": {"type": "string", "minLength": 1},
                            "password": {"type": "string", "minLength": 8},
                        },
                    }
                ),
                "responses": {
                    "200": ok(
                        "The password is changed", {"type": "object", "properties": {"username": {"type": "string"}}}
                    ),
                    # a token no server gave out is refused: no schema can say which strings those are
                    "400": problem("The token is unknown, used or expired (or the body is not JSON)"),
                    **{k: v for k, v in bad_body.items() if k != "400"},
                },
            }
        },
        "/auth/mailbox": {
            "get": {
                "tags": ["auth"],
                "summary": "Your own inbox: the reset mail sent to your account's address",
                "security": [{"bearer": []}],
                "responses": {
                    "200": ok(
                        "Newest first",
                        {
                            "type": "object",
                            "properties": {
                                "email": {"type": "string"},
                                "messages": {"type": "array", "items": message},
                            },
                        },
                    ),
                    "401": problem("Not logged in, or the credentials are not valid (WWW-Authenticate says why)"),
                    **{k: v for k, v in bad_body.items() if k == "429"},
                },
            }
        },
    }
    if service.settings.weak is not None and service.settings.weak.switchable:
        switch_schema = {"type": "object", "properties": {name: {"type": "boolean"} for name in WEAK_MODES}}
        paths["/_sandbox/password-reset"] = {
            "get": {
                "summary": "Which weak reset modes are on, and the code change that fixes each",
                "tags": ["sandbox controls"],
                "responses": {"200": ok("The weak modes now", {"type": "object"})},
            },
            "put": {
                "summary": "Turn weak reset modes off or on (stands in for the code fix)",
                "tags": ["sandbox controls"],
                "requestBody": body({**switch_schema, "minProperties": 1, "additionalProperties": False}),
                "responses": {
                    "200": ok("The weak modes now", {"type": "object"}),
                    **{k: v for k, v in bad_body.items() if k != "429"},
                },
            },
        }
    return paths
