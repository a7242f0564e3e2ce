"""The notify role: consumes ``<prefix>.incidents``, plans messages, delivers each once.

Level-triggered like the cashier: every incident event re-plans that incident for the ops route and
every merchant in scope (streamed from the registry, never materialised), and a timer re-plans the
open incidents (reminders, "still ongoing", the end of quiet hours). The delivery store records a
key before sending, so re-planning never sends twice; the fan-out keeps a huge platform-wide
incident from starving a small one. With ``notify.fanout.shards`` > 1 a platform-wide incident's
messages are shared by every notify process (:mod:`consumers.notify.shard_worker`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import datetime, timedelta

import aiohttp
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Column, Integer, String, Table, and_, or_, select

from consumers.notify.channels.config import build_channels
from consumers.notify.channels.ratelimit import Limiter, RateLimiter
from consumers.notify.channels.shared_limit import SharedRateLimiter, uses_shared_limits
from consumers.notify.channels.sms_batch import BatchingChannel
from consumers.notify.delivery import Deliverer, DeliveryStore
from consumers.notify.fanout import FanOut
from consumers.notify.plan import Endpoint, Recipient
from consumers.notify.planner import Audience, Planner
from consumers.notify.progress import FanoutMarks, notify_fanout_done
from consumers.notify.settings import NotifySettings
from consumers.notify.shard_board import ShardBoard
from consumers.notify.shard_worker import ShardSplitter, ShardWorker
from consumers.notify.store import CoalescingStore, SqlDeliveryStore, prune_deliveries
from consumers.notify.templates import LinkFn, Renderer
from huabei_watch import metrics
from huabei_watch.bus.kafka import MessageContext
from huabei_watch.bus.publish import Publisher
from huabei_watch.clock import Clock
from huabei_watch.config.retention import DEFAULT_RETENTION, RetentionSettings
from huabei_watch.db.engine import Database
from huabei_watch.db.prune import delete_in_batches
from huabei_watch.db.tables import metadata
from huabei_watch.db.types import AwareDateTime
from huabei_watch.db.upsert import upsert
from huabei_watch.events import Event, EventData, Incident
from huabei_watch.merchants.registry import MerchantRegistry
from huabei_watch.runtime.app import Subscription
from huabei_watch.runtime.housekeeping import schedule_housekeeping
from huabei_watch.runtime.tasks import Tasks

log = logging.getLogger(__name__)

notify_incidents = Table(
    "notify_incidents",
    metadata,
    Column("incident_id", String(200), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("previous", String),  # JSON text of the revision before, for "window moved" messages
    Column("data", String, nullable=False),
    Column("updated_at", AwareDateTime(), nullable=False),
    Column("phase", String(20)),  # the incident's phase: re-planning reads open and recently closed ones only
)

REPLAN_JOB = "notify:replan"
#: Final phases (``Phase.is_open`` is false for exactly these).
_CLOSED = ("resolved", "cancelled")
RETRY_JOB = "notify:retries"


def ops_endpoints(s: NotifySettings) -> list[Endpoint]:
    """The ops route's endpoints (``sms``: the provider order, as for merchants); check-config has
    refused routes to channels that are not configured."""
    out: list[Endpoint] = []
    for e in s.ops:
        route = s.sms_route() if e.channel == "sms" else (e.channel,)
        if route and s.enabled(route[0]):
            out.append(Endpoint(route[0], e.address, route[1:]))
    return out


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
                     "data": inc.model_dump_json(), "updated_at": inc.updated_at, "phase": inc.phase.value},
                    ["incident_id"],
                )
                return (Incident.model_validate_json(previous) if previous else None), True

        return await self.db.run(work)

    async def get(self, incident_id: str) -> tuple[Incident, Incident | None] | None:
        """The latest revision held of ``incident_id`` and the one before it; None if unknown."""
        c = notify_incidents.c

        async def work() -> tuple[Incident, Incident | None] | None:
            async with self.db.engine.connect() as conn:
                row = (await conn.execute(select(c.data, c.previous).where(c.incident_id == incident_id))).first()
            if row is None:
                return None
            return Incident.model_validate_json(row.data), (Incident.model_validate_json(row.previous) if row.previous else None)

        return await self.db.run(work)

    async def open_ones(self, closed_since: datetime) -> list[tuple[Incident, Incident | None]]:
        """Open incidents and those closed (last changed) at or after ``closed_since``, each with
        the revision before it: what re-planning reads (never the whole table)."""
        c = notify_incidents.c
        wanted = or_(c.phase.is_(None), c.phase.not_in(_CLOSED), c.updated_at >= closed_since)

        async def work() -> list[tuple[Incident, Incident | None]]:
            async with self.db.engine.connect() as conn:
                rows = (await conn.execute(select(c.data, c.previous).where(wanted))).all()
            out = []
            for data, prev in rows:
                inc = Incident.model_validate_json(data)
                out.append((inc, Incident.model_validate_json(prev) if prev else None))
            return out

        return await self.db.run(work)

    async def prune(self, closed_before: datetime) -> int:
        """Delete incidents closed (last changed) before ``closed_before``; returns how many went."""
        c = notify_incidents.c
        return await delete_in_batches(self.db, notify_incidents, and_(c.phase.in_(_CLOSED), c.updated_at < closed_before))


async def create_notify_role(
    settings: NotifySettings,
    *,
    off_ttl: timedelta,
    db: Database,
    registry: MerchantRegistry,
    publisher: Publisher,
    clock: Clock,
    http: aiohttp.ClientSession,
    scheduler: AsyncIOScheduler,
    tasks: Tasks,
    incidents_topic: str,
    link_for: LinkFn | None = None,
    retention: RetentionSettings = DEFAULT_RETENTION,
) -> NotifyRole:
    """The notify role, running: channels built from ``settings``, the fan-out running in
    ``tasks``, its re-plan and retry timers on ``scheduler``. ``off_ttl``: how long the cashier
    keeps Huabei off without renewal (``cashier.off_ttl``); a resolved incident is re-planned that
    long, while the cashier may still hold Huabei off for it. ``link_for``: a signed link to a
    merchant's page, carried by its WeCom and WeChat messages (none: no link). Daily housekeeping
    deletes final deliveries after ``retention.deliveries`` and closed incidents after
    ``retention.incidents``."""
    local = RateLimiter(clock, settings.rates())
    limiter: Limiter = (SharedRateLimiter(local, db.engine, clock)
                        if uses_shared_limits(settings.shared_limits, db.engine) else local)
    channels = build_channels(settings, http, clock, limiter=limiter, batch_sms=settings.fanout.batching)
    sql = SqlDeliveryStore(db.engine)
    store: DeliveryStore = CoalescingStore(sql) if settings.fanout.batching else sql
    deliverer = Deliverer(
        channels, store, None, clock, settings.delivery,
        renderer=Renderer(settings.templates, settings.template_ids(), link_for=link_for), publisher=publisher,
        batch_results=settings.fanout.batching,
    )
    fanout = FanOut(deliverer, settings.fanout)
    ops = Recipient.ops(*ops_endpoints(settings))
    marks, memory, board, wake = FanoutMarks(db), IncidentMemory(db), ShardBoard(db), asyncio.Event()
    sharded = settings.fanout.shards > 1
    planner = Planner(
        fanout=fanout, registry=registry, marks=marks,
        audience=Audience(ops, frozenset(channels), settings.sms_route), settings=settings.plan, clock=clock,
        splitter=ShardSplitter(board, registry, marks, settings.fanout, clock, wake) if sharded else None,
    )
    worker = ShardWorker(
        board=board, planner=planner, incidents=memory, fanout=fanout, marks=marks, settings=settings.fanout,
        clock=clock, owner=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}", wake=wake,
        replan_every=settings.replan_every,
    ) if sharded else None
    role = NotifyRole(
        settings, off_ttl=off_ttl, deliverer=deliverer, fanout=fanout, planner=planner, memory=memory,
        clock=clock, scheduler=scheduler, fanout_task=tasks.spawn(fanout.run(), "notify-fanout"),
        incidents_topic=incidents_topic,
        shards=(worker, tasks.spawn(worker.run(), "notify-shards")) if worker is not None else None,
        batching=tuple(c for c in channels.values() if isinstance(c, BatchingChannel)),
    )
    if worker is not None:
        metrics.live_counter("huabei_notify_shards_total", "Shards of platform-wide incidents taken and run through "
                             "by this process (lost: the lease lapsed or went to another process)", ("outcome",),
                             lambda: [(("taken",), float(worker.taken)), (("finished",), float(worker.finished)),
                                      (("lost",), float(worker.lost))])
    metrics.live_counter("huabei_notify_replan_failures_total", "Incidents whose re-plan raised (logged as "
                         "notify.replan_failed; the others were re-planned)", (),
                         lambda: [((), float(role.replan_failures))])
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
    metrics.live_counter("huabei_notify_reservations_total",
                         "Delivery keys offered to the store (sent, duplicates and released): at most one per message", (),
                         lambda: [((), float(deliverer.reservations))])
    metrics.live_counter("huabei_notify_plan_passes_total", "Streams of planned messages started for incident steps",
                         (), lambda: [((), float(planner.passes))])
    metrics.live_counter("huabei_notify_plan_considered_total", "Incident events and timer ticks planned", (),
                         lambda: [((), float(planner.considered))])
    metrics.live_counter("huabei_notify_unconfirmed_total",
                         "Sends interrupted before the provider confirmed them (reported to ops, never resent)", (),
                         lambda: [((), float(deliverer.unconfirmed))])
    scheduler.add_job(role.replan_open, "interval", seconds=settings.replan_every, id=REPLAN_JOB,
                      replace_existing=True, misfire_grace_time=600, coalesce=True, max_instances=1)
    scheduler.add_job(role.retries, "interval", seconds=10, id=RETRY_JOB,
                      replace_existing=True, misfire_grace_time=600, coalesce=True, max_instances=1)
    async def prune(now: datetime) -> dict[str, int]:
        return {
            "notification_deliveries": await prune_deliveries(db, now - timedelta(seconds=retention.deliveries)),
            "notify_incidents": await memory.prune(now - timedelta(seconds=retention.incidents)),
            "notify_fanout_shards": await board.prune(now - timedelta(seconds=retention.incidents)),
            "notify_fanout_done": await delete_in_batches(
                db, notify_fanout_done, notify_fanout_done.c.done_at < now - timedelta(seconds=retention.incidents)),
        }

    schedule_housekeeping(scheduler, role.name, prune, every=retention.prune_every, clock=clock)
    return role


class NotifyRole:
    """Incidents in, messages out (see the module docstring). Built by :func:`create_notify_role`."""

    name = "notify"

    def __init__(
        self,
        settings: NotifySettings,
        *,
        off_ttl: timedelta,
        deliverer: Deliverer,
        fanout: FanOut,
        planner: Planner,
        memory: IncidentMemory,
        clock: Clock,
        scheduler: AsyncIOScheduler,
        fanout_task: asyncio.Task[None],
        incidents_topic: str,
        shards: tuple[ShardWorker, asyncio.Task[None]] | None = None,
        batching: tuple[BatchingChannel, ...] = (),
    ) -> None:
        """``shards``: the shard worker and its task when ``notify.fanout.shards`` > 1;
        ``batching``: the channels that group same-text sends (told to hold nothing on stop)."""
        self.settings = settings
        self.off_ttl = off_ttl
        self.replan_failures = 0  # incidents whose re-plan raised (the others went on)
        self.deliverer = deliverer
        self.fanout = fanout
        self.planner = planner
        self.memory = memory
        self.clock = clock
        self._scheduler = scheduler
        self._replan_at: float | None = None
        self._fanout_task = fanout_task
        self._shards = shards
        self._batching = batching
        self.subscriptions = (Subscription(self.name, (incidents_topic,), self.handle),)

    async def stop(self) -> None:
        """Stop taking new work and let deliveries in progress finish (the daemon bounds this by
        ``daemon.shutdown_timeout``), so no send is cut between the provider call and its record.
        Sends held to join a same-text call go at once."""
        for channel in self._batching:
            channel.stop()
        if self._shards is not None:
            self._shards[0].stop()
            await asyncio.shield(self._shards[1])
        self.fanout.stop()
        await asyncio.shield(self._fanout_task)
        if self._shards is not None:
            try:
                await self._shards[0].give_back()
            except Exception:  # the leases run out by themselves
                log.exception("notify.shards_give_back_failed")

    async def republish(self) -> None:
        return None

    async def handle(self, event: Event[EventData], ctx: MessageContext) -> None:
        if not isinstance(event.data, Incident):
            return
        previous, _news = await self.memory.remember(event.data)
        await self.submit(event.data, previous)

    async def submit(self, incident: Incident, previous: Incident | None) -> None:
        """Queue the due messages of ``incident`` (see :class:`~consumers.notify.planner.Planner`) and
        bring the re-plan forward when this incident needs it sooner."""
        await self.planner.submit(incident, previous)
        now = self.clock.now()
        wake = self.planner.next_wakeup([incident], now)
        if wake is not None:
            self._schedule_replan((wake - now).total_seconds())

    async def replan_open(self) -> None:
        """Timer: reminders, repeats and messages held for quiet hours fall due here; then the
        next pass is scheduled for the earliest such time (at most ``replan_every`` away). Reads
        only open incidents and those closed within ``off_ttl``, never the whole table."""
        now = self.clock.now()
        recent = await self.memory.open_ones(now - self.off_ttl)
        for inc, prev in recent:
            try:
                await self.planner.submit(inc, prev)
            except Exception:  # one incident's failure (the database away, a bad registry) spares the others
                self.replan_failures += 1
                log.exception("notify.replan_failed", extra={"incident_id": inc.incident_id})
        wake = self.planner.next_wakeup([inc for inc, _ in recent], now)
        self._replan_at = None
        self._schedule_replan((wake - now).total_seconds() if wake is not None else None)

    def _schedule_replan(self, delay: float | None) -> None:
        every = self.settings.replan_every
        delay = min(max(delay, 1.0), every) if delay is not None else every
        at = self.clock.monotonic() + delay
        if self._replan_at is not None and self._replan_at <= at:
            return
        self._replan_at = at
        if self._scheduler.get_job(REPLAN_JOB) is not None:
            self._scheduler.reschedule_job(REPLAN_JOB, trigger="interval", seconds=delay)

    async def retries(self) -> None:
        try:
            await self.deliverer.run_due()
            await self.deliverer.sweep_unconfirmed()
        except Exception:
            log.exception("notify.retry_failed")
