"""The compatibility checker over a real database: one publish per finding, clears on upgrade."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from huabei_watch.clock import SHANGHAI, ManualClock
from huabei_watch.config.settings import MerchantConfig
from huabei_watch.db.engine import Database
from huabei_watch.errors import TransientError
from huabei_watch.events.base import Event, PreparedEvent
from huabei_watch.events.signals import MERCHANT_FINDING, MerchantFinding
from huabei_watch.merchants.registry import MerchantRegistry
from tests.fakes.bus import RecordingPublisher
from tests.support import migrated_database
from watcher.compat.advice import InterfaceNotice
from watcher.compat.checker import CHECK_JOB, FLUSH_JOB, CompatChecker
from watcher.compat.store import CompatStore
from watcher.compat.table import CompatTable

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
TABLE = CompatTable.model_validate(
    {"plugins": [{"name": "woo-alipay", "min_version": "3.5.0", "deadline": "2026-12-31"}]}
)
NOTICE = InterfaceNotice(
    notice_id="n-1", plugins=("WooAlipay插件",), min_version="3.6.0", deadline=date(2027, 1, 15),
    published_at=datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI), title="关于升级收银插件的通知", url="",
)
MERCHANTS = {"m1": "woo-alipay/3.2.1", "m2": "woo-alipay 3.5.2", "m3": "woo-alipay-v3.6.0", "m4": "other/1.0", "m5": None}


class FlakyPublisher(RecordingPublisher):
    """Fails the next ``failures`` publishes like a bus that is away."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def publish(self, event: Event[Any] | PreparedEvent) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise TransientError("bus away")
        await super().publish(event)


def findings(pub: RecordingPublisher) -> list[MerchantFinding]:
    assert all(e.type == MERCHANT_FINDING for e in pub.events)
    return [e.data for e in pub.events if isinstance(e.data, MerchantFinding)]


async def seed(db: Database, plugins: dict[str, str | None] | None = None) -> MerchantRegistry:
    registry = MerchantRegistry(db)
    items = (plugins or MERCHANTS).items()
    await registry.upsert_many([MerchantConfig(id=k, plugin=v) for k, v in items], origin="config", now=NOW)
    return registry


def checker(db: Database, registry: MerchantRegistry, clock: ManualClock, pub: RecordingPublisher | None = None,
            table: CompatTable = TABLE) -> CompatChecker:
    return CompatChecker(table, registry, pub or RecordingPublisher(), clock, CompatStore(db))


async def test_table_check_advises_only_merchants_below_minimum_once_across_runs(db: Database) -> None:
    clock = ManualClock(NOW)
    pub = RecordingPublisher()
    c = checker(db, await seed(db), clock, pub)
    first = await c.check_all()
    clock.advance(timedelta(days=1))
    second = await c.check_all()
    assert (first.merchants, first.raised, second.raised, second.cleared) == (5, 1, 0, 0)
    [f] = findings(pub)
    assert (f.finding_id, f.state, f.merchant_id) == ("plugin:m1:table:woo-alipay@3.5.0", "raised", "m1")
    assert "woo-alipay 3.2.1 低于平台要求的 3.5.0，请在12月31日前升级" in f.advice_zh


async def test_interface_notice_advises_each_named_merchant_exactly_once(db: Database) -> None:
    clock = ManualClock(NOW)
    pub = RecordingPublisher()
    c = checker(db, await seed(db), clock, pub)
    await c.check_all()
    report = await c.on_interface_notice(NOTICE)
    await c.on_interface_notice(NOTICE)  # the same notice delivered again
    await c.check_all()
    per_notice = Counter(f.merchant_id for f in findings(pub) if f.origin == "notice")
    assert per_notice == {"m1": 1, "m2": 1}  # m3 is at 3.6.0, m4 runs another plugin, m5 has none
    assert report.raised == 2
    ids = [e.id for e in pub.events]
    assert len(ids) == len(set(ids)) == 3  # m1 table, m1 notice, m2 notice


async def test_two_checkers_on_one_database_publish_each_finding_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    db_a, db_b = await migrated_database(url, retry_for=10), await migrated_database(url, retry_for=10)
    try:
        registry = await seed(db_a)
        clock = ManualClock(NOW)
        pub_a, pub_b = RecordingPublisher(), RecordingPublisher()
        a = checker(db_a, registry, clock, pub_a)
        b = checker(db_b, MerchantRegistry(db_b), clock, pub_b)
        await asyncio.gather(a.check_all(), b.check_all())
        await asyncio.gather(a.on_interface_notice(NOTICE), b.on_interface_notice(NOTICE))
        await b.check_all()
        ids = Counter(f.finding_id for f in findings(pub_a) + findings(pub_b))
        assert ids == {"plugin:m1:table:woo-alipay@3.5.0": 1, "plugin:m1:notice:n-1": 1, "plugin:m2:notice:n-1": 1}
    finally:
        await db_a.close()
        await db_b.close()


async def test_restarted_checker_does_not_republish(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'state.db'}"
    clock = ManualClock(NOW)
    db = await migrated_database(url, retry_for=5)
    first = RecordingPublisher()
    await checker(db, await seed(db), clock, first).on_interface_notice(NOTICE)
    await db.close()
    db = await migrated_database(url, retry_for=5)
    try:
        again = RecordingPublisher()
        c = checker(db, MerchantRegistry(db), clock, again)
        report = await c.check_all()  # the stored notice is still checked, nothing is new
        assert len(first.events) == 3 and again.events == [] and report.raised == 0
        assert await c.flush() == 0
    finally:
        await db.close()


async def test_upgrade_seen_on_payment_results_clears_the_advisories_once(db: Database) -> None:
    clock = ManualClock(NOW)
    pub = RecordingPublisher()
    store = CompatStore(db)
    c = CompatChecker(TABLE, await seed(db), pub, clock, store)
    await c.on_interface_notice(NOTICE)
    raised = {f.finding_id: f for f in findings(pub) if f.merchant_id == "m1"}
    assert set(raised) == {"plugin:m1:table:woo-alipay@3.5.0", "plugin:m1:notice:n-1"}
    pub.events.clear()
    clock.advance(timedelta(hours=2))
    assert await c.note_plugin("m1", "woo-alipay/3.6.0") is True
    assert await c.note_plugin("m1", "woo-alipay/3.6.0") is False  # unchanged: no work
    await c.check_all()
    cleared = findings(pub)
    assert sorted(f.finding_id for f in cleared) == sorted(raised)
    assert all(f.state == "cleared" and f.observed_at > raised[f.finding_id].observed_at for f in cleared)
    assert "woo-alipay 3.6.0" in cleared[0].advice_zh
    assert await store.state("plugin:m1:notice:n-1") == "cleared"


async def test_downgrade_after_clearance_raises_again_as_a_new_event(db: Database) -> None:
    clock = ManualClock(NOW)
    pub = RecordingPublisher()
    c = checker(db, await seed(db, {"m1": "woo-alipay/3.2.1"}), clock, pub)
    await c.check_all()
    clock.advance(timedelta(hours=1))
    await c.note_plugin("m1", "woo-alipay/3.5.0")
    clock.advance(timedelta(hours=1))
    await c.note_plugin("m1", "woo-alipay/3.4.0")
    states = [(f.state, f.observed_at) for f in findings(pub)]
    assert [s for s, _ in states] == ["raised", "cleared", "raised"]
    assert states[0][1] < states[1][1] < states[2][1]
    assert len({e.id for e in pub.events}) == 3
    assert "3.4.0" in findings(pub)[2].advice_zh


async def test_plugin_reported_without_version_neither_raises_nor_clears(db: Database) -> None:
    clock = ManualClock(NOW)
    pub = RecordingPublisher()
    store = CompatStore(db)
    c = CompatChecker(TABLE, await seed(db, {"m1": "woo-alipay/3.2.1"}), pub, clock, store)
    await c.check_all()
    await c.note_plugin("m1", "woo-alipay")
    await c.check_all()
    assert [f.state for f in findings(pub)] == ["raised"]
    assert await store.state("plugin:m1:table:woo-alipay@3.5.0") == "raised"


async def test_plugin_from_payment_results_overrides_the_registry(db: Database) -> None:
    clock = ManualClock(NOW)
    pub = RecordingPublisher()
    c = checker(db, await seed(db, {"m1": "woo-alipay/3.6.0"}), clock, pub)
    await c.check_all()
    assert pub.events == []
    assert await c.note_plugin("m1", "woo-alipay/3.0.0") is True
    await c.check_all()
    assert [(f.merchant_id, f.state) for f in findings(pub)] == [("m1", "raised")]


async def test_plugin_of_unknown_merchant_is_stored_but_advises_nobody(db: Database) -> None:
    clock = ManualClock(NOW)
    pub = RecordingPublisher()
    store = CompatStore(db)
    c = CompatChecker(TABLE, await seed(db, {}), pub, clock, store)
    assert await c.note_plugin("ghost", "woo-alipay/1.0") is True
    assert pub.events == [] and await store.plugins(["ghost"]) == {"ghost": "woo-alipay/1.0"}


async def test_failed_publish_is_sent_later_by_flush_with_the_same_event(db: Database) -> None:
    clock = ManualClock(NOW)
    pub = FlakyPublisher(failures=1)
    c = checker(db, await seed(db, {"m1": "woo-alipay/3.2.1"}), clock, pub)
    report = await c.check_all()
    assert (report.raised, report.unpublished, pub.events) == (1, 1, [])
    assert await c.check_all() == await c.check_all()  # claimed already: not published twice
    assert await c.flush() == 0  # too fresh: maybe another process is publishing it right now
    clock.advance(timedelta(minutes=2))
    assert await c.flush() == 1
    assert await c.flush() == 0
    [event] = pub.events
    [f] = findings(pub)
    assert event.id == Event.build(MERCHANT_FINDING, f, time=f.observed_at).id and f.observed_at == NOW


async def test_notice_long_past_its_deadline_no_longer_advises(db: Database) -> None:
    clock = ManualClock(NOW)
    pub = RecordingPublisher()
    old = InterfaceNotice(notice_id="n-old", plugins=("woo-alipay",), min_version=None, deadline=date(2025, 1, 1),
                          published_at=datetime(2024, 12, 1, tzinfo=SHANGHAI))
    c = checker(db, await seed(db, {"m1": "woo-alipay/9.0"}), clock, pub)
    await c.on_interface_notice(old)
    assert pub.events == []
    assert [n.notice_id for n in await c.store.notices()] == ["n-old"]


async def test_schedule_checks_now_and_then_every_interval(db: Database) -> None:
    scheduler = AsyncIOScheduler(timezone="Asia/Shanghai")
    clock = ManualClock(NOW)
    c = checker(db, MerchantRegistry(db), clock)
    c.schedule(scheduler)
    jobs = {j.id: j for j in scheduler.get_jobs()}
    assert set(jobs) == {CHECK_JOB, FLUSH_JOB}
    assert jobs[CHECK_JOB].trigger.interval == timedelta(days=1)
    assert jobs[CHECK_JOB].next_run_time == NOW


def note_tasks() -> list[asyncio.Task[object]]:
    """The checker's background plugin checks still running."""
    return [t for t in asyncio.all_tasks() if t.get_name() == "compat:note_plugin" and not t.done()]


async def test_sync_plugin_hook_checks_in_the_background_once_per_new_plugin(db: Database) -> None:
    clock = ManualClock(NOW)
    pub = RecordingPublisher()
    store = CompatStore(db)
    c = CompatChecker(TABLE, await seed(db, {"m1": None}), pub, clock, store)
    for _ in range(50):  # one batch of payment results, all from the same till
        c.plugin_seen("m1", "woo-alipay/3.2.1")
    assert len(note_tasks()) == 1
    await c.drain()
    assert [(f.merchant_id, f.state) for f in findings(pub)] == [("m1", "raised")]
    c.plugin_seen("m1", "woo-alipay/3.2.1")  # known now: no task
    assert note_tasks() == []
    c.plugin_seen("m1", "woo-alipay/3.6.0")
    await c.drain()
    assert [f.state for f in findings(pub)] == ["raised", "cleared"]
    assert await store.plugins(["m1"]) == {"m1": "woo-alipay/3.6.0"}
