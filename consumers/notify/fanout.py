"""Fan-out: many messages, bounded memory, per-provider concurrency, fair between incidents.

Work arrives as *lanes* (typically one per incident): each lane is a stream (async or plain
iterator) of planned messages, pulled lazily; a new stream for a lane replaces the one it has
(re-planning never stacks a second pass over the registry on top of the first), so a platform-wide maintenance for 100,000 merchants
is never materialised -- at most one look-ahead item per lane plus the deliveries in progress are
in memory. The dispatcher visits lanes round-robin; a lane that just started a delivery goes to
the back, so a one-message lane for a new outage is served within one round even while a huge
lane is running. Each channel has its own concurrency limit (a saturated SMS provider does not
hold up WeCom deliveries from other lanes).

Counters (plain attributes, cumulative, for /metrics): ``queued`` (taken from lanes),
``sent``, ``failed`` (permanent, dead letter, unconfirmed), ``deferred`` (not yet due, or left for
a later retry), ``duplicates``, ``expired``, ``errors`` (the delivery raised, e.g. the store was
away: nothing was sent, the next re-plan brings the message back); ``in_progress`` is a gauge.

While deliveries are in progress the collector's young-generation threshold is raised
(``gc_threshold``, :mod:`consumers.notify.gc_pacing`) and put back once none is.

Shutdown: :meth:`stop` only sets a flag; :meth:`run` stops starting work, lets the deliveries in
progress finish and returns. Items not started are dropped; the planner, being level-triggered,
produces them again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from consumers.notify.delivery import DeliveryOutcome
from consumers.notify.gc_pacing import GcPacing
from consumers.notify.plan import MessageGroup, PlannedMessage
from consumers.notify.subsettings import FanOutSettings

log = logging.getLogger(__name__)

Deliverable = PlannedMessage | MessageGroup


class Sink(Protocol):
    async def deliver(self, item: Deliverable) -> DeliveryOutcome: ...


async def _aiter(items: Iterable[Deliverable]) -> AsyncIterator[Deliverable]:
    for item in items:
        yield item


OnDone = Callable[[bool], Awaitable[None]]
#: Items a lane may hold pulled and not started, per channel (bounded memory however large the stream).
LOOKAHEAD = 256


@dataclass(slots=True)
class _Lane:
    source: AsyncIterator[Deliverable] | None
    on_done: OnDone | None = None
    #: Items pulled and not started, per channel (a channel at its limit does not hold up the others).
    heads: dict[str, deque[Deliverable]] = field(default_factory=dict)
    pending: int = 0  # deliveries started and not finished
    ok: bool = True  # no delivery raised (e.g. the store was away)

    @property
    def buffered(self) -> int:
        return sum(len(q) for q in self.heads.values())

    async def pull(self, name: str) -> Deliverable | None:
        """The next item of the stream; None once it is drained, or when it raised (e.g. the
        registry query failed on a database blip): that stream alone is dropped, logged, and the
        lane is marked not ok, so its ``on_done(False)`` has it taken again later."""
        src = self.source
        if src is None:
            return None
        try:
            return await anext(src)
        except StopAsyncIteration:
            if self.source is src:
                self.source = None
            return None
        except Exception:
            log.exception("notify.lane_stream_failed", extra={"lane": name})
            if self.source is src:
                self.source = None
                self.ok = False
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
        self._finishing: dict[str, _Lane] = {}  # streams drained, deliveries still running
        self._wake = asyncio.Event()
        self._stopping = False
        self._gc = GcPacing(self._settings.gc_threshold)
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
        return len(self._lanes) + len(self._finishing)

    def active(self, lane: str) -> bool:
        """Whether ``lane`` still has a stream or deliveries running."""
        return lane in self._lanes or lane in self._finishing

    def submit(
        self, lane: str, items: AsyncIterable[Deliverable] | Iterable[Deliverable], *, on_done: OnDone | None = None
    ) -> None:
        """Make ``items`` the stream of ``lane``, replacing any stream it still has (an item already
        pulled from the old one is still delivered). ``on_done(ok)`` runs once the stream is
        drained (or raised: dropped, logged) and each of its deliveries finished; ``ok`` is False
        if a delivery or the stream raised. A replaced stream's ``on_done`` never runs."""
        source = aiter(items) if isinstance(items, AsyncIterable) else _aiter(items)
        old = self._lanes.get(lane)
        self._finishing.pop(lane, None)
        if old is None:
            self._lanes[lane] = _Lane(source, on_done)
            self._order.append(lane)
        else:
            self._lanes[lane] = _Lane(source, on_done, heads=old.heads)
        self._wake.set()

    def cancel(self, lane: str) -> None:
        """Stop ``lane`` at once: its stream and the items pulled but not started are dropped (e.g.
        its shard went to another process); deliveries in progress finish; its ``on_done`` never
        runs."""
        if self._lanes.pop(lane, None) is not None:
            self._order.remove(lane)
        self._finishing.pop(lane, None)
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    def limit(self, channel: str) -> int:
        return self._settings.limit(channel)

    async def run(self, *, burst: bool = False) -> None:
        """Dispatch until :meth:`stop`; with ``burst``, also return once every lane is drained."""
        try:
            while not self._stopping:
                self._wake.clear()
                if await self._round():
                    continue
                if burst and not self._lanes and not self._tasks and not self._finishing:
                    break
                await self._wake.wait()
        finally:
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    def _startable(self, lane: _Lane) -> Deliverable | None:
        for channel, queue in lane.heads.items():
            if queue and self._busy.get(channel, 0) < self.limit(channel):
                return queue.popleft()
        return None

    async def _round(self) -> int:
        """Give each lane at most one start; a lane that starts moves to the back of the order.

        A lane pulls ahead (at most ``LOOKAHEAD`` items per channel) only until it has an item for
        a channel with room, so a channel at its limit (robots waiting on their rate) does not
        stall the lane's messages for another channel (SMS)."""
        started = 0
        for name in list(self._order):
            if self._stopping:
                break
            lane = self._lanes.get(name)
            if lane is None:  # cancelled during this round
                continue
            item = self._startable(lane)
            while item is None and lane.source is not None and all(len(q) < LOOKAHEAD for q in lane.heads.values()):
                pulled = await lane.pull(name)
                if self._lanes.get(name) is not lane:  # replaced while pulling: the new stream goes on
                    new = self._lanes.get(name)  # (none: cancelled)
                    if pulled is not None and new is not None:
                        new.heads.setdefault(pulled.channel, deque()).append(pulled)
                    break
                if pulled is None:
                    break
                self.queued += 1
                lane.heads.setdefault(pulled.channel, deque()).append(pulled)
                item = self._startable(lane)
            if self._lanes.get(name) is not lane:
                continue
            if item is None:
                if lane.source is None and not lane.buffered:
                    del self._lanes[name]
                    self._order.remove(name)
                    self._finished(name, lane)
                continue
            self._start(item, lane, name)
            self._order.remove(name)
            self._order.append(name)
            started += 1
        return started

    def _finished(self, name: str, lane: _Lane) -> None:
        """The lane's stream is drained: report once its last delivery is done."""
        if lane.pending:
            self._finishing[name] = lane
        elif lane.on_done is not None:
            self._spawn(lane.on_done(lane.ok))

    def _spawn(self, coro: Awaitable[None]) -> None:
        async def guarded() -> None:
            try:
                await coro
            except Exception:
                log.exception("notify.lane_done_failed")

        task = asyncio.create_task(guarded())
        self._tasks.add(task)

        def finished(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            self._wake.set()

        task.add_done_callback(finished)

    def _start(self, item: Deliverable, lane: _Lane, name: str) -> None:
        self._busy[item.channel] = self._busy.get(item.channel, 0) + 1
        if self.in_progress == 0:
            self._gc.enter()
        self.in_progress += 1
        lane.pending += 1
        task = asyncio.create_task(self._one(item, lane))
        self._tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            self._busy[item.channel] -= 1
            self.in_progress -= 1
            if self.in_progress == 0:
                self._gc.leave()
            lane.pending -= 1
            if lane.pending == 0 and self._finishing.get(name) is lane:
                del self._finishing[name]
                if lane.on_done is not None:
                    self._spawn(lane.on_done(lane.ok))
            self._wake.set()

        task.add_done_callback(done)

    async def _one(self, item: Deliverable, lane: _Lane) -> None:
        try:
            outcome = await self._sink.deliver(item)
        except Exception:
            self.errors += 1
            lane.ok = False
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
