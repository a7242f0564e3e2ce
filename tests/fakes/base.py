"""What every fake provider shares: the server, failure injection, counters, a rate window."""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from aiohttp import web
from aiohttp.test_utils import TestServer
from aiohttp.typedefs import Handler

from huabei_watch.clock import Clock

REF_HEADER = "X-Huabei-Dedupe-Ref"


@dataclass(frozen=True, slots=True)
class Failure:
    """An injected failure. ``code`` is the provider's error code put in its usual error body
    (None: a bare HTTP ``status`` with a short text body). ``retry_after`` adds that header."""

    status: int = 200
    code: str | int | None = None
    message: str = "injected failure"
    retry_after: float | None = None
    hang: bool = False  # never answer (until the fake closes): the client's timeout must fire


@dataclass(frozen=True, slots=True)
class Received:
    """One message the fake accepted (answered with success)."""

    ref: str
    recipient: str
    body: Mapping[str, Any]
    at: datetime


@dataclass(slots=True)
class _Injected:
    failure: Failure
    remaining: int | None  # None = until cleared


class FakeProvider:
    """Base class of the fakes. Subclasses add routes in ``_routes`` and render failures."""

    name = "fake"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._released = asyncio.Event()
        self.app = web.Application(middlewares=[self._hang])
        self._routes(self.app)
        self._server: TestServer | None = None
        self._injected: deque[_Injected] = deque()
        self._windows: dict[str, deque[float]] = {}
        self._changed = asyncio.Condition()
        self.received: list[Received] = []
        self.rejected: list[tuple[str, str]] = []  # (code, reason)
        self.requests = 0

    # -- lifecycle -------------------------------------------------------------------------------
    def _routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> str:
        self._server = TestServer(self.app, host="127.0.0.1")
        await self._server.start_server()
        return self.base_url

    async def close(self) -> None:
        self._released.set()
        if self._server is not None:
            await self._server.close()
            self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{self.name} fake is not started")
        return str(self._server.make_url("")).rstrip("/")

    @web.middleware
    async def _hang(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self._injected and self._injected[0].failure.hang:
            self.take_failure()
            await self._released.wait()
            return web.Response(status=504, text="hung")
        return await handler(request)

    # -- failure injection -----------------------------------------------------------------------
    def fail_next(self, count: int, failure: Failure) -> None:
        """The next ``count`` requests get ``failure`` (queued after earlier injections)."""
        self._injected.append(_Injected(failure, count))

    def fail_always(self, failure: Failure) -> None:
        """Every request gets ``failure`` until :meth:`clear_failures`."""
        self._injected.append(_Injected(failure, None))

    def clear_failures(self) -> None:
        self._injected.clear()

    def take_failure(self) -> Failure | None:
        if not self._injected:
            return None
        head = self._injected[0]
        if head.remaining is not None:
            head.remaining -= 1
            if head.remaining <= 0:
                self._injected.popleft()
        return head.failure

    # -- accounting ------------------------------------------------------------------------------
    async def accept(self, ref: str, recipient: str, body: Mapping[str, Any]) -> None:
        self.received.append(Received(ref, recipient, body, self.clock.now()))
        async with self._changed:
            self._changed.notify_all()

    def reject(self, code: str | int, reason: str) -> None:
        self.rejected.append((str(code), reason))

    def count_by_ref(self) -> Counter[str]:
        return Counter(r.ref for r in self.received)

    def count_by_recipient(self) -> Counter[str]:
        return Counter(r.recipient for r in self.received)

    def duplicates(self) -> dict[str, int]:
        """Refs accepted more than once (should be empty)."""
        return {ref: n for ref, n in self.count_by_ref().items() if n > 1}

    def missing(self, refs: Iterable[str]) -> set[str]:
        """Refs among ``refs`` never accepted (should be empty once the provider is back)."""
        return set(refs) - {r.ref for r in self.received}

    async def wait_for_received(self, count: int, *, deadline: float = 5.0) -> None:
        """Wait (with a real-time deadline) until at least ``count`` messages were accepted."""
        async with asyncio.timeout(deadline), self._changed:
            await self._changed.wait_for(lambda: len(self.received) >= count)

    # -- provider-side rate window -----------------------------------------------------------------
    def window_allows(self, key: str, limit: int, per_seconds: float) -> bool:
        """True when ``key`` has had fewer than ``limit`` accepted calls in the last ``per_seconds``."""
        now = self.clock.monotonic()
        stamps = self._windows.setdefault(key, deque(maxlen=10_000))
        return sum(1 for t in stamps if now - t < per_seconds) < limit

    def window_count(self, key: str) -> None:
        stamps = self._windows.setdefault(key, deque(maxlen=10_000))
        stamps.append(self.clock.monotonic())

    def bare_failure(self, failure: Failure) -> web.Response:
        headers = {"Retry-After": f"{failure.retry_after:g}"} if failure.retry_after is not None else None
        return web.Response(status=failure.status, text=failure.message, headers=headers)
