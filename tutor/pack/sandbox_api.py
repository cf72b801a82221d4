"""The `sandboxes.api` settings of a lesson: a real HTTP API on 127.0.0.1, each feature off unless asked.

Resources are read from (and written to) the lesson's SQL database, so a lesson can have a slow
endpoint that the learner makes fast by adding an index.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from tutor.pack.base import Identifier, JsonValue, Model, Slug
from tutor.pack.sandbox_cors import Cors, Redirect
from tutor.pack.sandbox_log_history import LogHistory


class Relation(Model):
    """Embed a related row in each item: `author` from `authors` by `author_id`."""

    name: Identifier
    table: Identifier
    foreign_key: Identifier = Field(description="The column of this resource's table that points at `table`.")
    strategy: Literal["per_row", "select_in", "join"] = Field(
        default="select_in",
        description="'per_row' runs one query per item (the N+1 pattern a lesson can expose); 'select_in' one "
        "query for the whole page, `WHERE id IN (...)` (SQLAlchemy's selectinload). 'join' is an old name "
        "of 'select_in', still accepted.",
    )
    switchable: bool = Field(
        default=False,
        description="The learner may change `strategy` while the lesson runs, through "
        "PUT /_sandbox/relations/{resource}/{relation}: it stands in for the code change (eager loading, "
        "an IN query) that fixes an N+1.",
    )

    @field_validator("strategy")
    @classmethod
    def _old_name(cls, value: str) -> str:
        return "select_in" if value == "join" else value


class Resource(Model):
    """A collection at /v1/{name} and its items at /v1/{name}/{id}, backed by one table."""

    name: Slug
    table: Identifier
    id_column: Identifier = "id"
    fields: list[Identifier] | None = Field(default=None, description="Columns returned; default: all.")
    filters: dict[str, Identifier] = Field(
        default_factory=dict, description="Query parameter -> column, compared for equality: {author: author_id}."
    )
    sortable: list[Identifier] = Field(
        default_factory=list, description="Columns `?sort=` accepts ('-col' for descending)."
    )
    pagination: Literal["offset", "cursor", "none"] = "offset"
    page_size: int = Field(default=20, ge=1, le=1000)
    max_page_size: int = Field(default=100, ge=1, le=10000)
    writable: bool = Field(default=False, description="POST, PUT, PATCH and DELETE are allowed.")
    required: list[Identifier] = Field(
        default_factory=list,
        description="Fields a POST and a PUT must send (422 without them), beside the table's NOT NULL "
        "columns that have no default, which are always required. A PATCH may leave them out, not null them.",
    )
    require_preconditions: bool = Field(
        default=False,
        description="PUT, PATCH and DELETE of an item need If-Match (or If-Unmodified-Since): 428 Precondition "
        "Required without one (RFC 6585 §3), 412 when it does not hold. Items then carry an ETag.",
    )
    relations: list[Relation] = Field(default_factory=list)
    latency_ms: int = Field(default=0, ge=0, le=10000, description="Extra delay per request, to make slowness felt.")
    auth: Literal["none", "read", "write"] = Field(
        default="none", description="'read': every call needs a login; 'write': only changes do."
    )
    write_role: str | None = Field(default=None, description="Role needed for changes (403 without it).")
    owner_column: Identifier | None = Field(
        default=None,
        description="Object-level authorization: each row belongs to the user named in this column. "
        "Lists show the caller's own rows; another user's item answers 404 as if it did not exist "
        "(RFC 9110 15.5.5); a POST stores the caller as the owner. Needs `auth: read`.",
    )

    cache_control: str | None = Field(
        default=None, description="This resource's Cache-Control, instead of `caching.cache_control`."
    )

    @model_validator(mode="after")
    def _owner_needs_login(self) -> Resource:
        if self.owner_column and self.auth != "read":
            raise ValueError("`owner_column` needs `auth: read`: only a logged-in caller owns rows")
        return self


class HttpCaching(Model):
    etag: bool = False
    last_modified: bool = False
    cache_control: str | None = Field(default=None, description="Sent on cacheable GETs: 'max-age=60', 'no-cache', ...")
    app_cache_ttl: float | None = Field(
        default=None, gt=0, description="Seconds; turns on the cache-aside application cache (X-Cache: HIT|MISS)."
    )
    single_flight: bool = Field(
        default=False,
        description="Concurrent misses of one key share a single database load: the first request loads, "
        "the others wait for it and share its answer (X-Cache: MISS, Cache-Status: sandbox; fwd=miss; collapsed).",
    )
    negative_ttl: float | None = Field(
        default=None,
        gt=0,
        le=86400,
        description="Seconds a 404 of an item is kept in the application cache (a negative entry), so a repeat "
        "of an unknown id does not reach the database; none: 404s are never stored. Needs `app_cache_ttl`.",
    )
    invalidate_on_create: bool = Field(
        default=True,
        description="A POST drops the resource's cache entries, the negative entry of the new id among them. "
        "false: the create handler deletes nothing (the bug that leaves a stale 404).",
    )
    switchable: bool = Field(
        default=False,
        description="The learner may change `app_cache_ttl`, `single_flight` and each resource's `cache_control` "
        "(and `negative_ttl`, `invalidate_on_create`) while the lesson runs, through PUT /_sandbox/caching: it "
        "stands in for the code change that adds a cache, a per-key lock, a header or an invalidation.",
    )


class RateLimit(Model):
    capacity: int = Field(ge=1, description="Token bucket size: the burst allowed.")
    refill_per_second: float = Field(gt=0)


class WeakAuth(Model):
    """Deliberately broken verification, for an 'exploit it, then fix it' lesson only. Labelled in the tutor."""

    accept_alg_none: bool = False
    guessable_secret: bool = False
    skip_expiry: bool = False
    skip_owner_check: bool = Field(
        default=False,
        description="Ignore `owner_column` for rows asked for by id: lists stay scoped to the caller, but any "
        "logged-in user reads, changes or deletes anyone's row at /{resource}/{id} (OWASP API1:2023 BOLA).",
    )
    switchable: bool = Field(
        default=False,
        description="The learner may turn each weak mode off (and on) through PUT /_sandbox/auth: it stands in "
        "for the code change that fixes it (pin the algorithm, a random key, check exp, check the owner).",
    )


class WeakReset(Model):
    """Deliberately broken password reset, for an 'exploit it, then fix it' lesson only. Labelled in the tutor."""

    sequential_tokens: bool = Field(
        default=False,
        description="Each reset token is the next number of a counter shared by every account: a learner who "
        "reads one of their own guesses the next one, someone else's (OWASP Forgot Password: tokens must be random).",
    )
    reusable_tokens: bool = Field(default=False, description="A token still works after it reset the password.")
    tokens_never_expire: bool = Field(default=False, description="A token works however old it is.")
    link_from_host_header: bool = Field(
        default=False,
        description="The emailed link is built from the request's `X-Forwarded-Host` or `Host` header, which "
        "the caller chooses: reset poisoning, the victim's token sent to the attacker's site.",
    )
    tells_unknown_email: bool = Field(
        default=False, description="A reset for an email with no account answers 404 (which says who has one)."
    )
    switchable: bool = Field(
        default=False,
        description="The learner may turn each weak mode off (and on) through PUT /_sandbox/password-reset: it "
        "stands in for the code change that fixes it.",
    )


class PasswordReset(Model):
    """A password reset flow: `POST /auth/password-reset` mails a one-time link to the account's address
    (`USERNAME@example.com`), `GET /auth/mailbox` is a logged-in learner's own inbox, and
    `POST /auth/password-reset/confirm` sets a new password with the link's token. By default it does
    what OWASP's Forgot Password Cheat Sheet asks: a random single-use token, stored hashed, that
    expires; the same answer for every email; a link built from the server's own address."""

    token_ttl_seconds: int = Field(
        default=900, ge=1, le=86400, description="Lesson seconds a reset token works (unless a weak mode says so)."
    )
    weak: WeakReset | None = None


class WeakMfa(Model):
    """Deliberately broken second factor, for an 'exploit it, then fix it' lesson only. Labelled in the tutor."""

    pending_login_is_logged_in: bool = Field(
        default=False,
        description="The `mfa_token` of a login that has passed the password but not the code is accepted as a "
        "bearer token: the second step can be skipped.",
    )
    unlimited_code_attempts: bool = Field(
        default=False, description="Wrong codes are never counted: a short code falls to a brute force."
    )
    switchable: bool = Field(
        default=False,
        description="The learner may turn each weak mode off (and on) through PUT /_sandbox/mfa: it stands in for "
        "the code change that fixes it.",
    )


class Mfa(Model):
    """A second factor: after the right password, `POST /auth/login` answers `mfa_required` and an `mfa_token`,
    and `POST /auth/mfa/verify` with that token and the one-time code gives the access token. The learner's
    own device, `GET /_sandbox/mfa/device`, shows the codes of `devices` only. Codes come from `seed`, so the
    same logins get the same codes every run (a real server draws them from a secure random source)."""

    accounts: list[Identifier] = Field(
        default_factory=list, description="Accounts with a second factor; empty: every account."
    )
    devices: list[Identifier] = Field(
        default_factory=list,
        description="Accounts whose codes the learner's device shows (their own); empty: the first seeded user.",
    )
    digits: int = Field(default=6, ge=4, le=8, description="Digits of a code.")
    code_ttl_seconds: int = Field(default=300, ge=1, le=86400, description="Lesson seconds a code works.")
    max_attempts: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Wrong codes in a row an account may get (NIST SP 800-63B allows at most 100); then its "
        "pending logins end and its codes answer 429 for `lockout_seconds`.",
    )
    lockout_seconds: int = Field(default=300, ge=1, le=86400)
    seed: int = Field(default=1, description="Which codes the logins get.")
    weak: WeakMfa | None = None


class LoginThrottle(Model):
    """Per-account login throttling: after `max_failures` wrong passwords in a row, the account's logins
    answer 429 for `lockout_seconds`, right password or not. Unknown usernames are counted the same way,
    so the lock does not reveal which accounts exist."""

    max_failures: int = Field(default=5, ge=1, le=1000)
    lockout_seconds: int = Field(default=60, ge=1, le=86400)


class Auth(Model):
    jwt: bool = True
    access_ttl_seconds: int = Field(default=300, ge=1)
    refresh_tokens: bool = False
    cookie_sessions: bool = False
    session_ttl_seconds: int = Field(
        default=3600,
        ge=1,
        description="How long the server keeps a cookie session after login (and the cookie's Max-Age).",
    )
    users: list[ApiUser] = Field(default_factory=list, description="Accounts that exist when the sandbox starts.")
    weak: WeakAuth | None = None
    login_throttle: LoginThrottle | None = None
    password_reset: PasswordReset | None = Field(
        default=None, description="`/auth/password-reset` and a mailbox (`password_reset: {}` for the safe flow)."
    )
    mfa: Mfa | None = Field(default=None, description="A second factor after the password (`mfa: {}`: every account).")

    @model_validator(mode="after")
    def _mfa_needs_tokens(self) -> Auth:
        if self.mfa is not None and not self.jwt:
            raise ValueError("`mfa` gives access tokens after the code: it needs `jwt: true`")
        return self


class ApiUser(Model):
    username: Identifier
    password: str = Field(min_length=1)
    role: str = "user"


Auth.model_rebuild()


class RequestLogs(Model):
    """A structured log line (JSON) for every request the sandbox answers, in a file the learner can `tail`
    and `grep` (its path is `{{log_path}}` in the lesson text), and an `X-Request-Id` on every answer: the
    client's when it sent a fit one, else one the sandbox makes."""

    max_mb: int = Field(
        default=20, ge=1, le=500, description="Past this size the file moves to NAME.1 and a new one starts."
    )
    upstreams: bool = Field(
        default=True,
        description="The lesson's upstreams write a line for each call they get into the same file, with their "
        "own `service` name.",
    )
    background: bool = Field(
        default=True,
        description="The job worker (`service: worker`) writes a line for each run's end, and webhook deliveries "
        "(`service: webhooks`) one for each attempt, with the request id of the request that started them.",
    )
    history: LogHistory | None = Field(
        default=None,
        description="A night of traffic the log holds before the lesson opens (an incident to investigate): "
        "lines written when the sandbox starts, dated the night before.",
    )


RESERVED_PATHS = frozenset({"/", "/health", "/ready", "/docs", "/openapi.json"})
UPSTREAM_NAME = r"^[a-z][a-z0-9_]{0,39}$"
Fault = Literal["ok", "error", "reset", "drip", "hang"]


class Latency(Model):
    """How long an upstream takes to answer, in real time (meant to be felt, and to meet a client's
    timeout): a log-normal distribution given by its median and its 99th percentile, capped at `max_ms`."""

    median_ms: float = Field(ge=0, le=60000)
    p99_ms: float | None = Field(default=None, ge=0, le=120000, description="Default: the median (no spread).")
    max_ms: float = Field(default=30000, gt=0, le=120000)

    @model_validator(mode="after")
    def _order(self) -> Latency:
        if self.p99_ms is not None and self.p99_ms < self.median_ms:
            raise ValueError("`p99_ms` must be at least `median_ms`")
        return self


class Outage(Model):
    """A window of lesson time in which every call fails the same way."""

    start: float = Field(ge=0, le=366 * 24 * 3600, description="Seconds of lesson time after the sandbox started.")
    seconds: float = Field(gt=0, le=366 * 24 * 3600)
    behaviour: Literal["error", "reset", "hang"] = Field(
        default="error",
        description="'error': the error status at once; 'reset': the connection is reset; "
        "'hang': no answer at all, until the caller gives up.",
    )


class CircuitBreaker(Model):
    failures: int = Field(default=5, ge=1, le=1000, description="Failed calls in a row that open the breaker.")
    open_seconds: float = Field(
        default=30, gt=0, le=86400, description="Lesson seconds it stays open; then one trial call (half-open)."
    )


class UpstreamClient(Model):
    """How the sandbox's own `route` calls its upstream: the code a learner would write, as settings."""

    timeout_ms: int = Field(default=2000, ge=1, le=60000, description="Per attempt, the whole answer included.")
    retries: int = Field(default=0, ge=0, le=10, description="Attempts after the first, on 5xx, 429, reset, timeout.")
    backoff_ms: int = Field(
        default=100, ge=0, le=60000, description="The wait before the first retry; doubles after each."
    )
    max_backoff_ms: int = Field(default=5000, ge=0, le=120000)
    jitter: Literal["none", "full", "equal"] = Field(
        default="none",
        description="'full': each wait is random between 0 and the backoff; 'equal': half the backoff plus a random "
        "half (AWS Architecture Blog, 'Exponential Backoff And Jitter').",
    )
    breaker: CircuitBreaker | None = None
    bulkhead: int | None = Field(
        default=None, ge=1, le=1000, description="At most this many calls in flight; one more is refused at once (503)."
    )
    switchable: bool = Field(
        default=False,
        description="The learner may change these while the lesson runs, through "
        "PUT /_sandbox/upstreams/{name}/client: it stands in for the code change (a timeout, retries with backoff, "
        "a breaker, a bulkhead).",
    )


class Upstream(Model):
    """A second service of the lesson, on its own port on 127.0.0.1, that fails on purpose: a learner's
    build-it app calls it (its URL is `{{upstream_url_NAME}}`), and the sandbox API's `route` calls it for
    the load tool. Which call meets which fault follows from `seed` and the call's number, and outages
    from the lesson clock, so the same calls meet the same faults every time."""

    name: str = Field(pattern=UPSTREAM_NAME, description="Lower-case letters, digits and '_': `payments`.")
    seed: int = Field(default=1, description="Which calls fail, and how slow each is.")
    latency: Latency | None = None
    error_rate: float = Field(default=0, ge=0, le=1, description="Share of calls answered `error_status`.")
    error_status: int = Field(default=503, ge=400, le=599)
    retry_after: int | None = Field(
        default=None, ge=0, le=86400, description="Seconds sent as `Retry-After` with each error answer."
    )
    reset_rate: float = Field(
        default=0, ge=0, le=1, description="Share of calls whose connection is reset, unanswered."
    )
    drip_rate: float = Field(
        default=0,
        ge=0,
        le=1,
        description="Share of calls answered slowly: the body trickles at `drip_bytes_per_second`.",
    )
    drip_bytes_per_second: int = Field(default=20, ge=1, le=1_000_000)
    hang_rate: float = Field(
        default=0, ge=0, le=1, description="Share of calls never answered (until the caller gives up)."
    )
    script: list[Fault] = Field(
        default_factory=list,
        description="The faults of the first calls, in order (`[ok, error, error, reset]`); the rates decide "
        "after them.",
    )
    outages: list[Outage] = Field(default_factory=list)
    body: dict[str, JsonValue] = Field(
        default_factory=lambda: {"ok": True},
        description="The JSON object a successful call answers, with `service` and `call` (its number) added.",
    )
    route: str | None = Field(
        default=None,
        pattern=r"^/[A-Za-z0-9._~/-]*$",
        description="A path the sandbox API serves (GET) by calling this upstream with `client`: what the load "
        "tool drives.",
    )
    client: UpstreamClient = Field(default_factory=UpstreamClient)
    switchable: bool = Field(
        default=False,
        description="The learner may change the rates and latency through PUT /_sandbox/upstreams/{name}, and start "
        "or end an outage through /_sandbox/upstreams/{name}/outage.",
    )

    @model_validator(mode="after")
    def _rates(self) -> Upstream:
        if self.error_rate + self.reset_rate + self.drip_rate + self.hang_rate > 1 + 1e-9:
            raise ValueError("error_rate + reset_rate + drip_rate + hang_rate must be at most 1")
        return self


WriteKind = Literal["create", "replace", "patch", "delete"]


class OnWrite(Model):
    """A successful write to one of the lesson's resources (the key is `after`: YAML reads a bare `on` as true)."""

    resource: Slug = Field(description="The resource's `name`.")
    write: list[WriteKind] = Field(default=["create"], min_length=1, description="Which writes: create, replace, ...")


class JobKind(Model):
    """What one kind of job does: SQL on the lesson database, with the job's payload as named parameters."""

    name: Identifier
    sql: str | None = Field(
        default=None,
        description="The job's work: one statement, `:name` for a payload field. "
        "`INSERT INTO emails (order_id) VALUES (:id) ON CONFLICT DO NOTHING`.",
    )
    result_sql: str | None = Field(
        default=None, description="A SELECT run when the job is done: its rows are the job's `result`."
    )
    seconds: float = Field(default=1, ge=0, le=86400, description="Lesson seconds one run of it takes.")
    after: OnWrite | None = Field(
        default=None, description="Enqueue one of these after each such write (the row as payload)."
    )
    route: str | None = Field(
        default=None,
        pattern=r"^/v[12]/[A-Za-z0-9._~/-]+$",
        description="A path of the API that takes a POST, enqueues one of these with the body as payload and answers "
        "202 Accepted with `Location: /v1/jobs/{id}`, its status.",
    )
    emits: str | None = Field(default=None, description="A webhook event type sent when a run of it is done.")


class Jobs(Model):
    """A job table in the lesson database and a worker that runs it on the lesson clock, which the lesson
    (and with `switchable`, the learner) controls: pause it, make its next run fail or crash mid-job."""

    table: Identifier = Field(default="jobs", description="The job table, made in the lesson database at start.")
    kinds: list[JobKind] = Field(min_length=1)
    workers: int = Field(default=1, ge=1, le=16, description="Jobs run at once.")
    max_attempts: int = Field(default=5, ge=1, le=100, description="Runs of a job before it is `dead`.")
    backoff_seconds: float = Field(
        default=10,
        ge=0,
        le=86400,
        description="Lesson seconds before a failed job runs again; doubles after each failure.",
    )
    lease_seconds: float = Field(
        default=30,
        gt=0,
        le=86400,
        description="A running job is its worker's for this long; if the worker crashed, it runs again after it.",
    )
    switchable: bool = Field(
        default=False,
        description="The learner may pause and resume the worker and make its next runs fail or crash, through "
        "PUT /_sandbox/jobs/worker.",
    )

    @model_validator(mode="after")
    def _check(self) -> Jobs:
        names = [k.name for k in self.kinds]
        if len(set(names)) != len(names):
            raise ValueError("two job kinds have the same `name`")
        for kind in self.kinds:
            if kind.seconds >= self.lease_seconds:
                raise ValueError(f"job kind {kind.name} takes {kind.seconds:g} s, not less than `lease_seconds`")
        return self


class WebhookEvent(Model):
    type: str = Field(pattern=r"^[a-z][a-z0-9_.-]{0,63}$", description="The event's type: `order.created`.")
    after: OnWrite = Field(description="The write after which it is sent; the row is the event's `data`.")


class Webhooks(Model):
    """Events the sandbox delivers to the learner's app (POST, JSON), signed as Standard Webhooks 1.0
    says (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,BASE64` of HMAC-SHA256 over
    `id.timestamp.body`), retried with a backoff on the lesson clock until the app answers 2xx."""

    secret: str = Field(
        pattern=r"^whsec_[A-Za-z0-9+/]+={0,2}$",
        description="The signing secret, `whsec_` and the base64 of 24 to 64 random bytes, as Standard Webhooks "
        "writes one; `{{webhook_secret}}` gives it to the app through build.env.",
    )
    endpoint: str | None = Field(
        default=None,
        description="Where deliveries go (http://127.0.0.1:PORT/path); the learner may set it with "
        "PUT /_sandbox/webhooks.",
    )
    events: list[WebhookEvent] = Field(default_factory=list)
    retries: int = Field(default=5, ge=0, le=20, description="Deliveries after the first, while the app fails.")
    backoff_seconds: float = Field(
        default=10, ge=0, le=86400, description="Lesson seconds before the first retry; doubles after each."
    )
    timeout_ms: int = Field(default=3000, ge=100, le=30000, description="How long a delivery waits for the answer.")
    tolerance_seconds: int = Field(
        default=300, ge=1, le=86400, description="The replay window a receiver should keep: older signatures are stale."
    )

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str) -> str:
        import base64
        import binascii

        try:
            key = base64.b64decode(value.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            raise ValueError("after whsec_, the secret is base64 (its length a multiple of 4)") from None
        if not 24 <= len(key) <= 64:
            raise ValueError(f"the secret's key is {len(key)} bytes; Standard Webhooks wants 24 to 64")
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        from sandboxes.api.webhooks import check_endpoint

        problem = check_endpoint(value) if value is not None else None
        if problem:
            raise ValueError(f"the endpoint {problem}")
        return value


class EdgeCache(Model):
    forwarded_host: Literal["trusted", "vary", "ignored"] = Field(
        default="ignored",
        description="How GET /v1/home builds its links: `trusted` takes the host from X-Forwarded-Host, a header "
        "the edge does not key on (the deliberately unsafe mode); `vary` does the same and names it in `Vary`; "
        "`ignored` uses the API's own address.",
    )
    max_age: int = Field(default=300, ge=1, le=86400, description="The `max-age` of GET /v1/home's answers.")
    max_entries: int = Field(default=500, ge=1, le=10000, description="Stored answers past which the oldest go.")
    switchable: bool = Field(
        default=False,
        description="The learner may change `forwarded_host` through PUT /_sandbox/edge: it stands in for the "
        "code change to the route.",
    )


class ApiSettings(Model):
    versions: list[Literal["v1", "v2"]] = Field(default=["v1"], min_length=1)
    resources: list[Resource] = Field(default_factory=list)
    problem_json: bool = Field(default=True, description="Errors as application/problem+json (RFC 9457).")
    idempotency_keys: bool = False
    caching: HttpCaching | None = None
    rate_limit: RateLimit | None = None
    auth: Auth | None = None
    sunset_after_days: int = Field(
        default=180,
        ge=1,
        le=3650,
        description="With versions [v1, v2]: v1 answers carry `Deprecation` (RFC 9745; the day the sandbox "
        "started) and `Sunset` (RFC 8594) this many days later.",
    )
    logs: RequestLogs | None = Field(
        default=None, description="Structured request logs and request ids; `logs: {}` for the defaults."
    )
    upstreams: list[Upstream] = Field(default_factory=list, description="Services of the lesson that fail on purpose.")
    jobs: Jobs | None = Field(default=None, description="A job table and a worker on the lesson clock.")
    webhooks: Webhooks | None = Field(default=None, description="Signed events delivered to the learner's app.")
    edge: EdgeCache | None = Field(
        default=None, description="A shared cache in front of the API at /edge/..., and GET /v1/home behind it."
    )
    cors: Cors | None = Field(default=None, description="Which web pages may read the answers (CORS).")
    redirects: list[Redirect] = Field(
        default_factory=list, description="Old paths that answer a redirect to new ones (301, 302, 303, 307, 308)."
    )

    @model_validator(mode="after")
    def _home_is_free(self) -> ApiSettings:
        if self.edge is not None and any(r.name == "home" for r in self.resources):
            raise ValueError("with `edge`, /v1/home is the edge's start page: name the resource otherwise")
        return self

    @model_validator(mode="after")
    def _unique_upstreams(self) -> ApiSettings:
        names = [u.name for u in self.upstreams]
        if len(set(names)) != len(names):
            raise ValueError("two upstreams have the same `name`")
        routes = [u.route for u in self.upstreams if u.route]
        if len(set(routes)) != len(routes):
            raise ValueError("two upstreams have the same `route`")
        taken = [f"/{v}/{r.name}" for v in self.versions for r in self.resources]
        resources = {r.name: r for r in self.resources}
        triggers = [(f"job kind {k.name}", k.after) for k in (self.jobs.kinds if self.jobs else []) if k.after]
        triggers += [(f"webhook event {e.type}", e.after) for e in (self.webhooks.events if self.webhooks else [])]
        for what, on in triggers:
            if on.resource not in resources:
                raise ValueError(f"{what} waits for writes to '{on.resource}', which is not one of the resources")
            if not resources[on.resource].writable:
                raise ValueError(f"{what} waits for writes to '{on.resource}', which is not `writable`")
        emitted = [k.name for k in (self.jobs.kinds if self.jobs else []) if k.emits]
        if emitted and self.webhooks is None:
            raise ValueError(f"job kind {emitted[0]} `emits` an event, but the lesson has no `webhooks`")
        job_routes = [k.route for k in (self.jobs.kinds if self.jobs else []) if k.route]
        if job_routes and "jobs" in resources:
            raise ValueError("the job status is served at /v1/jobs/{id}: no resource may be called `jobs`")
        for route in job_routes:
            if any(route == t or route.startswith(t + "/") for t in taken) or route in routes:
                raise ValueError(f"the job route {route} is a path the sandbox already serves; choose another")
        for moved in self.redirects:
            if (
                moved.path in RESERVED_PATHS
                or moved.path.startswith(("/_sandbox", "/auth/", "/v1/jobs"))
                or any(moved.path == t or moved.path.startswith(t + "/") for t in [*taken, *routes, *job_routes])
            ):
                raise ValueError(f"the redirect from {moved.path} is a path the sandbox already serves; choose another")
            if moved.to == moved.path or moved.to.startswith(moved.path + "/"):
                raise ValueError(f"the redirect from {moved.path} leads back to itself")
        if len({m.path for m in self.redirects}) != len(self.redirects):
            raise ValueError("two redirects have the same `path`")
        for route in routes:
            if (
                route in RESERVED_PATHS
                or route.startswith(("/_sandbox", "/auth/"))
                or any(route == t or route.startswith(t + "/") for t in taken)
            ):
                raise ValueError(f"the upstream route {route} is a path the sandbox already serves; choose another")
        return self
