"""The admin server's defence against abusive clients, in front of aiohttp's request handler.

aiohttp has a keep-alive timeout but no limit on connections and no deadline for a request that
arrives slowly. :func:`serve` listens itself and wraps each connection's aiohttp protocol:

* **caps**: at most ``max_connections`` open at once (never more than half the process's file
  descriptor limit, and connections are accepted :data:`ACCEPT_BURST` at a time, so descriptors
  never run out) and ``max_per_address`` from one address. A connection over the per-address cap
  is closed at once; at the total cap the oldest connection still waiting for its request is closed
  to make room, so a fresh client (a health check) always gets in.
* **deadlines**: a request's header must be complete within ``header_timeout`` of its first byte
  (or of the connection, for the first request), and a body of known length within
  ``body_timeout`` after the header. A connection past its deadline is closed (logged at debug).
  Idle keep-alive connections are aiohttp's (``keepalive_timeout``).

A sweeper task checks deadlines twice a second while any connection is open, and sleeps until one
opens when none is (an idle daemon's event loop is not woken for it); nothing here parses HTTP
beyond finding the end of the header and its ``Content-Length``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import resource
import socket
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

log = logging.getLogger(__name__)

_END = b"\r\n\r\n"
_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d{1,12})[ \t]*\r\n", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[^\r\n]*chunked", re.IGNORECASE)
_MAX_HEADER = 64 * 1024
#: asyncio accepts up to ``backlog`` connections per wake-up before any of them can be closed, so
#: the open descriptors can reach the cap plus this: keep it small next to half the fd limit.
ACCEPT_BURST = 128


@dataclass(frozen=True, slots=True)
class Limits:
    max_connections: int = 512
    max_per_address: int = 64
    header_timeout: float = 10.0
    body_timeout: float = 30.0

    def effective_max(self) -> int:
        """``max_connections``, but at most half the soft file-descriptor limit (the database,
        Kafka and the broker need the rest)."""
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return self.max_connections
        return max(8, min(self.max_connections, soft // 2))


class _Guarded(asyncio.Protocol):
    """Delegates to aiohttp's protocol; watches how far the current request has arrived."""

    def __init__(self, inner: Any, guard: Guard) -> None:
        self.inner = inner
        self.guard = guard
        self.transport: asyncio.Transport | None = None
        self.admitted = False
        self.address = ""
        self.waiting = True  # for a request's header or body (a candidate for eviction)
        self.deadline: float | None = None
        self._head = b""
        self._body_left = 0
        self._chunked = False

    # -- asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport: asyncio's is an asyncio.Transport, uvloop's only behaves like one.
        transport = cast(asyncio.Transport, transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.address = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
        self.admitted = self.guard.admit(self)
        if not self.admitted:
            transport.abort()
            return
        self.deadline = time.monotonic() + self.guard.limits.header_timeout
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self.admitted:
            return
        self._track(data)
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        result: bool | None = self.inner.eof_received()
        return result

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.release(self)
        if self.admitted:
            self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    # -- request tracking -------------------------------------------------------------------
    def _track(self, data: bytes) -> None:
        now = time.monotonic()
        while data:
            if self._body_left > 0:
                used = min(self._body_left, len(data))
                self._body_left -= used
                data = data[used:]
                if self._body_left == 0:
                    self._served()
                continue
            if self._chunked:
                self._head = (self._head + data)[-8:]
                if self._head.endswith(b"0\r\n\r\n"):
                    self._chunked = False
                    self._head = b""
                    self._served()
                return
            if not self.waiting:  # the next request on this connection starts
                self.waiting = True
                self.deadline = now + self.guard.limits.header_timeout
            self._head += data
            end = self._head.find(_END)
            if end < 0:
                if len(self._head) > _MAX_HEADER:
                    self._head = self._head[-_MAX_HEADER:]  # aiohttp refuses such a header itself
                return
            header, data = self._head[: end + 4], self._head[end + 4 :]
            self._head = b""
            length = _LENGTH.search(header)
            if length is not None and int(length.group(1)) > 0:
                self._body_left = int(length.group(1))
                self.deadline = now + self.guard.limits.body_timeout
            elif _CHUNKED.search(header):
                self._chunked = True
                self.deadline = now + self.guard.limits.body_timeout
            else:
                self._served()

    def _served(self) -> None:
        self.waiting = False
        self.deadline = None

    def expire(self, reason: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            log.debug("admin.connection_closed", extra={"address": self.address, "reason": reason})
            self.transport.abort()


class Guard:
    """Connection bookkeeping shared by every connection of one listener."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.max_total = limits.effective_max()
        self._open: OrderedDict[int, _Guarded] = OrderedDict()
        self._per_address: dict[str, int] = {}
        self.refused = 0
        self.expired = 0
        self._opened = asyncio.Event()  # set when a connection is admitted; the sweeper waits on it

    def admit(self, conn: _Guarded) -> bool:
        if self._per_address.get(conn.address, 0) >= self.limits.max_per_address:
            self.refused += 1
            log.debug("admin.connection_refused", extra={"address": conn.address, "reason": "per-address cap"})
            return False
        if len(self._open) >= self.max_total:
            victim = next((c for c in self._open.values() if c.waiting), None)
            if victim is None:
                self.refused += 1
                return False
            self._drop(victim)
            victim.expire("total cap: oldest waiting connection closed for a new one")
        self._open[id(conn)] = conn
        self._per_address[conn.address] = self._per_address.get(conn.address, 0) + 1
        self._opened.set()
        return True

    async def wait_for_connections(self) -> None:
        """Return at once while a connection is open, else when the next one is admitted."""
        while not self._open:
            self._opened.clear()
            await self._opened.wait()

    def _drop(self, conn: _Guarded) -> bool:
        if self._open.pop(id(conn), None) is None:
            return False
        left = self._per_address.get(conn.address, 1) - 1
        if left > 0:
            self._per_address[conn.address] = left
        else:
            self._per_address.pop(conn.address, None)
        return True

    def release(self, conn: _Guarded) -> None:
        """Forget a closed connection."""
        self._drop(conn)

    def sweep(self, now: float) -> None:
        for conn in [c for c in self._open.values() if c.deadline is not None and now > c.deadline]:
            self.expired += 1
            conn.expire("request not received in time")


async def _sweeper(guard: Guard, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
    """Sweep ``guard`` every half second while it has open connections; with none, sleep until one
    is admitted."""
    while True:
        await guard.wait_for_connections()
        await sleep(0.5)  # the sweeper's period, not a wait in a test
        guard.sweep(time.monotonic())


@dataclass
class Listener:
    server: asyncio.Server
    guard: Guard
    sweeper: asyncio.Task[None]

    @property
    def port(self) -> int:
        sock = self.server.sockets[0]
        return int(sock.getsockname()[1])

    async def close(self) -> None:
        self.sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.sweeper
        self.server.close()
        await self.server.wait_closed()


async def serve(protocol_factory: Any, host: str, port: int, limits: Limits) -> Listener:
    """Listen on ``host:port``; every connection gets ``protocol_factory()`` behind the guard."""
    guard = Guard(limits)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Guarded(protocol_factory(), guard), host, port, family=socket.AF_UNSPEC, reuse_address=True,
        backlog=ACCEPT_BURST,
    )
    sweeper = asyncio.create_task(_sweeper(guard), name="admin-guard-sweeper")
    return Listener(server, guard, sweeper)
