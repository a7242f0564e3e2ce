"""Several notify processes share one platform-wide incident (``notify.fanout.shards`` > 1).

:class:`ShardSplitter` is the planner's way out for such an incident: instead of one lane in the
process that consumed it, each due phase is written to the shard board as key ranges of the
registry (:mod:`consumers.notify.shard_board`). :class:`ShardWorker` runs in every notify process:
every ``claim_every`` (and at once when this process split something) it renews the leases of the
shards it holds and takes free ones, up to ``shards_per_process``; each shard becomes a lane of
this process's fan-out (fair with every other lane), streaming only its range. When the lane is
through, the shard's phases are recorded done (or free again later: a delivery raised, merchants
held back, messages waiting for the end of quiet hours), and a phase done in every shard gets its
:class:`~consumers.notify.progress.FanoutMarks` mark. On shutdown the shards still held are given
back at once; a killed process's shards are taken over when their lease runs out, and the
delivery store's reservations keep each message to once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Protocol

from consumers.notify.fanout import FanOut
from consumers.notify.plan import merchants_held
from consumers.notify.planner import Planner
from consumers.notify.progress import FanoutMarks, scope_digest
from consumers.notify.shard_board import Claim, ShardBoard
from consumers.notify.shards import boundary_offsets, shard_count, shard_outcome
from consumers.notify.subsettings import FanOutSettings
from huabei_watch.clock import Clock
from huabei_watch.events import Incident
from huabei_watch.merchants.registry import MerchantRegistry

log = logging.getLogger(__name__)


class IncidentSource(Protocol):
    async def get(self, incident_id: str) -> tuple[Incident, Incident | None] | None:
        """The latest revision notify holds of ``incident_id`` and the one before; None if gone."""
        ...


class ShardSplitter:
    """Writes a platform-wide incident's due phases to the board as ``shards`` key ranges (fewer
    for a registry too small for ``min_shard_merchants`` each) and
    wakes this process's worker (it usually takes the first shard before any other process); marks
    a phase the board holds as done in every shard but that has no mark yet."""

    def __init__(self, board: ShardBoard, registry: MerchantRegistry, marks: FanoutMarks, settings: FanOutSettings,
                 clock: Clock, wake: asyncio.Event) -> None:
        self._board = board
        self._marks = marks
        self._min_size = settings.min_shard_merchants
        self._registry = registry
        self._shards = settings.shards
        self._clock = clock
        self._wake = wake

    async def offer(self, incident: Incident, phases: frozenset[str]) -> None:
        offered = await self._board.offer(incident, phases, self._shards, self._bounds, self._clock.now())
        if offered.complete:
            await self._marks.mark(incident, offered.complete, self._clock.now())
        if offered.split:
            self._wake.set()

    async def _bounds(self, shards: int) -> list[str]:
        count = await self._registry.count()
        return await self._registry.ids_at(boundary_offsets(count, shard_count(count, shards, self._min_size)))


class ShardWorker:
    """Takes shards from the board and tells them through this process's fan-out (module doc)."""

    def __init__(
        self, *, board: ShardBoard, planner: Planner, incidents: IncidentSource, fanout: FanOut, marks: FanoutMarks,
        settings: FanOutSettings, clock: Clock, owner: str, wake: asyncio.Event, replan_every: float,
    ) -> None:
        """``replan_every``: how long a shard whose merchants are held back (silence, review) waits
        before it is taken again (``notify.replan_every``)."""
        self._board = board
        self._replan_after = timedelta(seconds=replan_every)
        self._planner = planner
        self._incidents = incidents
        self._fanout = fanout
        self._marks = marks
        self._settings = settings
        self._clock = clock
        self.owner = owner
        self._wake = wake
        self._held: dict[Claim, str] = {}  # claim -> its lane in the fan-out
        self._stopping = False
        self.taken = 0  # shards taken (for /metrics)
        self.finished = 0  # passes over a shard run through and recorded on the board
        self.lost = 0  # leases lost (lapsed, taken over): their lanes stopped

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Tick every ``claim_every`` or when woken, until :meth:`stop`. Never raises: a failed tick
        (the database away) is logged and the next one tries again."""
        while not self._stopping:
            self._wake.clear()
            try:
                await self.tick()
            except Exception:
                log.exception("notify.shards_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._settings.claim_every)

    async def give_back(self) -> None:
        """Free the shards still held (their lanes were dropped by the stopping fan-out)."""
        held, self._held = list(self._held), {}
        await self._board.release(self.owner, held)

    async def tick(self) -> None:
        """Renew the leases of the shards whose lanes still run (a lane whose stream ended or
        raised gives its shard back through its ``on_done``), stop the lanes of leases lost, then
        take free shards up to ``shards_per_process``."""
        s = self._settings
        now = self._clock.now()
        running = {claim: lane for claim, lane in self._held.items() if self._fanout.active(lane)}
        kept = set(await self._board.renew(self.owner, running, now, s.shard_lease))
        for claim, lane in running.items():
            if claim not in kept and claim in self._held:  # another process may tell this range now: stop telling it here
                del self._held[claim]
                self.lost += 1
                log.warning("notify.shard_lost", extra={"incident_id": claim.incident_id, "shard": claim.shard,
                                                        "phases": ",".join(sorted(claim.phases))})
                self._fanout.cancel(lane)
        room = s.shards_per_process - len(self._held)
        if room <= 0 or self._stopping:
            return
        for claim in await self._board.claim(self.owner, now, s.shard_lease, room):
            await self._start(claim, now)

    async def _start(self, claim: Claim, now: datetime) -> None:
        self.taken += 1
        found = await self._incidents.get(claim.incident_id)
        if found is None:  # housekeeping deleted it: nothing left to tell
            await self._board.finish(self.owner, claim, claim.phases, frozenset(), None, now)
            return
        incident, previous = found
        stream, this = self._planner.shard_stream(incident, previous, claim.phases, claim.keys,
                                                  with_ops=claim.shard == 0, now=now)
        lane = f"{claim.incident_id}#{claim.shard}:{','.join(sorted(claim.phases))}"
        self._held[claim] = lane
        log.debug("notify.shard_taken", extra={"incident_id": claim.incident_id, "shard": claim.shard,
                                               "phases": ",".join(sorted(claim.phases))})

        async def done(ok: bool) -> None:
            if self._held.pop(claim, None) is None:  # the lease was lost: the new holder records it
                return
            at = self._clock.now()
            out = shard_outcome(claim.phases, this.held, this.held_until, ok=ok,
                                merchants_held=merchants_held(incident, now), now=at,
                                retry_after=timedelta(seconds=self._settings.shard_lease),
                                replan_after=self._replan_after)
            complete = await self._board.finish(self.owner, claim, out.done, out.again, out.again_at, at)
            if complete and scope_digest(incident) == claim.scope_digest:
                await self._marks.mark(incident, complete, at)
            self.finished += 1  # counted once the outcome is recorded, so a reader of the count sees the row
            self._wake.set()

        self._fanout.submit(lane, stream, on_done=done)
