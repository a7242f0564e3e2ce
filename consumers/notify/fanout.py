"""Fan-out: many messages, bounded memory, per-provider concurrency, fair between incidents.

Work arrives as *lanes* (typically one per incident): each lane is a stream (async or plain
iterator) of planned messages, pulled lazily, so a platform-wide maintenance for 100,000 merchants
is never materialised -- at most one look-ahead item per lane plus the deliveries in progress are
in memory. The dispatcher visits lanes round-robin; a lane that just started a delivery goes to
the back, so a one-message lane for a new outage is served within one round even while a huge
lane is running. Each channel has its own concurrency limit (a saturated SMS provider does not
hold up WeCom deliveries from other lanes).

Counters (plain attributes, cumulative, for /metrics): ``queued`` (taken from lanes),
``sent``, ``failed`` (permanent, dead letter, unconfirmed), ``deferred`` (not yet due, or left for
a later retry), ``duplicates``, ``expired``, ``errors`` (the delivery raised, e.g. the store was
away: nothing was sent, the next re-plan brings the message back); ``in_progress`` is a gauge.

Shutdown: :meth:`stop` only sets a flag; :meth:`run` stops starting work, lets the deliveries in
progress finish and returns. Items not started are dropped; the planner, being level-triggered,
produces them again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from consumers.notify.delivery import DeliveryOutcome
from consumers.notify.plan import MessageGroup, PlannedMessage

log = logging.getLogger(__name__)

Deliverable = PlannedMessage | MessageGroup


class Sink(Protocol):
    async def deliver(self, item: Deliverable) -> DeliveryOutcome: ...


class FanOutSettings(BaseModel):
    """``notify.fanout`` configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_concurrency: int = Field(default=4, ge=1, le=1000, description="Deliveries at once per channel")
    concurrency: dict[str, int] = Field(default_factory=dict, description="Per-channel override of the above")


async def _aiter(items: Iterable[Deliverable]) -> AsyncIterator[Deliverable]:
    for item in items:
        yield item


@dataclass(slots=True)
class _Lane:
    sources: deque[AsyncIterator[Deliverable]] = field(default_factory=deque)
    head: Deliverable | None = None

    async def pull(self) -> Deliverable | None:
        while self.sources:
            try:
                return await anext(self.sources[0])
            except StopAsyncIteration:
                self.sources.popleft()
        return None


class FanOut:
    """A fair, bounded work queue in front of a :class:`~consumers.notify.delivery.Deliverer`."""

    def __init__(self, sink: Sink, settings: FanOutSettings | None = None) -> None:
        self._sink = sink
        self._settings = settings or FanOutSettings()
        self._lanes: dict[str, _Lane] = {}
        self._order: deque[str] = deque()
        self._busy: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._stopping = False
        self.queued = 0
        self.sent = 0
        self.failed = 0
        self.deferred = 0
        self.duplicates = 0
        self.expired = 0
        self.errors = 0
        self.in_progress = 0

    @property
    def lanes(self) -> int:
        return len(self._lanes)

    def submit(self, lane: str, items: AsyncIterable[Deliverable] | Iterable[Deliverable]) -> None:
        """Add a stream of work under ``lane`` (appended after earlier streams of the same lane)."""
        source = aiter(items) if isinstance(items, AsyncIterable) else _aiter(items)
        if lane not in self._lanes:
            self._lanes[lane] = _Lane()
            self._order.append(lane)
        self._lanes[lane].sources.append(source)
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    def limit(self, channel: str) -> int:
        return self._settings.concurrency.get(channel, self._settings.default_concurrency)

    async def run(self, *, burst: bool = False) -> None:
        """Dispatch until :meth:`stop`; with ``burst``, also return once every lane is drained."""
        try:
            while not self._stopping:
                self._wake.clear()
                if await self._round():
                    continue
                if burst and not self._lanes and not self._tasks:
                    break
                await self._wake.wait()
        finally:
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _round(self) -> int:
        """Give each lane at most one start; a lane that starts moves to the back of the order."""
        started = 0
        for name in list(self._order):
            if self._stopping:
                break
            lane = self._lanes[name]
            if lane.head is None:
                lane.head = await lane.pull()
                if lane.head is None:
                    del self._lanes[name]
                    self._order.remove(name)
                    continue
                self.queued += 1
            channel = lane.head.channel
            if self._busy.get(channel, 0) >= self.limit(channel):
                continue
            self._start(lane.head)
            lane.head = None
            self._order.remove(name)
            self._order.append(name)
            started += 1
        return started

    def _start(self, item: Deliverable) -> None:
        self._busy[item.channel] = self._busy.get(item.channel, 0) + 1
        self.in_progress += 1
        task = asyncio.create_task(self._one(item))
        self._tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            self._busy[item.channel] -= 1
            self.in_progress -= 1
            self._wake.set()

        task.add_done_callback(done)

    async def _one(self, item: Deliverable) -> None:
        try:
            outcome = await self._sink.deliver(item)
        except Exception:
            self.errors += 1
            log.exception("notify.fanout_error", extra={"dedupe_key": item.dedupe_key, "channel": item.channel})
            return
        self._count(outcome)

    def _count(self, outcome: DeliveryOutcome) -> None:
        status = outcome.status
        if status == "sent":
            self.sent += 1
        elif status in ("deferred", "retry_later", "handed_over"):
            self.deferred += 1
        elif status == "duplicate":
            self.duplicates += 1
        elif status == "expired":
            self.expired += 1
        else:
            self.failed += 1

    def counters(self) -> Mapping[str, int]:
        """The counters by name (what a /metrics collector reads)."""
        return {
            "queued": self.queued, "sent": self.sent, "failed": self.failed, "deferred": self.deferred,
            "duplicates": self.duplicates, "expired": self.expired, "errors": self.errors,
            "in_progress": self.in_progress,
        }
