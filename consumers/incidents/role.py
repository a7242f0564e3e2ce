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

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from pydantic import SecretStr

from consumers.incidents.api import add_incident_routes
from consumers.incidents.engine import IncidentEngine
from consumers.incidents.settings import IncidentSettings
from consumers.incidents.signal_log import prune_signals, record_signal
from consumers.incidents.store import IncidentStore
from huabei_watch import metrics
from huabei_watch.bus.kafka import MessageContext
from huabei_watch.bus.publish import Publisher
from huabei_watch.clock import Clock
from huabei_watch.config.retention import DEFAULT_RETENTION, RetentionSettings
from huabei_watch.db.engine import Database
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
from huabei_watch.lease import Fence
from huabei_watch.runtime.app import Subscription
from huabei_watch.runtime.housekeeping import schedule_housekeeping

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


async def create_incidents_role(
    settings: IncidentSettings,
    *,
    db: Database,
    publisher: Publisher,
    clock: Clock,
    scheduler: AsyncIOScheduler,
    signals_topic: str,
    router: web.UrlDispatcher,
    ops_token: SecretStr | None,
    fence: Fence | None = None,
    retention: RetentionSettings = DEFAULT_RETENTION,
) -> IncidentsRole:
    """The incidents role, running: the engine rebuilt from the database (open incidents, and
    closed ones changed within ``retention.incidents_in_memory``), changes that fell due while the
    daemon was down applied, every open incident re-asserted (an embedded broker starts empty, and
    after downtime the cashier's "off" needs renewing at once; same event ids), its timers and
    daily housekeeping on ``scheduler`` and its ops endpoints on ``router``. ``fence``: the
    incidents lease this process holds (its writes are refused once another process took it)."""
    store = IncidentStore(db, fence=fence)
    restored = await store.load_recent(clock.now() - timedelta(seconds=retention.incidents_in_memory))
    engine = IncidentEngine.restore(settings, restored)
    log.info("incidents.restored", extra={"incidents": len(restored), "open": len(engine.open_incidents())})
    role = IncidentsRole(engine, store=store, db=db, publisher=publisher, clock=clock, scheduler=scheduler,
                         signals_topic=signals_topic, retention=retention)
    await role.flush()
    await role.tick()
    await role.republish()
    scheduler.add_job(
        role.tick, "interval", seconds=60, id=SAFETY_JOB, replace_existing=True, misfire_grace_time=600, coalesce=True
    )
    scheduler.add_job(
        role.republish,
        "interval",
        seconds=settings.republish_every,
        id=REPUBLISH_JOB,
        replace_existing=True,
        misfire_grace_time=600,
        coalesce=True,
    )
    schedule_housekeeping(scheduler, role.name, role.prune, every=retention.prune_every, clock=clock)
    add_incident_routes(router, role, ops_token=ops_token, clock=clock)
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
    return role


class IncidentsRole:
    """Signals in, incidents out (see the module docstring). Built by :func:`create_incidents_role`."""

    name = "incidents"

    def __init__(
        self,
        engine: IncidentEngine,
        *,
        store: IncidentStore,
        db: Database,
        publisher: Publisher,
        clock: Clock,
        scheduler: AsyncIOScheduler,
        signals_topic: str,
        retention: RetentionSettings,
    ) -> None:
        self.engine = engine
        self.retention = retention
        self.store = store
        self.db = db
        self.publisher = publisher
        self.clock = clock
        self.scheduler = scheduler
        self.lock = asyncio.Lock()
        self.subscriptions = (Subscription(self.name, (signals_topic,), self.handle),)

    async def stop(self) -> None:
        return None

    # -- work ------------------------------------------------------------------------------------
    async def handle(self, event: Event[EventData], ctx: MessageContext) -> None:
        await record_signal(self.db, event, ctx.received_at)
        await self._commit(lambda: self.engine.apply(event, self.clock.now()))

    async def prune(self, now: datetime) -> dict[str, int]:
        """Housekeeping: the engine forgets closed incidents older than
        ``retention.incidents_in_memory``; the database loses closed incidents older than
        ``retention.incidents`` and signals older than ``retention.signals``."""
        async with self.lock:
            forgotten = self.engine.prune(now - timedelta(seconds=self.retention.incidents_in_memory))
        return {
            "incidents_in_memory": len(forgotten),
            "incidents": await self.store.delete_closed_before(now - timedelta(seconds=self.retention.incidents)),
            "signal_log": await prune_signals(self.db, now - timedelta(seconds=self.retention.signals)),
        }

    async def tick(self) -> None:
        await self._commit(lambda: self.engine.tick(self.clock.now()))  # schedules the next tick

    async def _commit(
        self, change: Callable[[], list[Incident]], *, retry_for: float | None = None, defer_publish: bool = False
    ) -> list[Incident]:
        """Persist before effect: ``change`` runs on the engine, its result is stored, and only
        then published. If storing fails the engine goes back to where it was (the change is
        gone, not published later) and the error propagates. ``retry_for`` bounds the whole wait
        (for the engine's lock and the database). A publish failure leaves the outbox for the
        next flush; it propagates unless ``defer_publish`` (then it is only logged)."""
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
        sent = 0
        for inc in await self.store.unpublished():
            await self.publisher.publish(incident_event(inc))
            await self.store.mark_published(inc)
            sent += 1
        return sent

    async def republish(self) -> None:
        """Re-assert every open incident (keep-alive for the cashier; after a broker restart)."""
        await self.flush()
        for inc in self.engine.open_incidents():
            await self.publisher.publish(incident_event(inc))

    def _schedule_next(self) -> None:
        if not self.scheduler.running:
            return
        now = self.clock.now()
        due = self.engine.next_due(now)
        if due is None:
            if self.scheduler.get_job(TICK_JOB):
                self.scheduler.remove_job(TICK_JOB)
            return
        run_at = max(due, now) + timedelta(milliseconds=5)
        self.scheduler.add_job(
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
        return await self._ops(lambda: self.engine.open_manual(now=self.clock.now(), **kwargs))  # type: ignore[arg-type]

    async def resolve(self, incident_id: str, by: str) -> Incident:
        return await self._ops(lambda: self.engine.resolve(incident_id, self.clock.now(), by))

    async def silence(self, incident_id: str, until: datetime) -> Incident:
        return await self._ops(lambda: self.engine.silence(incident_id, until, self.clock.now()))

    def list(self, *, open_only: bool) -> list[Incident]:
        items = self.engine.open_incidents() if open_only else self.engine.incidents()
        return sorted(items, key=lambda i: i.opened_at, reverse=True)
