"""From incidents to lanes of due messages, without doing the same work twice.

For one incident: the phases due now (:func:`~consumers.notify.plan.phases_due`) minus those marked
done (:mod:`consumers.notify.progress`) are planned for the ops route and every merchant in scope,
streamed from the registry in pages, as the incident's lane in the fan-out. A lane still running
for the same phases is left alone (a re-asserted incident costs nothing); a new phase replaces the
lane's stream. When a stream has run through and every delivery finished, its phases are marked
done, unless some of their messages were held for later (quiet hours) or merchants were held back
(silence, review). :meth:`Planner.next_wakeup` says when re-planning can next yield something: the
next reminder, repeat, silence end, or the end of a hold.

With ``notify.fanout.shards`` > 1 a platform-wide incident's pending phases go to the
:class:`Splitter` instead (:mod:`consumers.notify.shard_worker`): any notify process then tells one
merchant-id range of them through :meth:`Planner.shard_stream`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from consumers.notify.fanout import FanOut
from consumers.notify.plan import PlannedMessage, Recipient, merchants_held, next_wakeup, phases_due, plan_for
from consumers.notify.progress import FanoutMarks
from consumers.notify.recipients import SmsRoute, merchant_recipient
from consumers.notify.shards import KeyRange
from consumers.notify.subsettings import PlanSettings
from huabei_watch.clock import Clock
from huabei_watch.events import Incident, ScopeKind
from huabei_watch.merchants.registry import MerchantRegistry

log = logging.getLogger(__name__)
EVERY_ID = KeyRange()


@dataclass(slots=True)
class PlanPass:
    """One stream over the recipients of an incident for some phases."""

    phases: frozenset[str]
    held: set[str] = field(default_factory=set)  # phases with a message not due yet
    held_until: datetime | None = None


class Splitter(Protocol):
    """Hands a platform-wide incident's phases to the shard board (any process tells a shard)."""

    async def offer(self, incident: Incident, phases: frozenset[str]) -> None: ...


@dataclass(frozen=True, slots=True)
class Audience:
    """Who may be told: the ops route and, per merchant, the channels configured here."""

    ops: Recipient
    configured: frozenset[str]
    sms_route: SmsRoute


class Planner:
    """Submits incidents to the fan-out. One per notify process."""

    def __init__(
        self, *, fanout: FanOut, registry: MerchantRegistry, marks: FanoutMarks, audience: Audience,
        settings: PlanSettings, clock: Clock, splitter: Splitter | None = None,
    ) -> None:
        """``splitter``: where platform-wide incidents go instead of this process's own lane (with
        ``notify.fanout.shards`` > 1); none: every incident is told by the process planning it."""
        self._fanout = fanout
        self._splitter = splitter
        self._registry = registry
        self._marks = marks
        self._audience = audience
        self._settings = settings
        self._clock = clock
        self._running: dict[str, PlanPass] = {}
        self._held_until: dict[str, datetime] = {}
        self.passes = 0  # streams started (for /metrics and the benchmark)
        self.considered = 0  # incident events and timer ticks planned

    async def submit(self, incident: Incident, previous: Incident | None) -> None:
        """Queue every due message of ``incident`` not yet told to everyone (see the module doc)."""
        self.considered += 1
        lane = incident.incident_id
        now = self._clock.now()
        due = phases_due(incident, previous, now, self._settings)
        pending = due - await self._marks.done(incident) if due else frozenset()
        running = self._running.get(lane)
        if running is not None and self._fanout.active(lane) and pending <= running.phases:
            return
        if not pending:
            return
        if self._splitter is not None and incident.scope.kind is ScopeKind.PLATFORM:
            await self._splitter.offer(incident, pending)
            return
        this = PlanPass(pending)
        self._running[lane] = this
        self._held_until.pop(lane, None)
        self.passes += 1

        async def done(ok: bool) -> None:
            if self._running.get(lane) is this:
                del self._running[lane]
            if this.held_until is not None:
                self._held_until[lane] = min(this.held_until, self._held_until.get(lane, this.held_until))
            if ok and not merchants_held(incident, now):
                await self._marks.mark(incident, this.phases - this.held, self._clock.now())

        self._fanout.submit(lane, self._due(incident, previous, now, this), on_done=done)

    def shard_stream(
        self, incident: Incident, previous: Incident | None, phases: frozenset[str], keys: KeyRange, *,
        with_ops: bool, now: datetime,
    ) -> tuple[AsyncIterator[PlannedMessage], PlanPass]:
        """The due messages of ``phases`` for the merchants in ``keys`` (and the ops route when
        ``with_ops``), and the pass that records which phases had a message held for later."""
        this = PlanPass(phases)
        return self._due(incident, previous, now, this, keys, with_ops=with_ops), this

    async def _recipients(self, incident: Incident, keys: KeyRange, *, with_ops: bool) -> AsyncIterator[Recipient]:
        a = self._audience
        if with_ops and a.ops.channels:
            yield a.ops
        if incident.scope.kind is ScopeKind.PLATFORM:
            async for m in self._registry.iter_all(start=keys.lo, stop=keys.hi):
                yield merchant_recipient(m, set(a.configured), a.sms_route)
        else:
            for m in await self._registry.get_many(incident.scope.merchant_ids):
                if m.id in keys:
                    yield merchant_recipient(m, set(a.configured), a.sms_route)

    async def _due(
        self, incident: Incident, previous: Incident | None, now: datetime, this: PlanPass,
        keys: KeyRange = EVERY_ID, *, with_ops: bool = True,
    ) -> AsyncIterator[PlannedMessage]:
        async for r in self._recipients(incident, keys, with_ops=with_ops):
            for msg in plan_for(incident, previous, r, now, self._settings):
                if msg.phase not in this.phases:
                    continue
                if msg.not_before <= now:
                    yield msg
                else:
                    this.held.add(msg.phase)
                    this.held_until = min(msg.not_before, this.held_until or msg.not_before)

    def next_wakeup(self, incidents: Iterable[Incident], now: datetime) -> datetime | None:
        """The earliest time after ``now`` at which re-planning ``incidents`` can yield a message."""
        times = [t for t in (next_wakeup(i, now, self._settings) for i in incidents) if t is not None]
        times += [t for t in self._held_until.values() if t > now]
        past = [lane for lane, t in self._held_until.items() if t <= now]
        for lane in past:
            del self._held_until[lane]
        return min(times) if times else None
