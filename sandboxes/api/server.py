"""uvicorn in a daemon thread of the tutor, done right (see docs: DESIGN.md, decision 3).

- `capture_signals` does nothing: the TUI (or the CLI) keeps its own signal handlers.
- The listening socket is bound here, before uvicorn runs, so a bind failure raises a clear error in
  the caller's thread (uvicorn would `sys.exit` its own thread and only log the reason), and port 0
  gives a free port we know at once.
- We still poll `is_alive()` while waiting for `started`: any other start-up failure ends the thread.
- `timeout_graceful_shutdown` bounds `stop()`; after it, `force_exit`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Generator
from typing import Any

import uvicorn


class SandboxStartError(RuntimeError):
    """The sandbox API could not start; the message says why, in words a learner can act on."""


LOOPBACK_NAMES = {"localhost"}


def check_loopback(host: str) -> None:
    if host in LOOPBACK_NAMES:
        return
    try:
        address = ipaddress.ip_address(host)
    except ValueError as exc:
        raise SandboxStartError(f"'{host}' is not an IP address; the sandbox serves on 127.0.0.1 only") from exc
    if not address.is_loopback:
        raise SandboxStartError(
            f"refusing to serve on {host}: the sandbox API listens on loopback addresses only (127.0.0.1)"
        )


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class ThreadedServer:
    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, *, name: str = "sandbox-api") -> None:
        check_loopback(host)
        self.host = "127.0.0.1" if host == "localhost" else host
        self.requested_port = port
        self.app = app
        self.name = name
        self.port = 0
        self._socket: socket.socket | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.failure: BaseException | None = None

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when the listening
        # socket says it is TCP. Without it, keep-alive responses (headers and body written separately)
        # wait ~40 ms each for the client's delayed ACK (Nagle).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.requested_port))
            sock.listen(128)
        except OSError as exc:
            sock.close()
            if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
                raise SandboxStartError(
                    f"port {self.requested_port} on {self.host} is already in use; pick another with --port, "
                    "or 0 for any free port"
                ) from exc
            raise SandboxStartError(f"could not listen on {self.host}:{self.requested_port}: {exc.strerror}") from exc
        sock.set_inheritable(True)
        return sock

    def start(self, timeout: float = 10.0) -> None:
        sock = self._bind()
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,  # never reconfigure the tutor's logging
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=1,
            timeout_keep_alive=5,
            h11_max_incomplete_event_size=64 * 1024,
            date_header=False,  # the app sends Date from the lesson clock (sandboxes.api.state.Clock)
            # No proxy stands in front of the sandbox: X-Forwarded-For is whatever the caller wrote, and
            # trusting it (uvicorn does, from 127.0.0.1) would let anyone claim an address of their own
            # and with it an empty rate-limit bucket.
            proxy_headers=False,
        )
        server = _Server(config)
        self._server = server

        def run() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as exc:  # SystemExit from uvicorn included
                self.failure = exc

        thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive():
                self._close_socket()
                reason = self.failure or "the server thread ended during start-up"
                raise SandboxStartError(f"the sandbox API did not start: {reason}")
            if time.monotonic() > deadline:
                self.stop()
                raise SandboxStartError(f"the sandbox API did not start within {timeout:g} s")
            time.sleep(0.002)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _close_socket(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.close()
            self._socket = None

    def stop(self, timeout: float = 5.0) -> None:
        server, thread = self._server, self._thread
        if server is not None:
            server.should_exit = True
        if thread is not None and thread.is_alive():
            thread.join(timeout)
            if thread.is_alive() and server is not None:
                server.force_exit = True
                thread.join(2.0)
        self._close_socket()
        self._thread = None
