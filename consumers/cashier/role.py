"""The cashier role: consumes ``<prefix>.incidents`` and reconciles the Huabei switch.

Level-triggered: every incident event (including the engine's periodic re-publication) is noted,
then the affected subjects are reconciled from *all* incidents heard within ``cashier.off_ttl``.
A timer reconciles again at hold ends and expiries, so an "off" nobody renews comes back on.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

import aiohttp
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client import Gauge
from pydantic import SecretStr

from consumers.cashier.api import add_cashier_routes
from consumers.cashier.model import CashierState, Mode
from consumers.cashier.policy import PLATFORM, PolicyView, Reconciler, desired_channels, effective
from consumers.cashier.push import Pusher
from consumers.cashier.reader import PolicyReader
from consumers.cashier.settings import CashierSettings
from consumers.cashier.store import CashierStore, subjects_of
from huabei_watch import metrics
from huabei_watch.bus.kafka import MessageContext
from huabei_watch.bus.publish import Publisher
from huabei_watch.clock import Clock
from huabei_watch.config.retention import DEFAULT_RETENTION, RetentionSettings
from huabei_watch.db.engine import Database
from huabei_watch.errors import TransientError
from huabei_watch.events import CASHIER_CHANGED, CashierChange, Event, EventData, Incident, ScopeKind
from huabei_watch.merchants.registry import MerchantRegistry
from huabei_watch.runtime.app import Subscription
from huabei_watch.runtime.housekeeping import schedule_housekeeping

log = logging.getLogger(__name__)

#: How long an ops override waits for a failing or locked database before answering 503.
OPS_RETRY_FOR = 6.0

RECONCILE_JOB = "cashier:reconcile"
PLATFORM_OFF = Gauge("huabei_cashier_platform_off", "1 while the platform-wide Huabei switch is off", registry=metrics.REGISTRY)
SWITCH_OFF = Gauge("huabei_cashier_switches_off", "Switches (platform and merchant-specific) with Huabei off",
                   registry=metrics.REGISTRY)
PUSH_JOB = "cashier:push"


async def create_cashier_role(
    settings: CashierSettings,
    *,
    db: Database,
    registry: MerchantRegistry,
    publisher: Publisher,
    clock: Clock,
    http: aiohttp.ClientSession,
    scheduler: AsyncIOScheduler,
    incidents_topic: str,
    router: web.UrlDispatcher,
    ops_token: SecretStr | None,
    retention: RetentionSettings = DEFAULT_RETENTION,
) -> CashierRole:
    """The cashier role, running: its reconcile and push timers and its daily housekeeping
    (``retention.cashier_audit``, ``retention.incidents``) on ``scheduler``, the policy API
    on ``router``. :attr:`CashierRole.reader` answers what a merchant's cashier applies (the
    composition root also hands it to ``GET /v1/diagnose``)."""
    store = CashierStore(db)
    reader = PolicyReader(store, registry, clock, PolicyView(settings), incidents_for=settings.ttl)
    pusher = Pusher(store, registry, reader, http, clock)
    role = CashierRole(settings, store=store, registry=registry, reader=reader, pusher=pusher, publisher=publisher,
                       clock=clock, incidents_topic=incidents_topic)
    scheduler.add_job(role.reconcile_all, "interval", seconds=5, id=RECONCILE_JOB,
                      replace_existing=True, misfire_grace_time=600, coalesce=True, max_instances=1)
    scheduler.add_job(pusher.run_once, "interval", seconds=2, id=PUSH_JOB,
                      replace_existing=True, misfire_grace_time=600, coalesce=True, max_instances=1)
    add_cashier_routes(router, reader=reader, store=store, registry=registry, force_on=role.force_on,
                       ops_token=ops_token)

    async def prune(now: datetime) -> dict[str, int]:
        return await store.prune(audit_before=now - timedelta(seconds=retention.cashier_audit),
                                 heard_before=now - timedelta(seconds=retention.incidents))

    schedule_housekeeping(scheduler, role.name, prune, every=retention.prune_every, clock=clock)
    return role


class CashierRole:
    """Incidents in, the Huabei switch reconciled (see the module docstring). Built by
    :func:`create_cashier_role`."""

    name = "cashier"

    def __init__(
        self,
        settings: CashierSettings,
        *,
        store: CashierStore,
        registry: MerchantRegistry,
        reader: PolicyReader,
        pusher: Pusher,
        publisher: Publisher,
        clock: Clock,
        incidents_topic: str,
    ) -> None:
        self.store = store
        self.registry = registry
        self.reader = reader
        self.pusher = pusher
        self.publisher = publisher
        self.clock = clock
        self.reconciler = Reconciler(settings)
        self._ttl: timedelta = settings.ttl
        self._lock = asyncio.Lock()
        self.subscriptions = (Subscription(self.name, (incidents_topic,), self.handle),)

    async def stop(self) -> None:
        return None

    async def republish(self) -> None:
        """After a broker restart: re-publish the audit outbox (unpublished rows)."""
        await self.flush()

    def now(self) -> datetime:
        return self.clock.now()

    # -- consuming ---------------------------------------------------------------------------------
    async def handle(self, event: Event[EventData], ctx: MessageContext) -> None:
        if not isinstance(event.data, Incident):
            return
        inc = event.data
        await self.store.note_incident(inc, self.now())
        for subject in subjects_of(inc):
            await self.reconcile(subject)

    async def current_incidents(self) -> list[Incident]:
        return await self.store.heard_incidents(self.now() - self._ttl)

    async def reconcile_all(self) -> None:
        """Periodic: every subject with state, plus the platform switch (expiries, hold ends)."""
        # States first, incidents after: each decision below is checked against the version read
        # here, so one a newer incident (or override) has touched since is recomputed, not applied.
        states = await self.store.states()
        incidents = await self.current_incidents()
        subjects = set(states) | {PLATFORM}
        subjects |= {m for i in incidents if i.scope.kind is ScopeKind.MERCHANTS for m in i.scope.merchant_ids}
        for subject in sorted(subjects):
            await self.reconcile(subject, (states.get(subject) or CashierState(merchant_id=subject), incidents))
        await self.flush()
        # Gauges from the state after this pass (not before it).
        now = self.now()
        states = await self.store.states()
        await self.reader.refresh()
        SWITCH_OFF.set(sum(1 for st in states.values() if effective(st, now).channels))
        PLATFORM_OFF.set(1.0 if PLATFORM in states and effective(states[PLATFORM], now).channels else 0.0)

    async def reconcile(self, subject: str, seen: tuple[CashierState, list[Incident]] | None = None) -> None:
        """Bring ``subject``'s switch to what its incidents ask for now.

        The decision is taken from the subject's state and then its inputs (incidents heard,
        overrides), read in that order, and applied by compare-and-set on the state's version:
        inputs change only together with a version bump (:meth:`CashierStore.note_incident`), so a
        decision from inputs older than the state loses and is recomputed from fresh reads.
        ``seen``: a state and incident list already read in that order (the periodic pass).
        """
        for _ in range(5):  # compare-and-set: a newer input or another process may win; recompute then
            if seen is None:
                current = await self.store.state(subject)
                incs = await self.current_incidents()
            else:
                (current, incs), seen = seen, None
            now = self.now()
            if subject == PLATFORM:
                scoped = [i for i in incs if i.scope.kind is ScopeKind.PLATFORM]
                desired = desired_channels(PLATFORM, Mode.AUTO, scoped, now)
            else:
                scoped = [i for i in incs if i.scope.kind is ScopeKind.MERCHANTS]
                merchant = await self.registry.get(subject)
                mode = Mode(merchant.mode) if merchant else Mode.AUTO
                forced = await self.store.forced_on(subject, now)
                desired = desired_channels(subject, mode, scoped, now, forced_on=forced)
            change = self.reconciler.reconcile(subject, desired, current, now)
            if change is None:
                return
            push_to = await self._push_targets(subject) if not change.renewal else []
            seq = await self.store.apply_change(change, push_to=push_to)
            if seq is not None:
                self.reader.put(change.after)
                if seq:
                    await self.flush()
                return
        log.warning("cashier.reconcile_contended", extra={"subject": subject})

    async def _push_targets(self, subject: str) -> list[str]:
        if subject != PLATFORM:
            m = await self.registry.get(subject)
            return [subject] if m is not None and m.cashier_webhook else []
        return [m.id async for m in self.registry.iter_all() if m.cashier_webhook and m.mode == "auto"]

    async def flush(self) -> None:
        """Publish audit rows not yet on ``<prefix>.cashier.changes`` (outbox)."""
        async with self._lock:
            for row in await self.store.unpublished_audit():
                data = CashierChange(
                    merchant_id=row.subject, before=tuple(row.before), after=tuple(row.after), reason=row.reason or "-",
                    incident_ids=tuple(row.incident_ids), at=row.at, until=row.until, version=max(1, row.version),
                )
                await self.publisher.publish(Event.build(CASHIER_CHANGED, data, time=row.at))
                await self.store.mark_audit_published(row.seq)

    # -- ops control ---------------------------------------------------------------------------------
    async def force_on(self, merchant_id: str, incident_id: str, until: datetime | None, by: str) -> None:
        """Keep Huabei on for ``merchant_id`` (for one incident or ``"*"``, until a time or for good).
        Persist before effect: the override is committed first (TransientError after
        :data:`OPS_RETRY_FOR` of a failing database, and then nothing of it exists); the switch
        follows from it, now or at the next periodic pass."""
        await self.store.force_on(merchant_id, incident_id, until, self.now(), by, retry_for=OPS_RETRY_FOR)
        try:
            await self.reader.refresh()
            await self.reconcile(merchant_id)
        except TransientError as exc:
            log.warning("cashier.force_on_deferred", extra={"merchant_id": merchant_id, "reason": exc.reason})
