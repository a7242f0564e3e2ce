"""Every role's handler, built by its factory as the daemon builds it, driven by an in-memory
consumer (:class:`tests.fakes.bus.MemoryBus`) instead of Kafka: no broker, no daemon, a real
database (SQLite, and PostgreSQL when HUABEI_TEST_PG_URL is set)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from consumers.cashier.model import Mode
from consumers.cashier.role import CashierRole, create_cashier_role
from consumers.incidents.role import IncidentsRole, create_incidents_role
from consumers.notify.role import NotifyRole, create_notify_role
from huabei_watch.clock import SHANGHAI, ManualClock
from huabei_watch.db.engine import Database
from huabei_watch.events import (
    HEALTH_DOWN,
    HEALTH_UP,
    HUABEI_CHANNELS,
    PAYMENT_RESULTS,
    Event,
    HealthChange,
    Incident,
    NotificationResult,
    NotificationResultBatch,
    PaymentResult,
    PaymentResultBatch,
    Phase,
    ProbeObservation,
    Topics,
)
from huabei_watch.merchants.registry import MerchantRegistry
from huabei_watch.root import schema
from huabei_watch.root.settings import Settings, parse_settings
from huabei_watch.runtime.tasks import Tasks
from tests.fakes.bus import MemoryBus
from tests.ops.history import write_history
from tests.support import notify_idle
from watcher.role import WatcherRole, create_watcher_role

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI)


@dataclass
class Rig:
    settings: Settings
    clock: ManualClock
    bus: MemoryBus
    db: Database
    registry: MerchantRegistry
    http: aiohttp.ClientSession
    scheduler: AsyncIOScheduler
    router: web.UrlDispatcher
    tasks: Tasks
    topics: Topics

    async def incidents(self) -> IncidentsRole:
        return await create_incidents_role(
            self.settings.incidents, db=self.db, publisher=self.bus, clock=self.clock, scheduler=self.scheduler,
            signals_topic=self.topics.signals, router=self.router, ops_token=None,
        )

    async def cashier(self) -> CashierRole:
        return await create_cashier_role(
            self.settings.cashier, db=self.db, registry=self.registry, publisher=self.bus, clock=self.clock,
            http=self.http, scheduler=self.scheduler, incidents_topic=self.topics.incidents, router=self.router,
            ops_token=None,
        )

    async def notify(self) -> NotifyRole:
        return await create_notify_role(
            self.settings.notify, off_ttl=self.settings.cashier.ttl, db=self.db, registry=self.registry,
            publisher=self.bus, clock=self.clock, http=self.http, scheduler=self.scheduler, tasks=self.tasks,
            incidents_topic=self.topics.incidents,
        )

    async def watcher(self) -> WatcherRole:
        return await create_watcher_role(
            self.settings, db=self.db, registry=self.registry, publisher=self.bus, clock=self.clock, http=self.http,
            scheduler=self.scheduler, tasks=self.tasks, payment_results_topic=self.topics.payment_results,
            router=self.router,
        )


@pytest.fixture
async def rig(db: Database, tmp_path: Path) -> AsyncIterator[Rig]:
    schema.load_tables()
    settings = parse_settings({
        "daemon": {"state_dir": str(tmp_path / "state")},
        "sandbox": {"enabled": False},
        "cashier": {"min_hold": 0},
        "notify": {"file": {"path": str(tmp_path / "sent.jsonl")}, "ops": [{"channel": "file", "address": "ops"}]},
        "merchants": [
            {"id": "m-auto", "mode": "auto", "channels": ["file"]},
            {"id": "m-notify", "mode": "notify_only", "channels": ["file"]},
        ],
    })
    clock = ManualClock(T0)
    registry = MerchantRegistry(db)
    await registry.upsert_many(settings.merchants, origin="config", now=T0)
    topics = Topics(settings.kafka.topic_prefix)
    tasks = Tasks()
    scheduler = AsyncIOScheduler(timezone="Asia/Shanghai")  # never started: jobs are only recorded
    async with aiohttp.ClientSession() as http:
        yield Rig(settings, clock, MemoryBus(topics, clock), db, registry, http, scheduler, web.Application().router,
                  tasks, topics)
        await tasks.cancel_all()


def probe(kind: str, at: datetime) -> Event[HealthChange]:
    data = HealthChange(probe_id="gw", target="http://127.0.0.1/h", since=at,
                        evidence=(ProbeObservation(at=at, ok=kind == HEALTH_UP),))
    return Event.build(kind, data, time=at)


async def test_incidents_handler_opens_and_resolves_an_outage_from_probe_signals(rig: Rig) -> None:
    incidents = await rig.incidents()
    rig.bus.attach(*incidents.subscriptions)
    await rig.bus.publish(probe(HEALTH_DOWN, T0))
    await rig.bus.deliver()
    (opened,) = [e.data for e in rig.bus.published(rig.topics.incidents)]
    assert isinstance(opened, Incident) and opened.phase is Phase.ACTIVE
    rig.clock.advance(60)
    await rig.bus.publish(probe(HEALTH_UP, rig.clock.now()))
    await rig.bus.deliver()
    last = rig.bus.published(rig.topics.incidents)[-1].data
    assert isinstance(last, Incident) and last.incident_id == opened.incident_id and last.phase is Phase.RESOLVED


async def test_a_replayed_signal_changes_nothing(rig: Rig) -> None:
    incidents = await rig.incidents()
    rig.bus.attach(*incidents.subscriptions)
    event = probe(HEALTH_DOWN, T0)
    await rig.bus.publish(event)
    await rig.bus.deliver()
    published = rig.bus.published(rig.topics.incidents)
    await rig.bus.publish(event)  # redelivered (at-least-once)
    await rig.bus.deliver()
    assert rig.bus.published(rig.topics.incidents) == published


async def test_cashier_handler_switches_auto_merchants_off_and_back_on(rig: Rig) -> None:
    incidents, cashier = await rig.incidents(), await rig.cashier()
    rig.bus.attach(*incidents.subscriptions, *cashier.subscriptions)
    await rig.bus.publish(probe(HEALTH_DOWN, T0))
    await rig.bus.deliver()
    assert (await cashier.reader.state("m-auto", Mode.AUTO)).channels == HUABEI_CHANNELS
    assert await cashier.reader.policy_message("m-notify") is None
    changes = [e.data for e in rig.bus.published(rig.topics.cashier_changes)]
    assert [(c.merchant_id, c.after) for c in changes] == [("*", HUABEI_CHANNELS)]  # type: ignore[attr-defined]
    rig.clock.advance(60)
    await rig.bus.publish(probe(HEALTH_UP, rig.clock.now()))
    await rig.bus.deliver()
    assert (await cashier.reader.state("m-auto", Mode.AUTO)).channels == ()


async def test_notify_handler_tells_ops_and_every_merchant_once(rig: Rig, tmp_path: Path) -> None:
    incidents, notify = await rig.incidents(), await rig.notify()
    rig.bus.attach(*incidents.subscriptions, *notify.subscriptions)
    await rig.bus.publish(probe(HEALTH_DOWN, T0))
    await rig.bus.deliver()
    await notify_idle(notify, timeout=10)
    await incidents.republish()  # the keep-alive re-assertion: same incident, no new message
    await rig.bus.deliver()
    await notify_idle(notify, timeout=10)
    lines = [json.loads(line) for line in (tmp_path / "sent.jsonl").read_text("utf-8").splitlines()]
    recipients = sorted(line["recipient"] for line in lines)
    assert recipients == sorted({"ops", "m-auto", "m-notify"})
    sent = [e.data for e in rig.bus.published(rig.topics.notifications)]
    named = [r.dedupe_key for d in sent
             for r in (d.results if isinstance(d, NotificationResultBatch) else (d,)) if isinstance(r, NotificationResult)]
    assert len(named) == len(set(named)) == len(lines)  # each message named once, alone or in a batch
    await notify.stop()


async def test_watcher_handler_feeds_payment_results_to_the_detector(rig: Rig) -> None:
    watcher = await rig.watcher()
    rig.bus.attach(*watcher.subscriptions)
    results = tuple(
        PaymentResult(merchant_id="m-auto", at=T0 - timedelta(seconds=i), channel="pcredit", success=True)
        for i in range(3)
    )
    batch = PaymentResultBatch(merchant_id="m-auto", results=results)
    await rig.bus.publish(Event.build(PAYMENT_RESULTS, batch, time=T0))
    assert await rig.bus.deliver() == 1
    assert watcher.payments.detector.status().tracked_merchants == 1
    await watcher.stop()


async def test_each_role_schedules_a_daily_housekeeping_that_prunes_its_own_tables(rig: Rig) -> None:
    """The job each factory puts on the scheduler, run as the scheduler would, on 120 days of
    history (default retention: 90 days for most tables, 30 for signals, 365 for seen notices)."""
    await write_history(rig.db, days=120, end=rig.clock.now())
    deleted: dict[str, int] = {}
    for role in (await rig.incidents(), await rig.cashier(), await rig.notify(), await rig.watcher()):
        job = rig.scheduler.get_job(f"{role.name}:housekeeping")
        assert job is not None, role.name
        counts = await job.func(*job.args)
        assert counts is not None, role.name
        deleted |= counts
    for table in ("incidents", "signal_log", "cashier_audit", "cashier_incidents", "notification_deliveries",
                  "notify_incidents", "probe_hours", "source_poll_hours"):
        assert deleted[table] > 0, table
    assert deleted["seen_notices"] == 0  # kept a year
    assert deleted["notify_fanout_done"] == 0  # none written
