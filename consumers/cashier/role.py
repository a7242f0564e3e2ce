"""The cashier role: consumes ``<prefix>.incidents`` and reconciles the Huabei switch.

Level-triggered: every incident event (including the engine's periodic re-publication) is noted,
then the affected subjects are reconciled from *all* incidents heard within ``cashier.off_ttl``.
A timer reconciles again at hold ends and expiries, so an "off" nobody renews comes back on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from prometheus_client import Gauge

from consumers.cashier.api import add_cashier_routes
from consumers.cashier.model import CashierState, Mode
from consumers.cashier.policy import channels_down, desired_channels
from consumers.cashier.push import Pusher
from consumers.cashier.reconcile import Reconciler, effective
from consumers.cashier.settings import CashierConfig
from consumers.cashier.store import PLATFORM, CashierStore, subjects_of
from consumers.cashier.view import PolicyView
from huabei_watch import metrics
from huabei_watch.bus.kafka import MessageContext
from huabei_watch.clock import Clock
from huabei_watch.errors import TransientError
from huabei_watch.events import CASHIER_CHANGED, CashierChange, Event, EventData, Incident, ScopeKind
from huabei_watch.merchants.model import Merchant
from huabei_watch.merchants.registry import MerchantRegistry
from huabei_watch.runtime.app import App

log = logging.getLogger(__name__)

#: How long an ops override waits for a failing or locked database before answering 503.
OPS_RETRY_FOR = 6.0
RECONCILE_JOB = "cashier:reconcile"
PLATFORM_OFF = Gauge("huabei_cashier_platform_off", "1 while the platform-wide Huabei switch is off", registry=metrics.REGISTRY)
SWITCH_OFF = Gauge("huabei_cashier_switches_off", "Switches (platform and merchant-specific) with Huabei off",
                   registry=metrics.REGISTRY)
PUSH_JOB = "cashier:push"

#: Merchant id -> the shopper message of the policy in force there while Huabei is off, else None.
PolicyLookup = Callable[[str], Awaitable[str | None]]


class DiagnoseRoutes(Protocol):
    """Adds ``GET /v1/diagnose`` (shopper hints, owned by the watcher role) to the admin server,
    answering with this role's policy message. The composition root passes it in."""

    def __call__(self, app: App[Any], policy_lookup: PolicyLookup, *, registry: MerchantRegistry | None = None) -> None: ...


class ReadCache:
    """What the policy API reads, kept in memory: the switch states, force-on overrides and the
    merchants asked about. Refreshed after every change this process makes and at least every
    ``ttl`` seconds (changes made by another cashier process show within that)."""

    def __init__(self, store: CashierStore, registry: MerchantRegistry, clock: Clock, *, ttl: float = 2.0,
                 merchant_ttl: float = 30.0, incidents_for: timedelta = timedelta(minutes=15)) -> None:
        self.store = store
        self.incidents_for = incidents_for
        #: Open maintenance incidents that take pay channels down (fallbacks avoid those channels).
        self.maintenance: list[Incident] = []
        self.registry = registry
        self.clock = clock
        self.ttl = ttl
        self.merchant_ttl = merchant_ttl
        self.states: dict[str, CashierState] = {}
        self.forced: dict[str, set[str]] = {}
        self._loaded = -1e18
        self._merchants: dict[str, tuple[Merchant | None, float]] = {}
        #: Merchants asked about and not cached, waiting for the next batched registry read.
        self._wanted: dict[str, asyncio.Future[Merchant | None]] = {}
        self._loader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        #: Bumped at every refresh: rendered policies of an older generation are stale.
        self.generation = 0
        #: (merchant id, mode) -> (generation, valid until, body, etag): the policy API's responses.
        self.rendered: dict[tuple[str, str], tuple[int, datetime | None, bytes, str]] = {}

    async def refresh(self) -> None:
        """Re-read the switches and overrides. Never goes back in time: a switch this process wrote
        (:meth:`put`) while the read was under way is kept when its version is newer."""
        async with self._lock:
            stored = await self.store.states()
            forced = await self.store.all_forced_on(self.clock.now())
            heard = await self.store.heard_incidents(self.clock.now() - self.incidents_for)
            self.maintenance = [i for i in heard if i.unavailable_channels and i.phase.is_open]
            merged = dict(self.states)
            for subject, state in stored.items():
                known = merged.get(subject)
                if known is None or state.version >= known.version:
                    merged[subject] = state
            self.states, self.forced = merged, forced
            self._loaded = self.clock.monotonic()
            self._invalidate()

    def put(self, state: CashierState) -> None:
        """Write-through of a switch this process just committed: the policy API serves it from
        the moment the commit returns, not from the next refresh."""
        known = self.states.get(state.merchant_id)
        if known is None or state.version > known.version:
            self.states[state.merchant_id] = state
            self._invalidate()

    def _invalidate(self) -> None:
        self.generation += 1
        self.rendered.clear()

    async def fresh(self) -> None:
        if self.clock.monotonic() - self._loaded > self.ttl:
            await self.refresh()

    async def merchant(self, merchant_id: str) -> Merchant | None:
        """The merchant (None if unknown), cached ``merchant_ttl`` seconds. Misses are read from
        the registry in batches: every merchant asked about while a read is under way is read by
        the next one, in one query (with 100,000 merchants and a random one per request, one
        query per request queued on the connection pool)."""
        hit = self._merchants.get(merchant_id)
        if hit is not None and self.clock.monotonic() - hit[1] <= self.merchant_ttl:
            return hit[0]
        wanted = self._wanted.get(merchant_id)
        if wanted is None:
            wanted = self._wanted[merchant_id] = asyncio.get_running_loop().create_future()
            if self._loader is None or self._loader.done():
                self._loader = asyncio.create_task(self._load_wanted())
        return await asyncio.shield(wanted)  # a cancelled request must not cancel the others' wait

    async def _load_wanted(self) -> None:
        while self._wanted:
            batch, self._wanted = self._wanted, {}
            ids = list(batch)
            try:
                found: dict[str, Merchant] = {}
                for i in range(0, len(ids), 500):
                    found.update((m.id, m) for m in await self.registry.get_many(ids[i : i + 500]))
            except Exception as exc:  # every waiter gets the error (a TransientError: 503)
                for fut in batch.values():
                    if not fut.done():
                        fut.set_exception(exc)
                        fut.add_done_callback(lambda f: f.exception())  # retrieved even if nobody waits now
                continue
            now = self.clock.monotonic()
            if len(self._merchants) + len(batch) > 200_000:
                self._merchants.clear()
            for merchant_id, fut in batch.items():
                m = found.get(merchant_id)
                self._merchants[merchant_id] = (m, now)
                if not fut.done():
                    fut.set_result(m)


class CashierRole:
    name = "cashier"

    def __init__(self, *, diagnose_routes: DiagnoseRoutes | None = None) -> None:
        self.app: App[CashierConfig] | None = None
        self._diagnose_routes = diagnose_routes
        self.store: CashierStore | None = None
        self.registry: MerchantRegistry | None = None
        self.reconciler: Reconciler | None = None
        self.view: PolicyView | None = None
        self.pusher: Pusher | None = None
        self.cache: ReadCache | None = None
        self._lock = asyncio.Lock()

    async def start(self, app: App[CashierConfig]) -> None:
        self.app = app
        db = app.require_db()
        self.store = CashierStore(db)
        self.registry = MerchantRegistry(db)
        self.reconciler = Reconciler(app.settings.cashier)
        self.view = PolicyView(app.settings.cashier)
        self.pusher = Pusher(self.store, self.registry, self, app.require_http(), app.clock)
        self.cache = ReadCache(self.store, self.registry, app.clock, incidents_for=app.settings.cashier.ttl)
        app.consume(self.name, [app.topics.incidents], self.handle)
        app.scheduler.add_job(self.reconcile_all, "interval", seconds=5, id=RECONCILE_JOB,
                              replace_existing=True, misfire_grace_time=600, coalesce=True, max_instances=1)
        app.scheduler.add_job(self.pusher.run_once, "interval", seconds=2, id=PUSH_JOB,
                              replace_existing=True, misfire_grace_time=600, coalesce=True, max_instances=1)
        add_cashier_routes(app, self)
        if self._diagnose_routes is not None:
            self._diagnose_routes(app, self.policy_message, registry=self.registry)

    async def stop(self) -> None:
        return None

    async def republish(self) -> None:
        """After a broker restart: re-publish the audit outbox (unpublished rows)."""
        await self.flush()

    def now(self) -> datetime:
        assert self.app is not None
        return self.app.clock.now()

    # -- consuming ---------------------------------------------------------------------------------
    async def handle(self, event: Event[EventData], ctx: MessageContext) -> None:
        assert self.store is not None
        if not isinstance(event.data, Incident):
            return
        inc = event.data
        await self.store.note_incident(inc, self.now())
        for subject in subjects_of(inc):
            await self.reconcile(subject)

    async def current_incidents(self) -> list[Incident]:
        assert self.store is not None and self.app is not None
        return await self.store.heard_incidents(self.now() - self.app.settings.cashier.ttl)

    async def reconcile_all(self) -> None:
        """Periodic: every subject with state, plus the platform switch (expiries, hold ends)."""
        assert self.store is not None
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
        if self.cache is not None:
            await self.cache.refresh()
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
        assert self.store is not None and self.reconciler is not None and self.registry is not None
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
                if self.cache is not None:
                    self.cache.put(change.after)
                if seq:
                    await self.flush()
                return
        log.warning("cashier.reconcile_contended", extra={"subject": subject})

    async def _push_targets(self, subject: str) -> list[str]:
        assert self.registry is not None
        if subject != PLATFORM:
            m = await self.registry.get(subject)
            return [subject] if m is not None and m.cashier_webhook else []
        return [m.id async for m in self.registry.iter_all() if m.cashier_webhook and m.mode == "auto"]

    async def flush(self) -> None:
        """Publish audit rows not yet on ``<prefix>.cashier.changes`` (outbox)."""
        assert self.store is not None and self.app is not None
        async with self._lock:
            for row in await self.store.unpublished_audit():
                data = CashierChange(
                    merchant_id=row.subject, before=tuple(row.before), after=tuple(row.after), reason=row.reason or "-",
                    incident_ids=tuple(row.incident_ids), at=row.at, until=row.until, version=max(1, row.version),
                )
                await self.app.require_bus().publish(Event.build(CASHIER_CHANGED, data, time=row.at))
                await self.store.mark_audit_published(row.seq)

    # -- reading -----------------------------------------------------------------------------------
    async def merchant_state(self, merchant_id: str, mode: Mode) -> CashierState:
        """The effective switch for one merchant: platform switch (for ``auto``, minus incidents ops
        forced on) combined with the merchant's own. Served from :class:`ReadCache`."""
        assert self.cache is not None
        now = self.now()
        if mode is not Mode.AUTO:
            d = desired_channels(merchant_id, mode, (), now)
            return CashierState(merchant_id=merchant_id, channels=d.channels, incident_ids=d.incident_ids,
                                reason=d.reason, message_zh=d.message_zh)
        await self.cache.fresh()
        states, forced = self.cache.states, self.cache.forced.get(merchant_id, set())
        plat = effective(states.get(PLATFORM) or CashierState(merchant_id=PLATFORM), now)
        own = effective(states.get(merchant_id) or CashierState(merchant_id=merchant_id), now)
        if plat.channels and ("*" in forced or set(plat.incident_ids) <= forced):
            plat = CashierState(merchant_id=PLATFORM)
        channels = tuple(dict.fromkeys(plat.channels + own.channels))
        if not channels:
            return CashierState(merchant_id=merchant_id)
        untils = [s.until for s in (plat, own) if s.channels and s.until is not None]
        expected = [s.expected_until for s in (plat, own) if s.channels and s.expected_until is not None]
        return CashierState(
            merchant_id=merchant_id,
            channels=channels,
            until=max(untils) if untils else None,
            expected_until=max(expected) if expected else None,
            incident_ids=tuple(dict.fromkeys(plat.incident_ids + own.incident_ids)),
            reason="; ".join(r for r in (plat.reason, own.reason) if r),
            message_zh=plat.message_zh or own.message_zh,
        )

    def channels_down(self, now: datetime) -> frozenset[str]:
        """Pay channels under maintenance at ``now``, as last read into the cache."""
        assert self.cache is not None
        return channels_down(self.cache.maintenance, now)

    async def policy_message(self, merchant_id: str) -> str | None:
        """The shopper message of the merchant's current policy when Huabei is off there (for
        ``GET /v1/diagnose``), else None."""
        assert self.cache is not None
        m = await self.cache.merchant(merchant_id)
        if m is None:
            return None
        state = await self.merchant_state(merchant_id, Mode(m.mode))
        return state.message_zh if state.channels else None

    async def force_on(self, merchant_id: str, incident_id: str, until: datetime | None, by: str) -> None:
        """Persist before effect: the override is committed first (TransientError after
        :data:`OPS_RETRY_FOR` of a failing database, and then nothing of it exists); the switch
        follows from it, now or at the next periodic pass."""
        assert self.store is not None
        await self.store.force_on(merchant_id, incident_id, until, self.now(), by, retry_for=OPS_RETRY_FOR)
        try:
            if self.cache is not None:
                await self.cache.refresh()
            await self.reconcile(merchant_id)
        except TransientError as exc:
            log.warning("cashier.force_on_deferred", extra={"merchant_id": merchant_id, "reason": exc.reason})
