"""The embedded broker's memory, kept bounded without losing a record.

The embedded broker stores records in memory with no retention, so it grows with every record
(about 0.65 KB per 0.5 KB record). Deleting records is not something it offers; a fresh process is
empty. :class:`Recycler` checks the broker's resident memory every ``kafka.embedded_check_every``
and, above ``kafka.embedded_recycle_above_mb``:

1. holds back new records on the bus (:meth:`~huabei_watch.bus.kafka.Bus.hold`): an HTTP request,
   a poll or a timer that publishes waits (at most ``kafka.publish_timeout``, then it gets the
   usual TransientError: a 503 to a payment-results sender, a retry for a poll). What a consumer
   publishes while handling a record still passes, so the pipeline drains;
2. waits until every consumer group of the process has handled and committed every record
   (:meth:`~huabei_watch.bus.kafka.ConsumerRunner.caught_up`) and nothing is being sent, as long
   as the groups keep handling records (a backlog only shrinks while producers are held); if
   they handle nothing for ``kafka.embedded_drain_timeout`` (a handler retrying a failing
   database), the bus is released and the next check tries again;
3. recycles the broker through the supervisor's restart path
   (:meth:`~huabei_watch.bus.broker.EmbeddedBroker.recycle`). The daemon's restart hook recreates
   the topics, re-sends what :meth:`Recycler.restore_kept` kept (below), releases the bus and has
   every role republish its state; the consumers join the new broker and read from its start.

Records of topics that no consumer group of this process reads (dead letters,
``cashier.changes``, ``notifications``: read by ops) cannot be "caught up"; the newest of them, up
to ``kafka.embedded_keep_unconsumed_mb`` per topic, are kept as they are sent and re-sent after a
recycle or a crash restart, with their original timestamps, keys, headers and signatures. Older
ones are gone from the broker (the database keeps the cashier's audit and the deliveries).

Limits: only this process's consumer groups are checked (the embedded broker serves one daemon
process); an outside consumer of a consumed topic may miss what it had not read yet.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from typing import Protocol

from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.bus.kafka import Bus
from huabei_watch.config.settings import KafkaSettings
from huabei_watch.errors import TransientError
from huabei_watch.events import Record

log = logging.getLogger(__name__)


class Drainable(Protocol):
    """A consumer group member that can tell whether it has consumed everything (ConsumerRunner)."""

    group_id: str
    handled: int
    dead_lettered: int
    fetch_max_wait: float  # seconds the broker may hold its fetches

    async def caught_up(self, since: float) -> bool: ...


class _Kept:
    """The newest records of one topic, within a byte budget."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.size = 0
        self.records: deque[tuple[Record, int]] = deque()

    def add(self, record: Record, at_ms: int) -> None:
        size = _size(record)
        if size > self.budget:
            return
        self.records.append((record, at_ms))
        self.size += size
        while self.size > self.budget:
            old, _ = self.records.popleft()
            self.size -= _size(old)

    def take(self) -> list[tuple[Record, int]]:
        out = list(self.records)
        self.records.clear()
        self.size = 0
        return out


def _size(record: Record) -> int:
    return len(record.value or b"") + len(record.key or b"") + sum(len(k) + len(v or b"") for k, v in record.headers)


class Recycler:
    """Runs the check loop (:meth:`run`) and keeps unconsumed topics' records; see the module docstring."""

    def __init__(
        self,
        broker: EmbeddedBroker,
        bus: Bus,
        settings: KafkaSettings,
        *,
        runners: Callable[[], Sequence[Drainable]],
        consumed: Callable[[], Collection[str]],
    ) -> None:
        self.broker = broker
        self.bus = bus
        self.settings = settings
        self._runners = runners
        self._consumed = consumed
        self._kept: dict[str, _Kept] = {}
        self.recycled = 0
        self.gave_up = 0
        self._lagging: list[Drainable] = []
        bus.on_sent.append(self._keep)

    def _keep(self, topic: str, record: Record) -> None:
        if topic in self._consumed():
            return
        kept = self._kept.get(topic)
        if kept is None:
            kept = self._kept[topic] = _Kept(self.settings.embedded_keep_unconsumed_mb * 1024 * 1024)
        kept.add(record, int(time.time() * 1000))

    async def restore_kept(self) -> int:
        """Re-send every kept record to the fresh broker, oldest first per topic (the bus may be
        held: these pass). Returns how many were sent; a send that fails is logged and dropped."""
        sent = 0
        for topic, kept in list(self._kept.items()):
            for record, at_ms in kept.take():
                try:
                    await self.bus.send(topic, record, timestamp_ms=at_ms, even_if_held=True)
                    sent += 1
                except TransientError as exc:
                    log.warning("broker.keep_resend_failed", extra={"topic": topic, "reason": exc.reason})
        return sent

    async def run(self) -> None:
        """Check every ``kafka.embedded_check_every`` until cancelled."""
        while True:
            await asyncio.sleep(self.settings.embedded_check_every)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("broker.recycle_check_failed")

    async def check(self) -> bool:
        """One check; True when the broker was recycled."""
        rss = self.broker.rss_bytes()
        limit = self.settings.embedded_recycle_above_mb * 1024 * 1024
        if rss is None or rss <= limit:
            return False
        started = time.monotonic()
        log.info("broker.recycle_draining", extra={"rss_mb": rss // (1024 * 1024), "limit_mb": limit // (1024 * 1024)})
        self.bus.hold()
        try:
            if not await self._drained(started):
                self.gave_up += 1
                log.warning("broker.recycle_postponed", extra={
                    "reason": "consumer groups handled nothing for kafka.embedded_drain_timeout before they caught up",
                    "lagging": ",".join(sorted(r.group_id for r in self._lagging)), "rss_mb": rss // (1024 * 1024),
                    "postponed_times": self.gave_up})
                return False
            ok = await self.broker.recycle()
        finally:
            self.bus.release()  # normally done already by the restart hook, after the topics exist
        if ok:
            self.recycled += 1
            after = self.broker.rss_bytes()
            log.info("broker.recycled", extra={"rss_mb_before": rss // (1024 * 1024),
                                               "rss_mb_after": (after or 0) // (1024 * 1024),
                                               "paused_s": round(time.monotonic() - started, 2),
                                               "recycles": self.recycled})
        return ok

    async def _drained(self, started: float) -> bool:
        """Whether a pass found every consumer group caught up while the bus sent nothing and had
        nothing in flight, before the groups went ``kafka.embedded_drain_timeout`` without handling
        a record (a backlog is worked off however long it takes: producers are held, so it only
        shrinks; a handler stuck retrying makes no progress and postpones the recycle).

        A pass starts at a mark; it counts only fetches started a few fetch waits (the group's own) after the mark
        (aiokafka prefetches, so a fetch reports high-water marks that may be that old), so they
        include every record acknowledged before it. A record a handler published during the pass
        (the bus counts acknowledged sends) starts a new pass: a group checked earlier in the
        pass may not have seen it."""
        deadline = started + self.settings.embedded_drain_timeout
        mark, sent = started, self.bus.sent
        progress = -1
        while time.monotonic() < deadline:
            runners = list(self._runners())
            done = sum(r.handled + r.dead_lettered for r in runners)
            if done != progress:
                progress, deadline = done, time.monotonic() + self.settings.embedded_drain_timeout
            self._lagging = [r for r in runners if not await r.caught_up(mark + max(0.5, 5 * r.fetch_max_wait))]
            if self.bus.in_flight or self.bus.sent != sent:
                mark, sent = time.monotonic(), self.bus.sent
            elif not self._lagging:
                return True
            await asyncio.sleep(0.1)
        return False
