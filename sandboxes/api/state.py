"""Everything the API sandbox remembers between requests, and the lesson clock it reads time from.

The state model (docs/sandbox-api.md, "State"): the SQL database lives in its own file; everything
else the API holds is here, in memory, and `State.snapshot()` / `State.restore()` copy it as one
piece: the application cache, the rate-limit buckets, the idempotency store, the accounts, sessions,
refresh-token families and the access-token deny-list, the relation loading strategies and the caching switch a
learner changed, the times of the last writes, and the clock's offset. `pack test` and the learner's
"reset this step" put the database and this snapshot back together.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandboxes.api.database import Database

if TYPE_CHECKING:
    from sandboxes.api.auth import AuthService
    from sandboxes.api.logs import RequestLog
    from sandboxes.api.mfa import MfaService
    from sandboxes.api.password_reset import ResetService
    from tutor.pack.sandbox_api import ApiSettings, Resource

SETTLE_SECONDS = 5.0
"""Real seconds a settle (after the clock moved, before a check) spends sending webhooks at most."""
MAX_ADVANCE = 366 * 24 * 3600
"""The most one `POST /_sandbox/clock` (or one `wait`) may move the clock: a year and a day."""


class Clock:
    """Lesson time: the wall clock plus an offset that `advance()` grows.

    Starts at real time; `advance` only moves it forward. Restoring a snapshot puts the offset back
    (the clock returns to where the step opened, plus the real time since). `latency_ms` and every
    duration the tutor measures stay on the real clock: only what the API *says* about time follows
    this one (token `iat`/`exp`, cache TTL and `Age`, rate-limit refill, `Retry-After`, `Date`,
    `Last-Modified`)."""

    def __init__(self) -> None:
        self.offset = 0.0
        self._changes: list[tuple[float, float]] = [(0.0, 0.0)]
        """(wall time from which, offset in effect): to date a wall-clock instant (a file's mtime)."""
        self._lock = threading.Lock()

    def now(self) -> float:
        """Seconds since the epoch, lesson time."""
        return time.time() + self.offset

    def advance(self, seconds: float) -> float:
        if not 0 <= seconds <= MAX_ADVANCE:
            raise ValueError(f"an advance must be between 0 and {MAX_ADVANCE} seconds")
        with self._lock:
            self._set(self.offset + seconds)
        return self.now()

    def _set(self, offset: float) -> None:
        self.offset = offset
        self._changes.append((time.time(), offset))
        del self._changes[:-64]

    def at(self, wall: float) -> float:
        """The lesson time of the wall-clock instant `wall` (a file's modification time)."""
        offset = self._changes[0][1]
        for since, value in self._changes:
            if since <= wall:
                offset = value
        return wall + offset

    def set_offset(self, offset: float) -> None:
        with self._lock:
            self._set(offset)


@dataclass
class CacheEntry:
    body: bytes
    headers: dict[str, str]
    stored: float  # lesson time
    expires: float  # lesson time
    db_ms: float
    missing: str | None = None
    """A negative entry: the item did not exist, and this is the 404's detail."""


@dataclass
class IdempotentResult:
    fingerprint: str
    status: int = 0
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    done: bool = False


class TokenBucket:
    """`capacity` tokens, `refill` per second of lesson time."""

    def __init__(self, capacity: int, refill: float, now: float) -> None:
        self.capacity = capacity
        self.refill = refill
        self.tokens = float(capacity)
        self.updated = now

    def take(self, now: float) -> tuple[bool, float]:
        """(allowed, seconds until the next token)."""
        self.tokens = min(self.capacity, self.tokens + max(now - self.updated, 0.0) * self.refill)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True, 0.0
        return False, (1 - self.tokens) / self.refill


class State:
    def __init__(self, settings: ApiSettings, database: Path | None) -> None:
        self.settings = settings
        self.db = Database(database)
        self.clock = Clock()
        self.lock = threading.RLock()
        """Guards every dictionary below; held briefly, never across a database call."""
        self.cache: dict[tuple[str, ...], CacheEntry] = {}
        self.idempotency: dict[str, IdempotentResult] = {}
        self.buckets: dict[str, TokenBucket] = {}  # by caller (`recorder.caller_key`)
        self.last_write: dict[str, float] = {}
        """table -> lesson time of the API's last write to it."""
        self.started = self.clock.now()
        self.strategies: dict[tuple[str, str], str] = {}
        """(resource, relation) -> strategy the learner switched to through /_sandbox/relations."""
        self.cache_switch: dict[str, Any] = {}
        """`app_cache_ttl` / `single_flight` / `cache_control` as the learner set them through /_sandbox/caching."""
        self.loading: dict[tuple[str, ...], asyncio.Future[CacheEntry]] = {}
        """Cache keys being loaded now (single flight): later misses of the same key wait for that load."""
        self.upstreams: Any = None
        """The lesson's upstreams (`sandboxes.api.upstream.UpstreamHub`), when it declares any."""
        self.edge: Any = None
        """The shared cache at /edge/... (`sandboxes.api.edge.Edge`), with `edge`."""
        """The lesson's upstreams (`sandboxes.api.upstream.UpstreamHub`), when it declares any."""
        self.jobs: Any = None
        """The job table's worker (`sandboxes.api.jobs.JobQueue`), with `jobs`."""
        self.webhooks: Any = None
        """Events and their deliveries (`sandboxes.api.webhooks.WebhookHub`), with `webhooks`."""
        self.cors: Any = None
        """The CORS policy and its weak mode as switched (`sandboxes.api.cors.CorsPolicy`), with `cors`."""
        self.log: RequestLog | None = None
        """The request log (lessons with `logs`): not memory of the API, so not in the snapshot."""
        self.auth: AuthService | None = None
        self.password_reset: ResetService | None = None
        """The password reset flow and its mailbox (`auth.password_reset`)."""
        self.mfa: MfaService | None = None
        """The second factor (`auth.mfa`)."""
        if settings.auth is not None:
            from sandboxes.api.auth import AuthService

            self.auth = AuthService(settings.auth, self.clock)
            if settings.auth.password_reset is not None:
                from sandboxes.api.password_reset import ResetService

                self.password_reset = ResetService(settings.auth.password_reset, self.auth)
            if settings.auth.mfa is not None:
                from sandboxes.api.mfa import MfaService

                self.mfa = MfaService(settings.auth.mfa, self.auth)

    def weak_auth_modes(self) -> list[str]:
        """The deliberately weak auth modes on now (the token checks', the password reset's, the second factor's)."""
        modes = list(self.auth.weak_modes) if self.auth is not None else []
        modes += self.password_reset.weak_modes if self.password_reset is not None else []
        return modes + (self.mfa.weak_modes if self.mfa is not None else [])

    @property
    def cache_lock(self) -> threading.RLock:
        return self.lock

    def invalidate(self, resource: str) -> None:
        with self.lock:
            for key in [k for k in self.cache if k[1] == resource]:
                del self.cache[key]

    def written(self, resource: str, mode: str, payload: Any, item_id: Any, request_id: str | None = None) -> None:
        """A write to `resource` succeeded: the jobs and webhook events the lesson ties to it (if any),
        carrying the id of the request that wrote (with `logs`)."""
        if self.jobs is not None or self.webhooks is not None:
            from sandboxes.api.background import written

            written(self, resource, mode, payload, item_id, request_id)

    def settle(self, budget: float = SETTLE_SECONDS) -> None:
        """Bring the background work up to the lesson clock's now: the job worker catches up and due
        webhook deliveries are sent (for `budget` seconds of real time at most: an app that never
        answers costs a timeout per attempt). After the clock moves, and before a check reads the state."""
        if self.jobs is not None:
            self.jobs.catch_up()
        if self.webhooks is not None and self.webhooks.due(self.clock.now()):
            self.webhooks.catch_up(budget)

    def cache_ttl(self) -> float | None:
        """Seconds an application cache entry lives (None: no application cache)."""
        caching = self.settings.caching
        if caching is None:
            return None
        ttl = self.cache_switch.get("app_cache_ttl", caching.app_cache_ttl)
        return float(ttl) if ttl else None

    def negative_ttl(self) -> float | None:
        """Seconds a 404 of an item stays in the application cache (None: 404s are not stored)."""
        caching = self.settings.caching
        if caching is None or not self.cache_ttl():
            return None
        ttl = self.cache_switch.get("negative_ttl", caching.negative_ttl)
        return float(ttl) if ttl else None

    def invalidate_on_create(self) -> bool:
        caching = self.settings.caching
        return bool(self.cache_switch.get("invalidate_on_create", caching.invalidate_on_create if caching else True))

    def single_flight(self) -> bool:
        caching = self.settings.caching
        return bool(caching and self.cache_switch.get("single_flight", caching.single_flight))

    def cache_control(self, resource: Resource) -> str | None:
        chosen = self.cache_switch.get("cache_control", {})
        if resource.name in chosen:
            return str(chosen[resource.name]) or None
        if resource.cache_control is not None:
            return resource.cache_control
        return self.settings.caching.cache_control if self.settings.caching else None

    def last_modified(self, table: str) -> float:
        """When `table` last changed, lesson time: the API's own writes, or the database file's."""
        modified = self.db.modified()
        return max(self.clock.at(modified) if modified else 0.0, self.last_write.get(table, 0.0), self.started - 1)

    # -- the state model -------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """A deep copy of all the API's memory (not the database: the SQL sandbox snapshots that)."""
        with self.lock:
            memory: dict[str, Any] = {
                "cache": self.cache,
                "idempotency": {k: v for k, v in self.idempotency.items() if v.done},
                "buckets": self.buckets,
                "last_write": self.last_write,
                "strategies": self.strategies,
                "cache_switch": self.cache_switch,
                "clock_offset": self.clock.offset,
            }
            if self.auth is not None:
                memory["auth"] = self.auth.memory()
            if self.password_reset is not None:
                memory["password_reset"] = self.password_reset.memory()
            if self.mfa is not None:
                memory["mfa"] = self.mfa.memory()
            if self.upstreams is not None:
                memory["upstreams"] = self.upstreams.memory
            if self.edge is not None:
                memory["edge"] = self.edge.memory
            if self.jobs is not None:
                memory["jobs"] = self.jobs.memory
            if self.webhooks is not None:
                memory["webhooks"] = self.webhooks.memory
            if self.cors is not None:
                memory["cors"] = self.cors.memory
            return copy.deepcopy(memory)

    def restore(self, snapshot: dict[str, Any]) -> None:
        memory = copy.deepcopy(snapshot)
        with contextlib.ExitStack() as busy:
            # wait for a delivery being sent and a worker catching up: they write into what is replaced
            if self.webhooks is not None:
                busy.enter_context(self.webhooks.sending)
            if self.jobs is not None:
                busy.enter_context(self.jobs.running)
            self._restore(memory)

    def _restore(self, memory: dict[str, Any]) -> None:
        with self.lock:
            self.cache = memory["cache"]
            self.idempotency = memory["idempotency"]
            self.buckets = memory["buckets"]
            self.last_write = memory["last_write"]
            self.strategies = memory["strategies"]
            self.cache_switch = memory["cache_switch"]
            self.clock.set_offset(memory["clock_offset"])
            if self.auth is not None and "auth" in memory:
                self.auth.set_memory(memory["auth"])
            if self.password_reset is not None and "password_reset" in memory:
                self.password_reset.set_memory(memory["password_reset"])
            if self.mfa is not None and "mfa" in memory:
                self.mfa.set_memory(memory["mfa"])
            if self.upstreams is not None and "upstreams" in memory:
                self.upstreams.memory = memory["upstreams"]
            if self.edge is not None and "edge" in memory:
                self.edge.memory = memory["edge"]
            if self.jobs is not None and "jobs" in memory:
                self.jobs.memory = memory["jobs"]
                self.jobs.wake()
            if self.webhooks is not None and "webhooks" in memory:
                self.webhooks.memory = memory["webhooks"]
            if self.cors is not None and "cors" in memory:
                self.cors.memory = memory["cors"]
