"""The notify role: consumes ``<prefix>.incidents``, plans messages, delivers each once.

Level-triggered like the cashier: every incident event re-plans that incident for the ops route and
every merchant in scope (streamed from the registry, never materialised), and a timer re-plans the
open incidents (reminders, "still ongoing", the end of quiet hours). The delivery store records a
key before sending, so re-planning never sends twice; the fan-out keeps a huge platform-wide
incident from starving a small one.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy import Column, Integer, String, Table, select

from consumers.notify.channels.config import build_channels
from consumers.notify.channels.ratelimit import Limiter, RateLimiter
from consumers.notify.channels.shared_limit import SharedRateLimiter, uses_shared_limits
from consumers.notify.delivery import Deliverer, DeliveryStore
from consumers.notify.fanout import FanOut
from consumers.notify.plan import Endpoint, Recipient
from consumers.notify.planner import Audience, Planner
from consumers.notify.progress import FanoutMarks
from consumers.notify.settings import NotifyConfig, NotifySettings
from consumers.notify.store import CoalescingStore, SqlDeliveryStore
from consumers.notify.templates import Renderer
from huabei_watch import metrics
from huabei_watch.bus.kafka import MessageContext
from huabei_watch.db.engine import Database
from huabei_watch.db.tables import metadata
from huabei_watch.db.types import AwareDateTime
from huabei_watch.db.upsert import upsert
from huabei_watch.events import Event, EventData, Incident
from huabei_watch.merchants.registry import MerchantRegistry
from huabei_watch.runtime.app import App

log = logging.getLogger(__name__)

notify_incidents = Table(
    "notify_incidents",
    metadata,
    Column("incident_id", String(200), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("previous", String),  # JSON text of the revision before, for "window moved" messages
    Column("data", String, nullable=False),
    Column("updated_at", AwareDateTime(), nullable=False),
)

REPLAN_JOB = "notify:replan"


def ops_endpoints(s: NotifySettings) -> list[Endpoint]:
    """The ops route's endpoints (``sms``: the provider order, as for merchants); check-config has
    refused routes to channels that are not configured."""
    out: list[Endpoint] = []
    for e in s.ops:
        route = s.sms_route() if e.channel == "sms" else (e.channel,)
        if route and s.enabled(route[0]):
            out.append(Endpoint(route[0], e.address, route[1:]))
    return out
RETRY_JOB = "notify:retries"


class IncidentMemory:
    """The latest revision of each incident notify has seen (and the one before), in the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def remember(self, inc: Incident) -> tuple[Incident | None, bool]:
        """Store ``inc``; returns (previous revision, whether this is news)."""

        async def work() -> tuple[Incident | None, bool]:
            async with self.db.begin() as conn:
                row = (
                    await conn.execute(select(notify_incidents).where(notify_incidents.c.incident_id == inc.incident_id))
                ).first()
                if row is not None and row.revision > inc.revision:
                    return None, False
                if row is not None and row.revision == inc.revision:
                    prev = Incident.model_validate_json(row.previous) if row.previous else None
                    return prev, False
                previous = row.data if row is not None else None
                await upsert(
                    conn,
                    notify_incidents,
                    {"incident_id": inc.incident_id, "revision": inc.revision, "previous": previous,
                     "data": inc.model_dump_json(), "updated_at": inc.updated_at},
                    ["incident_id"],
                )
                return (Incident.model_validate_json(previous) if previous else None), True

        return await self.db.run(work)

    async def open_ones(self) -> list[tuple[Incident, Incident | None]]:
        async def work() -> list[tuple[Incident, Incident | None]]:
            async with self.db.engine.connect() as conn:
                rows = (await conn.execute(select(notify_incidents.c.data, notify_incidents.c.previous))).all()
            out = []
            for data, prev in rows:
                inc = Incident.model_validate_json(data)
                out.append((inc, Incident.model_validate_json(prev) if prev else None))
            return out

        return await self.db.run(work)


class NotifyRole:
    name = "notify"

    def __init__(self) -> None:
        self.app: App[NotifyConfig] | None = None
        self.settings: NotifySettings | None = None
        self.deliverer: Deliverer | None = None
        self.fanout: FanOut | None = None
        self.registry: MerchantRegistry | None = None
        self.memory: IncidentMemory | None = None
        self.ops: Recipient | None = None
        self.configured: set[str] = set()
        self._fanout_task: asyncio.Task[None] | None = None
        self.planner: Planner | None = None
        self._replan_at: float | None = None

    async def start(self, app: App[NotifyConfig]) -> None:
        self.app = app
        s = self.settings = app.settings.notify
        db = app.require_db()
        local = RateLimiter(app.clock, s.rates())
        limiter: Limiter = (SharedRateLimiter(local, db.engine, app.clock)
                            if uses_shared_limits(s.shared_limits, db.engine) else local)
        channels = build_channels(s, app.require_http(), app.clock, limiter=limiter, batch_sms=s.fanout.batching)
        self.configured = set(channels)
        sql = SqlDeliveryStore(db.engine)
        store: DeliveryStore = CoalescingStore(sql) if s.fanout.batching else sql
        self.deliverer = Deliverer(
            channels, store, None, app.clock, s.delivery,
            renderer=Renderer(s.templates, s.template_ids()), publisher=app.require_bus(),
        )
        self.fanout = FanOut(self.deliverer, s.fanout)
        self.registry = MerchantRegistry(db)
        self.memory = IncidentMemory(db)
        self.ops = Recipient.ops(*ops_endpoints(s))
        self.planner = Planner(
            fanout=self.fanout, registry=self.registry, marks=FanoutMarks(db),
            audience=Audience(self.ops, frozenset(channels), s.sms_route), settings=s.plan, clock=app.clock,
        )
        self._fanout_task = app.spawn(self.fanout.run(), "notify-fanout")
        fanout, deliverer = self.fanout, self.deliverer
        metrics.live_counter(
            "huabei_notify_messages_total",
            "Messages through the fan-out by outcome (queued, sent, failed, deferred, duplicates, expired, errors)",
            ("outcome",),
            lambda: [((k,), float(getattr(fanout, k))) for k in
                     ("queued", "sent", "failed", "deferred", "duplicates", "expired", "errors")],
        )
        metrics.live_gauge("huabei_notify_in_progress", "Deliveries in progress", (),
                           lambda: [((), float(fanout.in_progress))])
        metrics.live_gauge("huabei_notify_lanes", "Incidents with messages still being fanned out", (),
                           lambda: [((), float(fanout.lanes))])
        metrics.live_counter("huabei_notify_retries_total", "Transient provider errors retried", (),
                             lambda: [((), float(deliverer.retries))])
        metrics.live_counter("huabei_notify_unconfirmed_total",
                             "Sends interrupted before the provider confirmed them (reported to ops, never resent)", (),
                             lambda: [((), float(deliverer.unconfirmed))])
        app.consume(self.name, [app.topics.incidents], self.handle)
        app.scheduler.add_job(self.replan_open, "interval", seconds=s.replan_every, id=REPLAN_JOB,
                              replace_existing=True, misfire_grace_time=600, coalesce=True, max_instances=1)
        app.scheduler.add_job(self.retries, "interval", seconds=10, id=RETRY_JOB,
                              replace_existing=True, misfire_grace_time=600, coalesce=True, max_instances=1)

    async def stop(self) -> None:
        """Stop taking new work and let deliveries in progress finish (the daemon bounds this by
        ``daemon.shutdown_timeout``), so no send is cut between the provider call and its record."""
        if self.fanout is not None:
            self.fanout.stop()
        if self._fanout_task is not None:
            await asyncio.shield(self._fanout_task)

    async def republish(self) -> None:
        return None

    def _now(self) -> datetime:
        assert self.app is not None
        return self.app.clock.now()

    async def handle(self, event: Event[EventData], ctx: MessageContext) -> None:
        assert self.memory is not None
        if not isinstance(event.data, Incident):
            return
        previous, _news = await self.memory.remember(event.data)
        await self.submit(event.data, previous)

    async def submit(self, incident: Incident, previous: Incident | None) -> None:
        """Queue the due messages of ``incident`` (see :class:`~consumers.notify.planner.Planner`) and
        bring the re-plan forward when this incident needs it sooner."""
        assert self.planner is not None and self.app is not None
        await self.planner.submit(incident, previous)
        wake = self.planner.next_wakeup([incident], self._now())
        if wake is not None:
            self._schedule_replan((wake - self._now()).total_seconds())

    async def replan_open(self) -> None:
        """Timer: reminders, repeats and messages held for quiet hours fall due here; then the
        next pass is scheduled for the earliest such time (at most ``replan_every`` away)."""
        assert self.memory is not None and self.planner is not None and self.app is not None
        now = self._now()
        recent = [(inc, prev) for inc, prev in await self.memory.open_ones()
                  if inc.phase.is_open or inc.updated_at > now - self.app.settings.cashier.ttl]
        for inc, prev in recent:
            await self.planner.submit(inc, prev)
        wake = self.planner.next_wakeup([inc for inc, _ in recent], now)
        self._replan_at = None
        self._schedule_replan((wake - now).total_seconds() if wake is not None else None)

    def _schedule_replan(self, delay: float | None) -> None:
        assert self.app is not None and self.settings is not None
        delay = min(max(delay, 1.0), self.settings.replan_every) if delay is not None else self.settings.replan_every
        at = self.app.clock.monotonic() + delay
        if self._replan_at is not None and self._replan_at <= at:
            return
        self._replan_at = at
        if self.app.scheduler.get_job(REPLAN_JOB) is not None:
            self.app.scheduler.reschedule_job(REPLAN_JOB, trigger="interval", seconds=delay)

    async def retries(self) -> None:
        assert self.deliverer is not None
        try:
            await self.deliverer.run_due()
            await self.deliverer.sweep_unconfirmed()
        except Exception:
            log.exception("notify.retry_failed")

    async def drain(self) -> None:
        """For tests and burst runs: wait until the fan-out has no work."""
        assert self.fanout is not None
        while self.fanout.lanes or self.fanout.in_progress:  # noqa: ASYNC110 - FanOut exposes counters, not an event
            await asyncio.sleep(0.01)
