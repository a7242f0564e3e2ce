"""The watcher role: sources that observe and publish signals.

Announcement sources (and the built-in sandbox platform when enabled), health probes, payment
results (HTTP endpoint + Kafka topic -> detector), and the synthetic pre-order probe.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, time
from typing import Any

from sqlalchemy import select

from huabei_watch import metrics
from huabei_watch.clock import SHANGHAI
from huabei_watch.db.engine import Database
from huabei_watch.db.upsert import upsert
from huabei_watch.merchants.registry import MerchantRegistry
from huabei_watch.runtime.app import App
from watcher.compat.advice import InterfaceNotice
from watcher.compat.checker import CompatChecker
from watcher.compat.store import CompatStore
from watcher.notices import NoticeUnderstanding, understand
from watcher.payments.ingest import make_payment_results_handler
from watcher.payments.pipeline import KafkaSink, PaymentPipeline
from watcher.sandbox import SandboxServer, sandbox_sources, start_sandbox
from watcher.settings import WatcherConfig
from watcher.sources.announcements import AnnouncementWatcher, add_poll_job
from watcher.sources.extract import NoticeRef
from watcher.sources.fetch import Fetcher
from watcher.sources.probe_config import HttpProbe
from watcher.sources.probe_state import ProbeState
from watcher.sources.probe_store import probe_states, save_hours
from watcher.sources.probes import ProbeRunner, schedule_probes
from watcher.sources.seen import SqlSeenStore

log = logging.getLogger(__name__)



class WatcherRole:
    name = "watcher"

    def __init__(self) -> None:
        self.app: App[WatcherConfig] | None = None
        self.sandbox: SandboxServer | None = None
        self.watchers: list[AnnouncementWatcher] = []
        self.probes: ProbeRunner | None = None
        self.payments: PaymentPipeline | None = None
        self.secrets: dict[str, str] = {}
        self.precreate_stop = asyncio.Event()
        self.compat: CompatChecker | None = None
        self.precreate: Any = None  # PrecreateScheduler, imported only when the probe is enabled

    async def start(self, app: App[WatcherConfig]) -> None:
        self.app = app
        s = app.settings
        db = app.require_db()
        bus = app.require_bus()
        sources = [src for src in s.sources if src.enabled]
        probes = list(s.probes)
        if s.sandbox.enabled:
            host, _, port = s.sandbox.listen.rpartition(":")
            self.sandbox = await start_sandbox(app.clock, start=app.clock.now(), host=host, port=int(port))
            sources += list(sandbox_sources(self.sandbox.base_url, interval=30.0))
            probes.append(HttpProbe(kind="http", id="sandbox-health", url=f"{self.sandbox.base_url}/health",
                                    interval=10, timeout=3, failure_threshold=2, success_threshold=2))
            log.info("sandbox.started", extra={"url": self.sandbox.base_url})

        # Plugin compatibility (version table, interface-change notices, plugins seen on results).
        self.compat = CompatChecker(s.compat, MerchantRegistry(db), bus, app.clock, CompatStore(db))
        self.compat.schedule(app.scheduler)

        # Announcements.
        fetcher = Fetcher(app.require_http(), app.clock)
        store = SqlSeenStore(db.engine)
        for src in sources:
            w = AnnouncementWatcher(src, fetcher, store, bus, app.clock, understand, on_understood=self._on_notice)
            self.watchers.append(w)
            add_poll_job(app.scheduler, w)  # first poll at once, then every interval
        watchers = self.watchers
        metrics.live_gauge("huabei_source_consecutive_failures", "Failed polls in a row, per notice source", ("source",),
                           lambda: [((w.source_id,), float(w.consecutive_failures)) for w in watchers])
        metrics.live_gauge("huabei_source_degraded", "1 while a notice source is reported degraded", ("source",),
                           lambda: [((w.source_id,), float(w.degraded)) for w in watchers])

        # Health probes (state survives restarts so a probe down before a restart stays down).
        if probes:
            restored = await self._load_probe_states(db)
            self.probes = ProbeRunner(probes, bus, app.clock, app.require_http(), restored=restored)
            schedule_probes(app.scheduler, self.probes)
            app.scheduler.add_job(self._probe_housekeeping, "interval", seconds=60, id="probes:housekeeping",
                                  replace_existing=True, misfire_grace_time=600, coalesce=True, max_instances=1)
            app.spawn(self._republish_probes(), "probes:republish")
            runner = self.probes
            metrics.live_gauge(
                "huabei_probe_up", "1 up, 0 down, -1 unknown, per health probe", ("probe",),
                lambda: [((p.probe_id,), {"up": 1.0, "down": 0.0}.get(p.health.value, -1.0)) for p in runner.state_snapshot()],
            )

        # Payment results.
        self.payments = PaymentPipeline(bus, app.clock, s.payments.detection, on_plugin=self.compat.plugin_seen)
        await self._refresh_secrets()
        handler = make_payment_results_handler(
            secret_for=self.secrets.get, sink=KafkaSink(bus, app.clock), clock=app.clock,
            max_body_bytes=s.payments.max_body_bytes, max_skew_s=s.payments.max_skew,
        )
        app.web.router.add_post("/v1/payment-results", handler)
        app.consume("watcher-payments", [app.topics.payment_results], self.payments.handle)
        detector = self.payments.detector
        metrics.live_gauge("huabei_payments_tracked_merchants", "Merchants with payment results in the window", (),
                           lambda: [((), float(detector.status().tracked_merchants))])
        metrics.live_counter(
            "huabei_payments_dropped_total", "Payment results not counted, by reason (future, too_old, capacity)",
            ("reason",),
            lambda: [((k,), float(getattr(detector.dropped, k))) for k in ("future", "too_old", "capacity")],
        )
        app.scheduler.add_job(self.payments.evaluate, "interval", seconds=s.payments.evaluate_every,
                              id="payments:evaluate", replace_existing=True, misfire_grace_time=600,
                              coalesce=True, max_instances=1)
        app.scheduler.add_job(self._refresh_secrets, "interval", seconds=60, id="payments:secrets",
                              replace_existing=True, misfire_grace_time=600, coalesce=True, max_instances=1)

        # Synthetic pre-order probe.
        if s.alipay.enabled and s.alipay.merchants:
            self._start_precreate(app)

    async def _on_notice(self, ref: NoticeRef, understanding: NoticeUnderstanding, now: datetime) -> None:
        """Interface-change notices: check every merchant's plugin against them."""
        change = understanding.interface_change
        if understanding.kind != "interface" or change is None or self.compat is None:
            return
        published = (
            datetime.combine(ref.published, time(0), tzinfo=SHANGHAI) if ref.published is not None else now
        )
        notice = InterfaceNotice(
            notice_id=ref.notice_id, plugins=change.names, min_version=change.minimum_version,
            deadline=change.deadline, published_at=published, title=ref.title, url=ref.url,
        )
        await self.compat.on_interface_notice(notice)

    def _start_precreate(self, app: App[WatcherConfig]) -> None:
        from watcher.payments.diagnosis import diagnose
        from watcher.sources.precreate import PrecreateProbe, PrecreateScheduler
        from watcher.sources.precreate_core import FindingTracker, PrecreateOutcome

        s = app.settings.alipay
        probes = [PrecreateProbe.from_settings(c, s, app.require_http(), app.clock) for c in s.credentials()]
        tracker = FindingTracker(lambda code, sub: diagnose(code, sub).cause, raise_after=s.raise_after,
                                 clear_after=s.clear_after)
        pipeline = self.payments

        async def on_outcome(outcome: PrecreateOutcome) -> None:
            result = outcome.as_payment_result()
            if result is not None and pipeline is not None:
                pipeline.detector.observe(result, now=app.clock.now())

        scheduler = PrecreateScheduler(probes, s, app.clock, tracker, app.require_bus(), on_outcome=on_outcome)
        self.precreate = scheduler
        app.spawn(scheduler.run_forever(self.precreate_stop), "precreate")

    async def _refresh_secrets(self) -> None:
        assert self.app is not None
        fresh: dict[str, str] = {}
        async for m in MerchantRegistry(self.app.require_db()).iter_all():
            if m.payments_secret:
                fresh[m.id] = m.payments_secret
        self.secrets.clear()
        self.secrets.update(fresh)

    async def _load_probe_states(self, db: Database) -> dict[str, ProbeState]:
        async with db.engine.connect() as conn:
            rows = (await conn.execute(select(probe_states.c.probe_id, probe_states.c.data))).all()
        out: dict[str, ProbeState] = {}
        for pid, data in rows:
            try:
                out[pid] = ProbeState.model_validate(data)
            except ValueError:
                log.warning("probes.state_unreadable", extra={"probe_id": pid})
        return out

    async def _republish_probes(self) -> None:
        if self.probes is not None:
            await self.probes.republish()

    async def _probe_housekeeping(self) -> None:
        """Save probe states and re-assert probes that are still down (keeps their outage fresh)."""
        assert self.app is not None and self.probes is not None
        db = self.app.require_db()
        states = self.probes.states()
        hours = self.probes.hours.take()

        async def work() -> None:
            async with db.begin() as conn:
                for pid, st in states.items():
                    await upsert(conn, probe_states, {"probe_id": pid, "data": st.model_dump(mode="json")}, ["probe_id"])
                await save_hours(conn, hours)

        try:
            await db.run(work)
        except BaseException:
            self.probes.hours.give_back(hours)
            raise
        await self.probes.reassert_down()

    async def stop(self) -> None:
        self.precreate_stop.set()
        if self.compat is not None:
            await self.compat.drain()
        if self.probes is not None and self.app is not None:
            try:
                await self._probe_housekeeping()
            except Exception:
                log.exception("probes.save_failed")
        if self.sandbox is not None:
            await self.sandbox.close()

    async def republish(self) -> None:
        """After a broker restart: probes' current health; announcement state is re-read on poll."""
        if self.probes is not None:
            await self.probes.republish()
