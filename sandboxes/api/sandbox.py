"""The API sandbox of one lesson: the app, its traffic recorder and the server thread together.

    api = ApiSandbox.start(settings, database=sql.path)   # blocks until serving (~10 ms)
    api.base_url                                          # http://127.0.0.1:PORT
    api.mark()                                            # evidence counts from here
    api.evidence().exchanges()                            # what the learner sent and got since then
    api.stop()

Requests carry who sent them in `X-Backend-Tutor-Client` (workbench | tutor), recorded then removed;
anything without it (curl, a browser) is "outside".
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandboxes.api.recorder import REF_HEADER, SOURCE_HEADER, Exchange, TrafficRecorder
from sandboxes.api.server import SandboxStartError, ThreadedServer

if TYPE_CHECKING:
    import httpx

    from sandboxes.api.app import SandboxApp
    from sandboxes.api.background import Ticker
    from sandboxes.api.logs import RequestLog
    from sandboxes.api.upstream import UpstreamServers
    from tutor.pack.actions import HttpRequest
    from tutor.pack.sandbox_api import ApiSettings

__all__ = ["ApiEvidence", "ApiSandbox", "SandboxStartError", "build_request_kwargs"]

SOURCE = SOURCE_HEADER.decode()
REF = REF_HEADER.decode()


def build_request_kwargs(request: HttpRequest) -> dict[str, Any]:
    """httpx keyword arguments for one pack-format request (no `{name}` substitution)."""
    from tutor.checks.http_probe import prepared

    return prepared(request, {})[1]


class ApiSandbox:
    def __init__(
        self,
        settings: ApiSettings,
        app: SandboxApp,
        server: ThreadedServer,
        recorder: TrafficRecorder,
        log: RequestLog | None = None,
        scratch: Path | None = None,
    ) -> None:
        self.settings = settings
        self.app = app
        self.server = server
        self.recorder = recorder
        self.log = log
        self._scratch = scratch  # a folder of our own to remove at stop (the log's, when none was given)
        self.base_url = f"http://{server.host}:{server.port}"
        self.upstream_servers: UpstreamServers | None = None
        self.ticker: Ticker | None = None
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()

    @classmethod
    def start(
        cls,
        settings: ApiSettings,
        *,
        database: Path | None,
        host: str = "127.0.0.1",
        port: int = 0,
        log_path: Path | None = None,
    ) -> ApiSandbox:
        """Build the app and serve it. `log_path`: where the request log goes in a lesson with `logs`
        (a file in a temporary folder when not given)."""
        from sandboxes.api.app import build_app
        from sandboxes.api.server import check_loopback

        check_loopback(host)
        recorder = TrafficRecorder()
        log = None
        scratch = None
        if settings.logs is not None:
            from sandboxes.api.logs import RequestLog

            if log_path is None:
                scratch = Path(tempfile.mkdtemp(prefix="backend-tutor-api-"))
                log_path = scratch / "requests.log"
            try:
                log = RequestLog(log_path, settings.logs.max_mb)
                if settings.logs.history is not None:
                    from sandboxes.api.log_history import write_history

                    write_history(log, settings.logs.history, time.time())
            except OSError as exc:
                raise SandboxStartError(f"the request log {log_path} cannot be written: {exc.strerror}") from exc
        try:
            app = build_app(settings, database=database, recorder=recorder, log=log)
        except Exception as exc:
            if log is not None:
                log.close()
            raise SandboxStartError(f"the sandbox API could not be built from the lesson: {exc}") from exc
        upstreams = None
        server = ThreadedServer(app, host, port)
        try:
            if app.state.upstreams is not None:
                from sandboxes.api.upstream import UpstreamServers

                upstreams = UpstreamServers(app.state.upstreams, server.host)
                upstreams.start()
            server.start()
        except BaseException as exc:
            if upstreams is not None:
                upstreams.stop()
            if log is not None:
                log.close()
            if isinstance(exc, OSError):
                raise SandboxStartError(f"the lesson's upstreams could not listen on {host}: {exc.strerror}") from exc
            raise
        if app.state.auth is not None:
            app.state.auth.hash_seeded()  # the seeded accounts' hashes, made now rather than at a first login
        sandbox = cls(settings, app, server, recorder, log, scratch)
        sandbox.upstream_servers = upstreams
        if app.state.jobs is not None or app.state.webhooks is not None:
            from sandboxes.api.background import Ticker

            sandbox.ticker = Ticker(app.state)
            sandbox.ticker.start()
        return sandbox

    # -- state -----------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self.server.port

    @property
    def alive(self) -> bool:
        return self.server.alive and (self.upstream_servers is None or self.upstream_servers.alive)

    @property
    def weak_auth_modes(self) -> list[str]:
        """Deliberately weak auth modes this lesson turned on; the tutor labels the sandbox with them."""
        return self.app.state.weak_auth_modes()

    def curl_example(self) -> str:
        first = next((f"/{v}/{r.name}" for v in self.settings.versions for r in self.settings.resources), None)
        return f"curl -i {self.base_url}{first or '/health'}"

    def mark(self) -> None:
        self.recorder.mark()
        if self.app.state.upstreams is not None:
            self.app.state.upstreams.mark()

    def evidence(self) -> ApiEvidence:
        return ApiEvidence(self)

    def snapshot(self) -> dict[str, Any]:
        """All the API's memory (cache, buckets, idempotency store, accounts, sessions, refresh-token
        families, deny-list, relation strategies, the clock): see `sandboxes.api.state`."""
        return self.app.state.snapshot()

    def restore(self, snapshot: dict[str, Any]) -> None:
        self.app.state.restore(snapshot)

    def advance_clock(self, seconds: float) -> float:
        """Move the lesson clock forward (a `wait` in a solution); returns the new lesson time."""
        now = self.app.state.clock.advance(seconds)
        self.app.state.settle()  # jobs due by then have run, deliveries due by then are sent
        return now

    def settle(self) -> None:
        """The job worker and webhook deliveries caught up with the lesson clock (before a check)."""
        self.app.state.settle()

    def lesson_time(self) -> float:
        """The lesson clock now (epoch seconds, lesson time)."""
        return self.app.state.clock.now()

    def start_clock_at(self, lesson_time: float) -> None:
        """Set the lesson clock of a sandbox nobody has called yet to `lesson_time`, earlier or later than
        now, as if it had started then: a learner's recorded work replays at the lesson times it was
        done at (the tokens it forged expire when they did). Only for a fresh sandbox: the clock of one
        in use only ever moves forward."""
        state = self.app.state
        before = state.clock.now()
        state.clock.set_offset(lesson_time - time.time())
        state.started += state.clock.now() - before

    # -- the tutor's own requests ------------------------------------------------------------------
    def client(self) -> httpx.Client:
        with self._client_lock:
            if self._client is None:
                import httpx

                # trust_env=False: a proxy set in the environment must never see sandbox traffic.
                self._client = httpx.Client(base_url=self.base_url, timeout=15.0, trust_env=False)
            return self._client

    def send(self, method: str, path: str, *, source: str | None = "tutor", **kwargs: Any) -> Exchange:
        """Send one request and return the exchange as the recorder logged it."""
        ref = uuid.uuid4().hex
        headers = dict(kwargs.pop("headers", None) or {})
        headers[REF] = ref
        if source is not None:
            headers[SOURCE] = source
        client = self.client()
        response = client.request(method, path, headers=headers, **kwargs)
        response.read()
        # Like curl without a cookie jar: a cookie a response set is sent again only when a request
        # names it, so a replayed "forgot the cookie" mistake really goes without it.
        client.cookies.clear()
        exchange = self.recorder.wait_for_ref(ref)
        if exchange is None:  # pragma: no cover - the recorder wraps every request
            raise RuntimeError(f"the sandbox did not record {method} {path}")
        return exchange

    def send_as_learner(self, request: HttpRequest, saved: dict[str, Any] | None = None) -> Exchange:
        """Send a pack-format request as the learner's client would: curl (no tutor client header, source
        'outside'), or the request workbench when the request says `via: workbench`.

        `{name}` placeholders are filled from `saved`, values an earlier request of the same action
        `save`d (a token from a login, an ETag), as a learner would copy them by hand; this request's
        own `save`s are added to it (a value the response does not have is not added)."""
        from tutor.checks.http_match import found, read_value
        from tutor.checks.http_probe import prepared

        saved = {} if saved is None else saved
        path, kwargs = prepared(request, saved)
        if request.repeat > 1:
            return self._send_many(
                request.method, path, kwargs, request.repeat, request.concurrency, request.via or "outside"
            )
        exchange = self.send(
            request.method, path, source=None if request.via in (None, "outside") else request.via, **kwargs
        )
        for name, source in request.save.items():
            value = read_value(source, exchange)
            if found(value):
                saved[name] = value
        return exchange

    def _send_many(
        self, method: str, path: str, kwargs: dict[str, Any], times: int, concurrency: int, via: str = "outside"
    ) -> Exchange:
        """The same request `times` times, `concurrency` at once (threads share one pooled client, as
        the load tool's workers do); returns the last exchange to finish. A repeated request saves nothing."""
        from concurrent.futures import ThreadPoolExecutor

        def one(_: int) -> Exchange:
            return self.send(method, path, source=None if via == "outside" else via, **dict(kwargs))

        if concurrency <= 1:
            return [one(i) for i in range(times)][-1]
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="replay") as pool:
            return list(pool.map(one, range(times)))[-1]

    @property
    def log_path(self) -> Path | None:
        """The request log's file (`{{log_path}}`), in a lesson with `logs`."""
        return self.log.path if self.log is not None else None

    def placeholders(self) -> dict[str, str]:
        """Values lesson text and `build.env` may name as `{{NAME}}`: `api_url`, and `log_path` with `logs`."""
        values = {"api_url": self.base_url}
        if self.log is not None:
            values["log_path"] = str(self.log.path)
        for name, url in self.upstream_urls.items():
            values[f"upstream_url_{name}"] = url
        if self.settings.webhooks is not None:
            values["webhook_secret"] = self.settings.webhooks.secret
        return values

    @property
    def upstream_urls(self) -> dict[str, str]:
        """Each upstream's base URL, by name (`{{upstream_url_NAME}}`)."""
        hub = self.app.state.upstreams
        return dict(hub.urls) if hub is not None else {}

    def stop(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None
        if self.ticker is not None:
            self.ticker.stop()
        self.server.stop()
        if self.upstream_servers is not None:
            self.upstream_servers.stop()
        if self.log is not None:
            self.log.close()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)


class ApiEvidence:
    """What HTTP checks read (tutor.checks.base.HttpEvidence)."""

    def __init__(self, sandbox: ApiSandbox) -> None:
        self._sandbox = sandbox

    @property
    def base_url(self) -> str:
        return self._sandbox.base_url

    def exchanges(self) -> Sequence[Exchange]:
        return self._sandbox.recorder.since_mark()

    def history(self) -> Sequence[Exchange]:
        """Everything the recorder still holds for this lesson, the steps before this one included."""
        return self._sandbox.recorder.all()

    def request(self, method: str, path: str, **kwargs: Any) -> Exchange:
        return self._sandbox.send(method, path, source="tutor", **kwargs)

    def upstream_calls(self, name: str) -> list[Any]:
        """The calls upstream `name` received since the step opened (`sandboxes.api.upstream.UpstreamCall`)."""
        hub = self._sandbox.app.state.upstreams
        return hub.since_mark(name) if hub is not None and name in hub.settings else []

    def webhook_probe(
        self,
        kind: str,
        data: Any,
        *,
        tamper: str = "none",
        again: tuple[str, bytes] | None = None,
        rotating: bool = False,
    ) -> tuple[str, bytes, bytes, dict[str, str]]:
        """A webhook delivery as the sandbox sends one, for the checker to send a learner's receiver:
        (event id, body as signed, body as sent, headers). `again`: the (id, body) of an earlier one, sent
        again with a fresh signature. `rotating`: two signatures in the header, a retired secret's first.
        Needs the lesson's `webhooks`."""
        from sandboxes.api.webhooks import probe_delivery

        hooks = self._sandbox.app.state.webhooks
        if hooks is None:
            raise RuntimeError("this lesson has no `webhooks`, so nothing to sign a delivery with")
        if again is not None:
            event_id, body = again
        else:
            event_id, text = hooks.probe_event(kind, data)
            body = text.encode()
        sent, headers = probe_delivery(
            hooks.settings.secret,
            event_id,
            body,
            tamper=tamper,
            tolerance=hooks.settings.tolerance_seconds,
            rotating=rotating,
        )
        return event_id, body, sent, headers

    def restart_upstreams(self) -> None:
        """Number upstream calls from 1 again: a build-it check does this before it runs the learner's
        app, so every check meets the same faults in the same order."""
        hub = self._sandbox.app.state.upstreams
        if hub is not None:
            hub.restart_numbering()
