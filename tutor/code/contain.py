"""Containment for learner code: a supervisor process that runs none of it and ends all of it.

`tutor.code.harness` calls `supervise()` first thing. It forks: the child (the worker) returns and goes
on to run the learner's code under resource limits; the parent stays here as the supervisor, runs no
learner code, and

- is the worker's *child subreaper* on Linux (`prctl(PR_SET_CHILD_SUBREAPER)`): a process the learner's
  code starts stays in the supervisor's tree whatever it does (`setsid`, a double fork, its parent
  exiting), so the sweep at the end finds it in /proc;
- copies the worker's output (stdout and stderr, one pipe) into the tutor's output file, up to
  `--output-mb`: past that the run is stopped and reported;
- twice a second adds up the resident memory of the whole tree (Linux) and stops the run past
  `--memory-mb` (each process also has that cap as RLIMIT_DATA, so one big allocation fails at once
  with MemoryError, which the worker reports itself);
- ends everything when the tutor closes the watch pipe (the end of a check, or the tutor dying) or when
  Linux's parent-death signal arrives, and when the worker ends: every descendant is killed, again and
  again until /proc shows none, and reaped;
- exits as the worker did (same status or signal), so the tutor reads the learner's exit.

Limits it reports go to the tutor on the status pipe as `{"event": "limit", "what": "memory" | "output",
"mb": N}` before the run is stopped. Elsewhere than Linux there is no subreaper and no /proc: the sweep
uses the process group and the parent links `ps` shows, and a process that both leaves the group and
loses its parent can escape it (docs/pack-format.md says what holds on each platform).

Only the standard library, and nothing imported that the worker does not need anyway: the fork happens
before the worker loads anything heavy.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import resource
import select
import signal
import subprocess
import sys
import time

LINUX = sys.platform.startswith("linux")
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
SAMPLE_EVERY = 0.5


def _prctl(option: int, value: int) -> bool:
    if not LINUX:
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(option, value, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def process_table() -> dict[int, tuple[int, str, int]]:
    """pid -> (parent pid, state letter, process group) of every process, from /proc, or from `ps` where
    there is none."""
    table: dict[int, tuple[int, str, int]] = {}
    if os.path.isdir("/proc"):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as handle:
                    stat = handle.read().decode("ascii", "replace")
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2 :].split()
            if len(fields) > 2:
                table[int(entry.name)] = (int(fields[1]), fields[0], int(fields[2]))
        return table
    try:
        listing = subprocess.run(
            # ps from the PATH: where there is no /proc, ps is the one way to the process table
            ["ps", "-A", "-o", "pid=", "-o", "ppid=", "-o", "stat=", "-o", "pgid="],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return table
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0].isdigit() and parts[1].isdigit() and parts[3].isdigit():
            table[int(parts[0])] = (int(parts[1]), parts[2][:1], int(parts[3]))
    return table


def descendants(pid: int, table: dict[int, tuple[int, str, int]] | None = None) -> list[int]:
    """Every live (not zombie) descendant of `pid`."""
    table = process_table() if table is None else table
    children: dict[int, list[int]] = {}
    for child, (parent, _state, _group) in table.items():
        children.setdefault(parent, []).append(child)
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if table[child][1] != "Z":
                found.append(child)
            todo.append(child)
    return found


def resident_mb(pids: list[int]) -> float:
    """Resident memory of these processes together (Linux; 0 elsewhere)."""
    if not LINUX:
        return 0.0
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * page
        except (OSError, ValueError, IndexError):
            continue
    return total / (1 << 20)


def _wait_dead(pids: set[int], deadline: float) -> None:
    """Until each of `pids` is a zombie or gone (Linux: its own /proc entry, cheaper than the table)."""
    if not LINUX:
        time.sleep(0.01)
        return
    pending = set(pids)
    while pending and time.monotonic() < deadline:
        for pid in list(pending):
            try:
                with open(f"/proc/{pid}/stat", "rb") as handle:
                    stat = handle.read()
                if stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] in (b"Z", b"X"):
                    pending.discard(pid)
            except OSError:
                pending.discard(pid)
        if pending:
            time.sleep(0.0005)


class Supervisor:
    def __init__(self, worker: int, status_fd: int, watch_fd: int, output: int, memory_mb: int, output_mb: int):
        self.worker = worker
        self.status_fd = status_fd
        self.watch_fd = watch_fd
        self.output = output  # read end of the worker's stdout/stderr pipe
        self.memory_mb = memory_mb
        self.output_mb = output_mb
        self.printed = 0
        self.worker_status: int | None = None
        self.worker_peak_mb = 0.0
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_write, False)
        os.set_blocking(self.output, False)

    # -- signals: a byte on a pipe, read by the loop -------------------------------------------------
    def _wake(self, signum: int, _frame: object) -> None:
        with contextlib.suppress(OSError):
            os.write(self.wake_write, bytes([signum]))

    def send(self, event: dict[str, object]) -> None:
        data = (json.dumps(event) + "\n").encode()
        with contextlib.suppress(OSError):
            os.write(self.status_fd, data)  # one short line: a single atomic write on a pipe

    # -- the loop ------------------------------------------------------------------------------------
    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._wake)  # the parent-death signal, or a stop from the tutor
        signal.signal(signal.SIGCHLD, self._wake)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        last_sample = 0.0
        try:
            while True:
                try:
                    ready, _, _ = select.select([self.watch_fd, self.output, self.wake_read], [], [], SAMPLE_EVERY)
                except InterruptedError:
                    ready = []
                if self.output in ready and not self._pump():
                    return self._stop_for("output", self.output_mb)
                if self.wake_read in ready:
                    signals = os.read(self.wake_read, 64)
                    if signal.SIGTERM in signals:
                        return self._end(0)
                if self.watch_fd in ready:
                    try:
                        if not os.read(self.watch_fd, 64):
                            return self._end(0)  # the tutor is done with this run, or has died
                    except OSError:
                        return self._end(0)
                self._reap()
                if self.worker_status is not None:
                    self._pump()
                    if self.worker_peak_mb >= self.memory_mb * 0.9:
                        self.send({"event": "limit", "what": "memory", "mb": self.memory_mb})
                    return self._end(self.worker_status)
                now = time.monotonic()
                if LINUX and now - last_sample >= SAMPLE_EVERY:
                    last_sample = now
                    if resident_mb(descendants(os.getpid())) > self.memory_mb:
                        return self._stop_for("memory", self.memory_mb)
        except BaseException:
            self.sweep()
            raise

    def _pump(self) -> bool:
        """Copy what the worker printed into the output file; False once it printed past the cap."""
        while True:
            try:
                chunk = os.read(self.output, 65536)
            except BlockingIOError:
                return True
            except OSError:
                return True
            if not chunk:
                return True
            room = self.output_mb * (1 << 20) - self.printed
            self.printed += len(chunk)
            with contextlib.suppress(OSError):
                os.write(1, chunk[: max(room, 0)])
            if self.printed > self.output_mb * (1 << 20):
                return False

    def _reap(self) -> None:
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            except InterruptedError:
                continue
            if pid == 0:
                return
            if pid == self.worker:
                self.worker_status = status
                # ru_maxrss: kilobytes on Linux, bytes on macOS
                self.worker_peak_mb = usage.ru_maxrss / (1024 if LINUX else 1 << 20)

    def _stop_for(self, what: str, mb: int) -> int:
        self.send({"event": "limit", "what": what, "mb": mb})
        return self._end(None)

    def _end(self, status: int | None) -> int:
        self.sweep()
        return 0 if status is None else status

    def sweep(self) -> None:
        """Kill every descendant until none is left, and reap them. The supervisor is their subreaper, so
        an orphan comes back to it instead of escaping to init, and the next round finds it."""
        me, group = os.getpid(), os.getpgrp()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            table = process_table()
            # the tree, and (where there is no subreaper) members of our group whose parent has gone
            left = set(descendants(me, table))
            left |= {pid for pid, (_p, state, g) in table.items() if g == group and pid != me and state != "Z"}
            if not left:
                break
            for pid in left:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            _wait_dead(left, time.monotonic() + 0.5)  # before looking at the whole table again
            self._reap()
        self._reap()


def mirror(status: int) -> None:
    """Exit the way the worker did: the same code, or the same signal."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        with contextlib.suppress(OSError, ValueError):
            signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        os.kill(os.getpid(), sig)
        time.sleep(1)
        os._exit(128 + sig)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


def limit_worker(memory_mb: int, file_mb: int) -> None:
    """The worker's own caps: data segment and private mappings (one allocation past it raises
    MemoryError), the size of any file it writes (a write past it fails with EFBIG instead of killing
    the process with SIGXFSZ), and no core files."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    for limit, mb in ((resource.RLIMIT_DATA, memory_mb), (resource.RLIMIT_FSIZE, file_mb)):
        _soft, hard = resource.getrlimit(limit)
        want = mb << 20
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(limit, (want, hard))
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def supervise(
    *,
    status_fd: int,
    watch_fd: int,
    parent: int,
    close_in_supervisor: list[int],
    memory_mb: int,
    file_mb: int,
    output_mb: int,
) -> None:
    """Fork. Returns in the worker (with its limits set and its output going to the supervisor); the
    supervisor never returns: it exits as the worker did."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    if os.getppid() != parent:  # the tutor died before we got here
        os._exit(1)
    out_read, out_write = os.pipe()
    worker = os.fork()
    if worker == 0:
        os.close(out_read)
        os.dup2(out_write, 1)
        os.dup2(out_write, 2)
        os.close(out_write)
        os.close(watch_fd)
        keeper = os.getppid()
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != keeper:
            os._exit(1)
        limit_worker(memory_mb, file_mb)
        return
    os.close(out_write)
    for fd in close_in_supervisor:
        with contextlib.suppress(OSError):
            os.close(fd)
    supervisor = Supervisor(worker, status_fd, watch_fd, out_read, memory_mb, output_mb)
    try:
        status = supervisor.run()
    except BaseException:
        os._exit(1)
    mirror(status)


def is_limit_error(exc: BaseException) -> str | None:
    """'memory' or 'file' when an exception is one of the worker's caps speaking."""
    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
        return "file"
    return None
