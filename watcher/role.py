"""The watcher role: sources that observe and publish signals.

Announcement sources (and the built-in sandbox platform when enabled), health probes, payment
results (HTTP endpoint + Kafka topic -> detector), and the synthetic pre-order probe.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, time
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select

from huabei_watch import metrics
from huabei_watch.bus.publish import Publisher
from huabei_watch.clock import SHANGHAI, Clock
from huabei_watch.db.engine import Database
from huabei_watch.db.upsert import upsert
from huabei_watch.merchants.registry import MerchantRegistry
from huabei_watch.runtime.app import Subscription
from huabei_watch.runtime.housekeeping import schedule_housekeeping
from huabei_watch.runtime.tasks import Tasks
from watcher.alipay.config import AlipayProbeSettings
from watcher.compat.advice import InterfaceNotice
from watcher.compat.checker import CompatChecker
from watcher.compat.store import CompatStore
from watcher.notices import NoticeUnderstanding, understand
from watcher.payments.ingest import make_payment_results_handler
from watcher.payments.pipeline import KafkaSink, PaymentPipeline
from watcher.sandbox import SandboxServer, sandbox_sources, start_sandbox
from watcher.settings import WatcherConfig
from watcher.sources.announcements import AnnouncementWatcher
from watcher.sources.extract import NoticeRef
from watcher.sources.fetch import Fetcher
from watcher.sources.housekeeping import prune_watcher
from watcher.sources.polling import POLLS_DOC, AnnouncementPolling
from watcher.sources.probe_config import HttpProbe
from watcher.sources.probe_state import ProbeState
from watcher.sources.probe_store import probe_states, save_hours
from watcher.sources.probes import ProbeRunner, schedule_probes
from watcher.sources.seen import SqlSeenStore
from watcher.sources.source_states import SourceStates

if TYPE_CHECKING:
    from watcher.sources.precreate import PrecreateScheduler

log = logging.getLogger(__name__)

#: At shutdown, how long polls in flight may take to finish before the sources' states are written.
_POLL_DRAIN_S = 10.0

#: Called by an announcement source with each notice it understood.
NoticeHandler = Callable[[NoticeRef, NoticeUnderstanding, datetime], Awaitable[None]]


async def create_watcher_role(
    settings: WatcherConfig,
    *,
    db: Database,
    registry: MerchantRegistry,
    publisher: Publisher,
    clock: Clock,
    http: aiohttp.ClientSession,
    scheduler: AsyncIOScheduler,
    tasks: Tasks,
    payment_results_topic: str,
    router: web.UrlDispatcher,
) -> WatcherRole:
    """The watcher role, running: the sandbox platform (when enabled), every enabled announcement
    source and health probe polling on ``scheduler``, plugin compatibility checks, payment results
    (``POST /v1/payment-results`` on ``router`` and the results topic) into the detector, and the
    pre-order probe (when enabled) in ``tasks``."""
    s = settings
    sources = [src for src in s.sources if src.enabled]
    probe_specs = list(s.probes)
    sandbox: SandboxServer | None = None
    if s.sandbox.enabled:
        host, _, port = s.sandbox.listen.rpartition(":")
        sandbox = await start_sandbox(clock, start=clock.now(), host=host, port=int(port))
        sources += list(sandbox_sources(sandbox.base_url, interval=30.0))
        probe_specs.append(HttpProbe(kind="http", id="sandbox-health", url=f"{sandbox.base_url}/health",
                                     interval=10, timeout=3, failure_threshold=2, success_threshold=2))
        log.info("sandbox.started", extra={"url": sandbox.base_url})

    # Plugin compatibility (version table, interface-change notices, plugins seen on results).
    compat = CompatChecker(s.compat, registry, publisher, clock, CompatStore(db))
    compat.schedule(scheduler)

    # Health probes (state survives restarts so a probe down before a restart stays down).
    probes: ProbeRunner | None = None
    if probe_specs:
        probes = ProbeRunner(probe_specs, publisher, clock, http, restored=await _load_probe_states(db))

    payments = PaymentPipeline(publisher, clock, s.payments.detection, on_plugin=compat.plugin_seen)

    # Announcements (interface-change notices go to the compatibility check).
    fetcher = Fetcher(http, clock)
    store = SqlSeenStore(db.engine)
    states = SourceStates(store)
    on_notice = interface_notice_handler(compat)
    watchers = [AnnouncementWatcher(src, fetcher, store, publisher, clock, understand, states=states,
                                    on_understood=on_notice) for src in sources]
    polling = AnnouncementPolling(watchers, states, clock)

    # Synthetic pre-order probe.
    precreate = (_precreate_scheduler(s.alipay, payments, publisher, clock, http)
                 if s.alipay.enabled and s.alipay.merchants else None)

    role = WatcherRole(db=db, registry=registry, compat=compat, polling=polling, probes=probes, payments=payments,
                       precreate=precreate, sandbox=sandbox, payment_results_topic=payment_results_topic,
                       payments_fetch_max_wait=s.payments.fetch_max_wait)
    schedule_housekeeping(scheduler, role.name, functools.partial(prune_watcher, db, s.retention),
                          every=s.retention.prune_every, clock=clock)
    polling.start()  # one tick for every source: first polls spread over a few seconds
    metrics.live_counter("huabei_source_polls_total", POLLS_DOC, ("outcome",), polling.poll_counts)
    metrics.live_gauge("huabei_source_consecutive_failures", "Failed polls in a row, per notice source", ("source",),
                       lambda: [((w.source_id,), float(w.consecutive_failures)) for w in watchers])
    metrics.live_gauge("huabei_source_degraded", "1 while a notice source is reported degraded", ("source",),
                       lambda: [((w.source_id,), float(w.degraded)) for w in watchers])

    if probes is not None:
        schedule_probes(scheduler, probes)
        scheduler.add_job(role.probe_housekeeping, "interval", seconds=60, id="probes:housekeeping",
                          replace_existing=True, misfire_grace_time=600, coalesce=True, max_instances=1)
        tasks.spawn(probes.republish(), "probes:republish")
        runner = probes
        metrics.live_gauge(
            "huabei_probe_up", "1 up, 0 down, -1 unknown, per health probe", ("probe",),
            lambda: [((p.probe_id,), {"up": 1.0, "down": 0.0}.get(p.health.value, -1.0)) for p in runner.state_snapshot()],
        )

    # Payment results.
    await role.refresh_secrets()
    handler = make_payment_results_handler(
        secret_for=role.secrets.get, sink=KafkaSink(publisher, clock), clock=clock,
        max_body_bytes=s.payments.max_body_bytes, max_skew_s=s.payments.max_skew,
    )
    router.add_post("/v1/payment-results", handler)
    detector = payments.detector
    metrics.live_gauge("huabei_payments_tracked_merchants", "Merchants with payment results in the window", (),
                       lambda: [((), float(detector.status().tracked_merchants))])
    metrics.live_counter(
        "huabei_payments_dropped_total", "Payment results not counted, by reason (future, too_old, capacity)",
        ("reason",),
        lambda: [((k,), float(getattr(detector.dropped, k))) for k in ("future", "too_old", "capacity")],
    )
    metrics.live_counter(
        "huabei_payments_results_consumed_total", "Payment results consumed from the results topic (each batch once)",
        (), lambda: [((), float(payments.results_consumed))],
    )
    metrics.live_counter(
        "huabei_payments_replays_total", "Payment-result batches consumed again and dropped (already counted)",
        (), lambda: [((), float(payments.replays))],
    )
    scheduler.add_job(payments.evaluate, "interval", seconds=s.payments.evaluate_every,
                      id="payments:evaluate", replace_existing=True, misfire_grace_time=600,
                      coalesce=True, max_instances=1)
    scheduler.add_job(role.refresh_secrets, "interval", seconds=60, id="payments:secrets",
                      replace_existing=True, misfire_grace_time=600, coalesce=True, max_instances=1)

    if precreate is not None:
        tasks.spawn(precreate.run_forever(role.precreate_stop), "precreate")
    return role


def interface_notice_handler(compat: CompatChecker) -> NoticeHandler:
    """What an announcement source calls with each understood notice: interface-change notices
    make the compatibility checker check every merchant's plugin against them."""

    async def on_notice(ref: NoticeRef, understanding: NoticeUnderstanding, now: datetime) -> None:
        change = understanding.interface_change
        if understanding.kind != "interface" or change is None:
            return
        published = (
            datetime.combine(ref.published, time(0), tzinfo=SHANGHAI) if ref.published is not None else now
        )
        notice = InterfaceNotice(
            notice_id=ref.notice_id, plugins=change.names, min_version=change.minimum_version,
            deadline=change.deadline, published_at=published, title=ref.title, url=ref.url,
        )
        await compat.on_interface_notice(notice)

    return on_notice


def _precreate_scheduler(
    s: AlipayProbeSettings, payments: PaymentPipeline, publisher: Publisher, clock: Clock,
    http: aiohttp.ClientSession,
) -> PrecreateScheduler:
    """The pre-order probe's scheduler (not started). Imported only when the probe is enabled (it
    loads the RSA signing code)."""
    from watcher.payments.diagnosis import diagnose
    from watcher.sources.precreate import PrecreateProbe, PrecreateScheduler
    from watcher.sources.precreate_core import FindingTracker, PrecreateOutcome

    probes = [PrecreateProbe.from_settings(c, s, http, clock) for c in s.credentials()]
    tracker = FindingTracker(lambda code, sub: diagnose(code, sub).cause, raise_after=s.raise_after,
                             clear_after=s.clear_after)

    async def on_outcome(outcome: PrecreateOutcome) -> None:
        result = outcome.as_payment_result()
        if result is not None:
            payments.detector.observe(result, now=clock.now())

    return PrecreateScheduler(probes, s, clock, tracker, publisher, on_outcome=on_outcome)


async def _load_probe_states(db: Database) -> dict[str, ProbeState]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(probe_states.c.probe_id, probe_states.c.data))).all()
    out: dict[str, ProbeState] = {}
    for pid, data in rows:
        try:
            out[pid] = ProbeState.model_validate(data)
        except ValueError:
            log.warning("probes.state_unreadable", extra={"probe_id": pid})
    return out


class WatcherRole:
    """What the watcher runs (see the module docstring). Built by :func:`create_watcher_role`."""

    name = "watcher"

    def __init__(
        self,
        *,
        db: Database,
        registry: MerchantRegistry,
        compat: CompatChecker,
        polling: AnnouncementPolling,
        probes: ProbeRunner | None,
        payments: PaymentPipeline,
        precreate: PrecreateScheduler | None,
        sandbox: SandboxServer | None,
        payment_results_topic: str,
        payments_fetch_max_wait: float | None = None,
    ) -> None:
        """``payments_fetch_max_wait``: the results consumer's fetch hold (``payments.fetch_max_wait``;
        None: ``kafka.fetch_max_wait``)."""
        self.db = db
        self.registry = registry
        self.compat = compat
        #: None when no health probe is configured.
        self.probes = probes
        self.payments = payments
        #: None unless ``sandbox.enabled``.
        self.sandbox = sandbox
        #: Every announcement source, on one timing wheel; its states are written behind.
        self.polling = polling
        self.watchers = list(polling.watchers.values())
        #: None unless the pre-order probe is enabled (``alipay.enabled`` with merchants).
        self.precreate = precreate
        self.precreate_stop = asyncio.Event()
        #: Merchant id -> payments secret, re-read from the registry every minute.
        self.secrets: dict[str, str] = {}
        self.subscriptions = (Subscription("watcher-payments", (payment_results_topic,), payments.handle,
                                           fetch_max_wait=payments_fetch_max_wait),)

    async def refresh_secrets(self) -> None:
        fresh: dict[str, str] = {}
        async for m in self.registry.iter_all():
            if m.payments_secret:
                fresh[m.id] = m.payments_secret
        self.secrets.clear()
        self.secrets.update(fresh)

    async def probe_housekeeping(self) -> None:
        """Save probe states and re-assert probes that are still down (keeps their outage fresh)."""
        if self.probes is None:
            return
        states = self.probes.states()
        hours = self.probes.hours.take()

        async def work() -> None:
            async with self.db.begin() as conn:
                for pid, st in states.items():
                    await upsert(conn, probe_states, {"probe_id": pid, "data": st.model_dump(mode="json")}, ["probe_id"])
                await save_hours(conn, hours)

        try:
            await self.db.run(work)
        except BaseException:
            self.probes.hours.give_back(hours)
            raise
        await self.probes.reassert_down()

    async def stop(self) -> None:
        self.precreate_stop.set()
        await self.polling.close(_POLL_DRAIN_S)
        await self.compat.drain()
        if self.probes is not None:
            try:
                await self.probe_housekeeping()
            except Exception:
                log.exception("probes.save_failed")
        if self.sandbox is not None:
            await self.sandbox.close()

    async def republish(self) -> None:
        """After a broker restart: probes' current health; announcement state is re-read on poll."""
        if self.probes is not None:
            await self.probes.republish()
