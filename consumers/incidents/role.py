"""The incidents role: consumes ``<prefix>.signals``, keeps incidents, publishes ``<prefix>.incidents``.

* Every change is stored first (with ``published_revision`` behind) and published after, so a crash
  between the two republishes at start-up; nothing is lost, and a replay changes nothing.
* Timed phase changes run from an APScheduler job set at the engine's next due time; at start-up the
  engine is rebuilt from the database and ticked at once, so a change that fell due while the
  daemon was down is applied immediately.
* Open incidents are re-published every ``incidents.republish_every`` (same event id): that
  renews the cashier's "off"; if this stream goes silent, Huabei comes back on by itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from consumers.incidents.api import add_incident_routes
from consumers.incidents.engine import IncidentEngine
from consumers.incidents.settings import IncidentsConfig
from consumers.incidents.signal_log import record_signal
from consumers.incidents.store import IncidentStore
from huabei_watch import metrics
from huabei_watch.bus.kafka import MessageContext
from huabei_watch.errors import TransientError
from huabei_watch.events import (
    INCIDENT_CANCELLED,
    INCIDENT_OPENED,
    INCIDENT_RESOLVED,
    INCIDENT_UPDATED,
    Event,
    EventData,
    Incident,
    IncidentKind,
    Phase,
)
from huabei_watch.runtime.app import App

log = logging.getLogger(__name__)

#: How long an ops command waits for a failing or locked database before answering 503.
OPS_RETRY_FOR = 6.0

TICK_JOB = "incidents:tick"
SAFETY_JOB = "incidents:safety-tick"
REPUBLISH_JOB = "incidents:republish"


def event_type_for(incident: Incident) -> str:
    if incident.phase is Phase.RESOLVED:
        return INCIDENT_RESOLVED
    if incident.phase is Phase.CANCELLED:
        return INCIDENT_CANCELLED
    return INCIDENT_OPENED if incident.revision == 1 else INCIDENT_UPDATED


def incident_event(incident: Incident) -> Event[Incident]:
    """The event for one incident revision; the same revision always gives the same event."""
    return Event.build(event_type_for(incident), incident, time=incident.updated_at)


class IncidentsRole:
    name = "incidents"

    def __init__(self) -> None:
        self.app: App[IncidentsConfig] | None = None
        self.engine: IncidentEngine | None = None
        self.store: IncidentStore | None = None
        self.lock = asyncio.Lock()

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self, app: App[IncidentsConfig]) -> None:
        self.app = app
        self.store = IncidentStore(app.require_db())
        restored = await self.store.load_all()
        self.engine = IncidentEngine.restore(app.settings.incidents, restored)
        log.info("incidents.restored", extra={"incidents": len(restored), "open": len(self.engine.open_incidents())})
        await self.flush()
        await self.tick()
        # Re-assert what is open now rather than at the first keep-alive: an embedded broker starts
        # empty, and after downtime the cashier's "off" needs renewing at once (same event ids).
        await self.republish()
        app.consume(self.name, [app.topics.signals], self.handle)
        app.scheduler.add_job(
            self.tick, "interval", seconds=60, id=SAFETY_JOB, replace_existing=True, misfire_grace_time=600, coalesce=True
        )
        app.scheduler.add_job(
            self.republish,
            "interval",
            seconds=app.settings.incidents.republish_every,
            id=REPUBLISH_JOB,
            replace_existing=True,
            misfire_grace_time=600,
            coalesce=True,
        )
        add_incident_routes(app, self)
        engine = self.engine
        metrics.live_gauge(
            "huabei_incidents_open", "Open incidents (scheduled or active) by kind and phase", ("kind", "phase"),
            lambda: [((k, p), float(n)) for (k, p), n in Counter(
                (i.kind.value, i.phase.value) for i in engine.open_incidents()).items()],
        )
        metrics.live_gauge(
            "huabei_maintenance_lead_seconds",
            "Open maintenance windows: how long before the start Huabei watch first heard of them", ("incident",),
            lambda: [((i.incident_id,), (i.starts_at - i.opened_at).total_seconds()) for i in engine.open_incidents()
                     if i.kind is IncidentKind.MAINTENANCE and i.starts_at is not None and not i.manual],
        )

    async def stop(self) -> None:
        return None

    # -- work ------------------------------------------------------------------------------------
    def _now(self) -> datetime:
        assert self.app is not None
        return self.app.clock.now()

    async def handle(self, event: Event[EventData], ctx: MessageContext) -> None:
        assert self.app is not None and self.engine is not None
        await record_signal(self.app.require_db(), event, ctx.received_at)
        engine = self.engine
        await self._commit(lambda: engine.apply(event, self._now()))

    async def tick(self) -> None:
        if self.engine is None:
            return
        engine = self.engine
        await self._commit(lambda: engine.tick(self._now()))  # schedules the next tick

    async def _commit(
        self, change: Callable[[], list[Incident]], *, retry_for: float | None = None, defer_publish: bool = False
    ) -> list[Incident]:
        """Persist before effect: ``change`` runs on the engine, its result is stored, and only
        then published. If storing fails the engine goes back to where it was (the change is
        gone, not published later) and the error propagates. ``retry_for`` bounds the whole wait
        (for the engine's lock and the database). A publish failure leaves the outbox for the
        next flush; it propagates unless ``defer_publish`` (then it is only logged)."""
        assert self.store is not None and self.engine is not None
        loop = asyncio.get_running_loop()
        deadline = None if retry_for is None else loop.time() + retry_for
        try:
            await asyncio.wait_for(self.lock.acquire(), retry_for)
        except TimeoutError:
            raise TransientError("the incident engine is busy storing other changes") from None
        try:
            mark = self.engine.checkpoint()
            try:
                changed = change()
                left = None if deadline is None else max(0.5, deadline - loop.time())
                await self.store.save([self.engine.record(i.incident_id) for i in changed], retry_for=left)
            except BaseException:
                self.engine.rollback(mark)
                raise
        finally:
            self.lock.release()
        for inc in changed:
            log.info("incident.changed", extra={"incident_id": inc.incident_id, "phase": inc.phase.value,
                                                "revision": inc.revision})
        try:
            await self.flush()
        except TransientError as exc:
            if not defer_publish:
                raise
            log.warning("incidents.publish_deferred", extra={"reason": exc.reason})
        finally:
            self._schedule_next()
        return changed

    async def flush(self) -> int:
        """Publish every stored revision not yet published (oldest first)."""
        assert self.app is not None and self.store is not None
        sent = 0
        for inc in await self.store.unpublished():
            await self.app.require_bus().publish(incident_event(inc))
            await self.store.mark_published(inc)
            sent += 1
        return sent

    async def republish(self) -> None:
        """Re-assert every open incident (keep-alive for the cashier; after a broker restart)."""
        if self.app is None or self.engine is None:
            return
        await self.flush()
        for inc in self.engine.open_incidents():
            await self.app.require_bus().publish(incident_event(inc))

    def _schedule_next(self) -> None:
        if self.app is None or self.engine is None or not self.app.scheduler.running:
            return
        now = self._now()
        due = self.engine.next_due(now)
        if due is None:
            if self.app.scheduler.get_job(TICK_JOB):
                self.app.scheduler.remove_job(TICK_JOB)
            return
        run_at = max(due, now) + timedelta(milliseconds=5)
        self.app.scheduler.add_job(
            self.tick, "date", run_date=run_at, id=TICK_JOB, replace_existing=True, misfire_grace_time=3600
        )

    # -- ops control ------------------------------------------------------------------------------
    # Each is committed before it takes effect (OPS_RETRY_FOR bounds the wait for the database):
    # on a database failure the caller gets TransientError and nothing of the command remains.
    async def _ops(self, change: Callable[[], Incident]) -> Incident:
        done: list[Incident] = []

        def run() -> list[Incident]:
            done.append(change())
            return done[-1:]

        await self._commit(run, retry_for=OPS_RETRY_FOR, defer_publish=True)
        return done[0]

    async def open_manual(self, **kwargs: object) -> Incident:
        engine = self.engine
        assert engine is not None
        return await self._ops(lambda: engine.open_manual(now=self._now(), **kwargs))  # type: ignore[arg-type]

    async def resolve(self, incident_id: str, by: str) -> Incident:
        engine = self.engine
        assert engine is not None
        return await self._ops(lambda: engine.resolve(incident_id, self._now(), by))

    async def silence(self, incident_id: str, until: datetime) -> Incident:
        engine = self.engine
        assert engine is not None
        return await self._ops(lambda: engine.silence(incident_id, until, self._now()))

    def list(self, *, open_only: bool) -> list[Incident]:
        assert self.engine is not None
        items = self.engine.open_incidents() if open_only else self.engine.incidents()
        return sorted(items, key=lambda i: i.opened_at, reverse=True)
