"""Accounts, passwords (argon2), JWT access tokens, refresh tokens with rotation and revocation,
and cookie sessions. Plus, only when a lesson turns them on, deliberately weak verification modes.

PyJWT itself refuses `alg: none`; the weak verifier below is this sandbox's own, for "exploit it,
then fix it" lessons, and is never used unless `auth.weak` asks for it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandboxes.api.problems import ApiError
from tutor.pack.sandbox_api import Auth

if TYPE_CHECKING:
    from sandboxes.api.state import Clock

GUESSABLE_SECRET = "secret"  # noqa: S105 - deliberately weak, for the weak-auth lesson only
SESSION_COOKIE = "session"
WEAK_MODES = ("accept_alg_none", "guessable_secret", "skip_expiry", "skip_owner_check")


REALM = "sandbox"
USERNAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""ASCII letters, digits, '-' and '_' (str.isalnum() would also take 'é' and '٣')."""


def bearer_challenge(error: str | None = None, description: str | None = None) -> str:
    """A `WWW-Authenticate: Bearer ...` challenge (RFC 6750 §3; RFC 9110 §11.6.1 requires one on 401)."""
    params = [f'realm="{REALM}"']
    if error:
        params.append(f'error="{error}"')
    if description:
        params.append(f'error_description="{description}"')
    return "Bearer " + ", ".join(params)


def _unsigned(token: str) -> bool:
    """Whether a token's header names the algorithm `none` (in any case)."""
    try:
        part = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, TypeError, RecursionError):
        return False
    return isinstance(header, dict) and str(header.get("alg", "")).lower() == "none"


@dataclass
class User:
    username: str
    role: str
    password_hash: str | None = None
    """None for an account the lesson seeds: its hash is made when the sandbox is built (`hash_seeded`)."""


@dataclass(frozen=True)
class Principal:
    username: str
    role: str
    via: str  # "bearer" | "cookie"
    jti: str | None = None
    alg: str | None = None
    """How a bearer token was verified: "HS256" (its signature, with the server's key), or "none" when
    the weak mode `accept_alg_none` trusted it unsigned."""


@dataclass
class RefreshToken:
    username: str
    expires: float
    family: str
    revoked: bool = False


@dataclass
class AuthService:
    settings: Auth
    clock: Clock
    users: dict[str, User] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    revoked_jti: set[str] = field(default_factory=set)
    session_expiry: dict[str, float] = field(default_factory=dict)
    ended_sessions: set[str] = field(default_factory=set)
    """Ids of sessions ended by a logout: refused with their own message, so a replayed cookie shows
    the logout worked (and is not mistaken for an id that never existed)."""
    """session id -> lesson time when the server stops honouring it, whatever the browser does."""
    failed_logins: dict[str, tuple[int, float]] = field(default_factory=dict)
    """username -> (wrong passwords in a row, locked until), for `login_throttle`."""
    refresh_ttl: float = 7 * 24 * 3600
    pending_bearer: Any = None
    """With a second factor (`sandboxes.api.mfa`): token -> Principal for a login that passed only the password,
    which only the weak mode `pending_login_is_logged_in` returns; None otherwise."""

    def __post_init__(self) -> None:
        from argon2 import PasswordHasher

        self._hasher = PasswordHasher()
        self._lock = threading.Lock()
        self._seeded: dict[str, str] = {}
        """username -> argon2id hash of each account the lesson seeds, and "" -> the dummy hash an unknown
        user's password is checked against. Made once, when the sandbox is built; not part of the
        snapshot (it never changes), so a restored snapshot finds it whole."""
        self._hashed = threading.Event()
        self._hashing: threading.Thread | None = None
        weak = self.settings.weak
        self.weak: dict[str, bool] = {name: bool(weak and getattr(weak, name)) for name in WEAK_MODES}
        """The weak modes in force now; a lesson with `weak.switchable` lets the learner change them."""
        self.secret = GUESSABLE_SECRET if self.weak["guessable_secret"] else secrets.token_urlsafe(32)
        for seed in self.settings.users:
            self.users[seed.username] = User(seed.username, seed.role)

    @property
    def weak_modes(self) -> list[str]:
        return [name for name in WEAK_MODES if self.weak[name]]

    def set_weak(self, name: str, on: bool) -> None:
        """Turn one weak mode on or off, as the code change that fixes it would. A new key for
        `guessable_secret` makes every token signed with the old one invalid, as rotating a key does."""
        with self._lock:
            if self.weak[name] == on:
                return
            self.weak[name] = on
            if name == "guessable_secret":
                self.secret = GUESSABLE_SECRET if on else secrets.token_urlsafe(32)

    # -- the state model (sandboxes.api.state) ------------------------------------------------
    def memory(self) -> dict[str, Any]:
        """What a snapshot keeps: accounts, refresh-token families, sessions, the deny-list."""
        with self._lock:
            return {
                "users": self.users,
                "refresh_tokens": self.refresh_tokens,
                "sessions": self.sessions,
                "revoked_jti": self.revoked_jti,
                "session_expiry": self.session_expiry,
                "ended_sessions": self.ended_sessions,
                "failed_logins": self.failed_logins,
                "weak": self.weak,
                "secret": self.secret,
            }

    def set_memory(self, memory: dict[str, Any]) -> None:
        with self._lock:
            self.users = memory["users"]
            self.refresh_tokens = memory["refresh_tokens"]
            self.sessions = memory["sessions"]
            self.revoked_jti = memory["revoked_jti"]
            self.session_expiry = memory["session_expiry"]
            self.ended_sessions = memory["ended_sessions"]
            self.failed_logins = memory["failed_logins"]
            self.weak = memory["weak"]
            self.secret = memory["secret"]

    # -- passwords ---------------------------------------------------------------------------
    def hash_seeded(self) -> None:
        """Hash the seeded accounts' passwords and the dummy hash, in a thread of its own: the sandbox
        calls it once it serves, so its start stays quick. Every login waits until it is done, a known
        account's and an unknown user's alike, so no login is slower for having never been tried (a
        first failed login that paid a hash of its own would tell which usernames exist)."""
        with self._lock:
            if self._hashing is not None:
                return
            passwords = {seed.username: seed.password for seed in self.settings.users}
            self._hashing = threading.Thread(
                target=self._hash_all, args=(passwords,), name="auth-seeded-hashes", daemon=True
            )
        self._hashing.start()

    def _hash_all(self, passwords: dict[str, str]) -> None:
        try:
            self._seeded[""] = self._hasher.hash(secrets.token_hex(16))
            for username, password in passwords.items():
                self._seeded[username] = self._hasher.hash(password)
        finally:
            self._hashed.set()

    def _seeded_hashes(self) -> dict[str, str]:
        self.hash_seeded()  # an app built without the sandbox server (a test client) hashes here
        self._hashed.wait()
        return self._seeded

    def _hash_of(self, user: User | None) -> str | None:
        """The stored hash of `user`'s password; None for no such user (or one whose sign-up is still
        being hashed)."""
        seeded = self._seeded_hashes()
        if user is None:
            return None
        return user.password_hash if user.password_hash is not None else seeded.get(user.username)

    def register(self, username: str, password: str, role: str = "user") -> User:
        problems = []
        if not USERNAME.fullmatch(username):
            problems.append({"field": "username", "message": "1 to 64 letters, digits, '-' or '_'"})
        if len(password) < 8:
            problems.append({"field": "password", "message": "at least 8 characters"})
        if problems:
            raise ApiError(422, "the account details break the rules", errors=problems)
        with self._lock:
            # "Bob" is bob to a person, and to a mail address (NAME@example.com, where the reset links go)
            if username in self.users or any(name.casefold() == username.casefold() for name in self.users):
                raise ApiError(409, f"the username '{username}' is taken")
            self.users[username] = User(username, role)
        self.users[username].password_hash = self._hasher.hash(password)
        return self.users[username]

    def set_password(self, username: str, password: str) -> None:
        """A new password for an account (a password reset): whoever was logged in with the old one, by a
        cookie session or a refresh token, is logged out. Access tokens live out their short lifetime."""
        password_hash = self._hasher.hash(password)
        with self._lock:
            user = self.users[username]
            user.password_hash = password_hash
            for sid in [sid for sid, name in self.sessions.items() if name == username]:
                del self.sessions[sid]
                if len(self.ended_sessions) < 10_000:
                    self.ended_sessions.add(sid)
            for record in self.refresh_tokens.values():
                if record.username == username:
                    record.revoked = True
            self.failed_logins.pop(username, None)

    def _throttle_check(self, username: str) -> None:
        if self.settings.login_throttle is None:
            return
        with self._lock:
            _, locked_until = self.failed_logins.get(username, (0, 0.0))
        left = locked_until - self.clock.now()
        if left > 0:
            # Checked before the password: a right guess during the lock must not be told apart.
            wait = max(1, int(left + 0.999))
            raise ApiError(
                429,
                f"too many failed logins for this account; try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )

    def _throttle_record(self, username: str, ok: bool) -> None:
        throttle = self.settings.login_throttle
        if throttle is None:
            return
        with self._lock:
            if ok:
                self.failed_logins.pop(username, None)
                return
            count, _ = self.failed_logins.get(username, (0, 0.0))
            count += 1
            locked_until = self.clock.now() + throttle.lockout_seconds if count >= throttle.max_failures else 0.0
            if len(self.failed_logins) >= 10_000 and username not in self.failed_logins:
                self.failed_logins.pop(next(iter(self.failed_logins)))
            self.failed_logins[username] = (0 if locked_until else count, locked_until)

    def login(self, username: str, password: str) -> User:
        """Check a password; with `login_throttle`, per-account locking (unknown usernames alike)."""
        self._throttle_check(username)
        try:
            user = self._login(username, password)
        except ApiError:
            self._throttle_record(username, ok=False)
            raise
        self._throttle_record(username, ok=True)
        return user

    def _login(self, username: str, password: str) -> User:
        from argon2.exceptions import VerificationError, VerifyMismatchError

        user = self.users.get(username)
        stored = self._hash_of(user)
        if user is None or stored is None:
            # Same work as a real check, so response time does not tell which usernames exist.
            with contextlib.suppress(VerifyMismatchError, VerificationError):
                self._hasher.verify(self._seeded_hashes()[""], password)
            raise ApiError(401, "wrong username or password", headers={"WWW-Authenticate": bearer_challenge()})
        try:
            self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError) as exc:
            raise ApiError(401, "wrong username or password", headers={"WWW-Authenticate": bearer_challenge()}) from exc
        return user

    # -- tokens ------------------------------------------------------------------------------
    def issue_access(self, user: User) -> tuple[str, int]:
        import jwt

        now = int(self.clock.now())
        ttl = self.settings.access_ttl_seconds
        claims = {
            "sub": user.username,
            "role": user.role,
            "iat": now,
            "exp": now + ttl,
            "jti": secrets.token_hex(8),
            "typ": "access",
        }
        with self._weak_key_quiet():
            return jwt.encode(claims, self.secret, algorithm="HS256"), ttl

    @contextlib.contextmanager
    def _weak_key_quiet(self) -> Iterator[None]:
        """PyJWT warns about the 6-byte guessable key on every use; the lesson wants that key, and the
        warning would land on the learner's terminal."""
        import warnings

        from jwt.warnings import InsecureKeyLengthWarning

        with warnings.catch_warnings():
            if self.secret == GUESSABLE_SECRET:
                warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            yield

    def issue_refresh(self, user: User, family: str | None = None) -> str:
        token = secrets.token_urlsafe(32)
        self.refresh_tokens[token] = RefreshToken(
            user.username, self.clock.now() + self.refresh_ttl, family or secrets.token_hex(8)
        )
        return token

    def rotate_refresh(self, token: str) -> tuple[User, str]:
        with self._lock:
            record = self.refresh_tokens.get(token)
            if record is None or record.expires < self.clock.now():
                raise ApiError(
                    401,
                    "unknown or expired refresh token",
                    headers={"WWW-Authenticate": bearer_challenge("invalid_token", "unknown refresh token")},
                )
            if record.revoked:
                # A revoked token used again: someone else may hold it. Revoke the whole family.
                for other in self.refresh_tokens.values():
                    if other.family == record.family:
                        other.revoked = True
                raise ApiError(
                    401,
                    "this refresh token was already used or revoked; log in again",
                    headers={"WWW-Authenticate": bearer_challenge("invalid_token", "refresh token reused")},
                )
            record.revoked = True
            user = self.users.get(record.username)
            if user is None:
                raise ApiError(401, "the account no longer exists", headers={"WWW-Authenticate": bearer_challenge()})
            return user, self.issue_refresh(user, record.family)

    def revoke_refresh(self, token: str) -> bool:
        record = self.refresh_tokens.get(token)
        if record is None:
            return False
        record.revoked = True
        return True

    def start_session(self, user: User) -> str:
        sid = secrets.token_urlsafe(24)
        self.sessions[sid] = user.username
        self.session_expiry[sid] = self.clock.now() + self.settings.session_ttl_seconds
        return sid

    def end_session(self, sid: str) -> bool:
        """Log one session out: the server forgets it at once. False when there was no such session."""
        with self._lock:
            if self.sessions.pop(sid, None) is None:
                return False
            if len(self.ended_sessions) < 10_000:
                self.ended_sessions.add(sid)
            return True

    # -- verifying ---------------------------------------------------------------------------
    def _decode(self, token: str) -> dict[str, Any]:
        import jwt

        if self.weak["accept_alg_none"]:
            try:
                # An unsigned JWT is `header.payload.`, its third part empty (RFC 7519 §6.1); a string
                # of two parts is no JWT at all, and PyJWT below refuses it as malformed.
                header_b64, payload_b64, _signature = token.split(".")
                header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
                if isinstance(header, dict) and str(header.get("alg", "")).lower() == "none":
                    payload = json.loads(base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4)))
                    if isinstance(payload, dict):
                        return payload  # WEAK MODE: an unsigned token is trusted as it is
            except (ValueError, TypeError, RecursionError):
                pass  # not an unsigned token: PyJWT below says what is wrong with it
        # PyJWT compares `exp` with the wall clock; the sandbox's clock may be ahead of it (a lesson
        # waited). A negative leeway of that offset makes PyJWT's `exp <= now - leeway` read
        # `exp <= lesson now`, so expiry is still PyJWT's own check. `iat` is not checked for being in
        # the future (RFC 7519 §4.1.6 gives it no such rule; with the lesson clock ahead it would be).
        options: dict[str, Any] = {"require": ["exp", "sub"], "verify_iat": False, "verify_nbf": False}
        if self.weak["skip_expiry"]:
            options["verify_exp"] = False  # WEAK MODE: expired tokens still work
        try:
            with self._weak_key_quiet():
                claims: dict[str, Any] = jwt.decode(
                    token,
                    self.secret,
                    algorithms=["HS256"],
                    options=options,  # type: ignore[arg-type]
                    leeway=-self.clock.offset,
                )
        except jwt.ExpiredSignatureError as exc:
            raise ApiError(
                401,
                "the access token has expired; refresh it or log in again",
                headers={"WWW-Authenticate": bearer_challenge("invalid_token", "the access token expired")},
            ) from exc
        except jwt.MissingRequiredClaimError as exc:
            raise ApiError(
                401,
                f"the access token has no '{exc.claim}' claim",
                headers={"WWW-Authenticate": bearer_challenge("invalid_token", "a required claim is missing")},
            ) from exc
        except jwt.InvalidSignatureError as exc:
            raise ApiError(
                401,
                "the access token's signature does not match: it was changed or signed with another key",
                headers={"WWW-Authenticate": bearer_challenge("invalid_token", "bad signature")},
            ) from exc
        except jwt.InvalidAlgorithmError as exc:
            raise ApiError(
                401,
                "the access token is signed with an algorithm this API does not accept (it accepts HS256)",
                headers={"WWW-Authenticate": bearer_challenge("invalid_token", "algorithm not accepted")},
            ) from exc
        except jwt.InvalidTokenError as exc:
            # PyJWT's own message names its internals ("Invalid header padding", ...): not shown.
            raise ApiError(
                401,
                "the access token is not a valid JWT: expected three base64url parts, header.payload.signature",
                headers={"WWW-Authenticate": bearer_challenge("invalid_token", "malformed token")},
            ) from exc
        self._check_not_before(claims)
        return claims

    def _check_not_before(self, claims: dict[str, Any]) -> None:
        """`nbf` (RFC 7519 §4.1.5) against the lesson clock: PyJWT's own check would compare it with the
        wall clock moved the wrong way by the negative leeway that serves `exp`."""
        if "nbf" not in claims:
            return
        nbf = claims["nbf"]
        if isinstance(nbf, bool) or not isinstance(nbf, (int, float)):
            raise ApiError(
                401,
                "the access token's 'nbf' claim is not a number of seconds",
                headers={"WWW-Authenticate": bearer_challenge("invalid_token", "malformed token")},
            )
        if nbf > self.clock.now():
            raise ApiError(
                401,
                "the access token is not valid yet: its 'nbf' (not before) time has not come",
                headers={"WWW-Authenticate": bearer_challenge("invalid_token", "the token is not valid yet")},
            )

    def authenticate(self, headers: Any, cookies: dict[str, str]) -> Principal | None:
        """Who is asking: None when no credentials were sent; ApiError(401) when they are bad."""
        authorization = headers.get("authorization")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise ApiError(
                    401,
                    "use 'Authorization: Bearer <access token>'",
                    headers={"WWW-Authenticate": bearer_challenge()},
                )
            if self.pending_bearer is not None:
                pending = self.pending_bearer(token.strip())
                if pending is not None:
                    return pending
            claims = self._decode(token.strip())
            # Weak modes trust an unsigned payload as it is: claims of the wrong type are a malformed
            # token (401), never a crash. Permissive, not broken.
            wrong = [name for name in ("sub", "role", "jti") if name in claims and not isinstance(claims[name], str)]
            if wrong:
                raise ApiError(
                    401,
                    f"the access token's '{wrong[0]}' claim is not a string",
                    headers={"WWW-Authenticate": bearer_challenge("invalid_token", "malformed token")},
                )
            if claims.get("jti") in self.revoked_jti:
                raise ApiError(
                    401,
                    "the access token was revoked (logged out)",
                    headers={"WWW-Authenticate": bearer_challenge("invalid_token", "the token was revoked")},
                )
            alg = "none" if _unsigned(token.strip()) else "HS256"  # only the weak mode lets an unsigned one through
            return Principal(str(claims.get("sub")), str(claims.get("role", "user")), "bearer", claims.get("jti"), alg)
        sid = cookies.get(SESSION_COOKIE)
        if sid and self.settings.cookie_sessions:
            username = self.sessions.get(sid)
            if username is None and sid in self.ended_sessions:
                raise ApiError(
                    401,
                    "this session was logged out; log in again",
                    headers={"WWW-Authenticate": bearer_challenge()},
                )
            if username is not None and self.session_expiry.get(sid, float("inf")) <= self.clock.now():
                # Expired on the server's clock, whatever the browser kept. Said as such: a client can
                # tell "log in again, it timed out" from "this id was never valid".
                raise ApiError(
                    401,
                    "the session expired on the server; log in again",
                    headers={"WWW-Authenticate": bearer_challenge()},
                )
            user = self.users.get(username) if username else None
            if user is None:
                raise ApiError(
                    401,
                    "the session cookie is unknown or ended; log in again",
                    headers={"WWW-Authenticate": bearer_challenge()},
                )
            return Principal(user.username, user.role, "cookie")
        return None
