"""Housekeeping on a year of history: start-up reads only open and recently closed incidents,
notify's re-planning reads only those too, and each role's daily pass brings every growing table
back to its retention window, so the database stops growing (asserted on rows, never on time)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Table, func, insert, select

from consumers.cashier.store import CashierStore, audit, heard, overrides
from consumers.incidents.role import IncidentsRole, create_incidents_role
from consumers.incidents.signal_log import signal_log
from consumers.incidents.store import incident_changes, incident_events, incident_marks, incidents_table
from consumers.notify.role import IncidentMemory, notify_incidents
from consumers.notify.store import notification_deliveries, prune_deliveries
from huabei_watch.clock import ManualClock
from huabei_watch.config.retention import DEFAULT_RETENTION, RetentionSettings
from huabei_watch.db.engine import Database
from huabei_watch.events import Topics
from huabei_watch.root import schema
from huabei_watch.root.settings import parse_settings
from huabei_watch.runtime.housekeeping import run_housekeeping
from tests.fakes.bus import MemoryBus
from tests.ops.history import END, History, write_history
from watcher.compat.store import compat_advisories, compat_notices
from watcher.sources.housekeeping import prune_watcher
from watcher.sources.probe_store import probe_hours
from watcher.sources.seen import seen_notices, source_poll_hours

R = DEFAULT_RETENTION
DAY = timedelta(days=1)


async def _count(db: Database, table: Table) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def _oldest(db: Database, table: Table, column: str) -> datetime:
    """The earliest ``column`` value of ``table`` (every column asked for is a timestamp)."""
    async with db.engine.connect() as conn:
        oldest = (await conn.execute(select(func.min(table.c[column])))).scalar_one()
    assert isinstance(oldest, datetime), f"{table.name}.{column}: {oldest!r}"
    return oldest


async def _incidents_role(db: Database, clock: ManualClock) -> IncidentsRole:
    schema.load_tables()
    topics = Topics("huabei")
    return await create_incidents_role(
        parse_settings({}).incidents, db=db, publisher=MemoryBus(topics, clock), clock=clock,
        scheduler=AsyncIOScheduler(timezone="Asia/Shanghai"), signals_topic=topics.signals,
        router=web.Application().router, ops_token=None, retention=R,
    )


async def _prune_every_role(db: Database, role: IncidentsRole, clock: ManualClock) -> dict[str, int]:
    """One housekeeping pass of each role, as their daily jobs run it."""
    now = clock.now()
    out = await role.prune(now)
    out |= await CashierStore(db).prune(audit_before=now - timedelta(seconds=R.cashier_audit),
                                        heard_before=now - timedelta(seconds=R.incidents))
    out["notification_deliveries"] = await prune_deliveries(db, now - timedelta(seconds=R.deliveries))
    out["notify_incidents"] = await IncidentMemory(db).prune(now - timedelta(seconds=R.incidents))
    out |= await prune_watcher(db, R, now)
    return out


def _expected_incidents(h: History, closed_since: datetime) -> set[str]:
    return {i for i, (at, is_open) in h.incidents.items() if is_open or at >= closed_since}


async def test_start_up_restores_open_and_recently_closed_incidents_only(db: Database) -> None:
    h = await write_history(db)
    role = await _incidents_role(db, ManualClock(END))
    held = {i.incident_id for i in role.engine.incidents()}
    assert held == _expected_incidents(h, END - timedelta(seconds=R.incidents_in_memory))
    assert {"outage:open:0", "outage:open:1"} <= held  # open for 200 days, still restored
    assert len(held) < len(h.incidents) / 10  # a month of a year, not the year


async def test_notify_replans_open_and_recently_closed_incidents_only(db: Database) -> None:
    h = await write_history(db)
    since = END - timedelta(hours=1)
    replanned = {inc.incident_id for inc, _ in await IncidentMemory(db).open_ones(since)}
    assert replanned == _expected_incidents(h, since)
    assert replanned >= {"outage:open:0", "outage:open:1"}


async def test_a_year_of_history_is_pruned_to_each_tables_retention(db: Database) -> None:
    h = await write_history(db)
    clock = ManualClock(END)
    role = await _incidents_role(db, clock)
    before = {t.name: await _count(db, t) for t in (incidents_table, signal_log, audit, notification_deliveries)}

    deleted = await _prune_every_role(db, role, clock)

    kept = _expected_incidents(h, END - timedelta(seconds=R.incidents))
    async with db.engine.connect() as conn:
        assert set((await conn.execute(select(incidents_table.c.incident_id))).scalars()) == kept
        for child in (incident_changes, incident_marks, incident_events):  # no orphaned timeline or ledger rows
            assert set((await conn.execute(select(child.c.incident_id).distinct())).scalars()) <= kept
        notify_kept = set((await conn.execute(select(notify_incidents.c.incident_id))).scalars())
        audit_old = (await conn.execute(
            select(func.count()).select_from(audit).where(audit.c.at < END - timedelta(seconds=R.cashier_audit))
        )).scalar_one()
        retrying = (await conn.execute(select(notification_deliveries.c.state)
                                       .where(notification_deliveries.c.state == "retry"))).scalars().all()
    assert deleted["incidents"] == len(h.incidents) - len(kept)
    assert notify_kept == kept
    assert audit_old == 1  # the platform switch's newest change stays whatever its age
    assert retrying == ["retry"]  # a delivery still retrying is never pruned

    for table, column, keep in (
        (signal_log, "time", R.signals), (notification_deliveries, "sent_at", R.deliveries),
        (heard, "heard_at", R.incidents), (seen_notices, "updated_at", R.seen_notices),
        (probe_hours, "hour", R.hourly_stats), (source_poll_hours, "hour", R.hourly_stats),
    ):
        cutoff = END - timedelta(seconds=keep)
        assert await _oldest(db, table, column) >= cutoff, table.name
        written = h.rows[table.name]
        assert await _count(db, table) == sum(1 for at in written if at >= cutoff) + (table is notification_deliveries)
    after = {t.name: await _count(db, t) for t in (incidents_table, signal_log, audit, notification_deliveries)}
    for name, n in after.items():
        assert n < before[name] / 2, name
    assert len(role.engine.incidents()) == len(_expected_incidents(h, END - timedelta(seconds=R.incidents_in_memory)))


async def test_the_database_stops_growing_once_housekeeping_runs_daily(db: Database) -> None:
    """Steady state: at the same daily rate, the rows kept after a pass are the same after 60 more days."""
    await write_history(db)
    clock = ManualClock(END)
    role = await _incidents_role(db, clock)
    await _prune_every_role(db, role, clock)
    tables = (incidents_table, incident_changes, incident_marks, incident_events, signal_log, audit, heard,
              notification_deliveries, notify_incidents, seen_notices, probe_hours, source_poll_hours)
    first = {t.name: await _count(db, t) for t in tables}

    later = END + 60 * DAY
    await write_history(db, days=60, end=later, prefix="y2", with_open=False)
    clock.set(later)
    await _prune_every_role(db, role, clock)
    second = {t.name: await _count(db, t) for t in tables}
    for name in first:  # the same window's worth of rows (a day's rows either side of a cutoff aside)
        assert abs(second[name] - first[name]) <= max(2, first[name] // 90), (name, first[name], second[name])


async def test_a_failing_pass_is_logged_with_its_reason_and_raises_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    empty = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")  # no tables: a permanent error
    caplog.set_level(logging.INFO, logger="huabei_watch.runtime.housekeeping")
    try:
        result = await run_housekeeping("watcher", lambda now: prune_watcher(empty, R, now), ManualClock(END))
    finally:
        await empty.close()
    assert result is None
    failed = [r for r in caplog.records if r.msg == "housekeeping.failed"]
    assert failed and "seen_notices" in failed[0].reason  # type: ignore[attr-defined]  # a logging extra field


async def test_each_role_schedules_its_daily_housekeeping(db: Database) -> None:
    role = await _incidents_role(db, ManualClock(END))
    job = role.scheduler.get_job("incidents:housekeeping")
    assert job is not None
    assert job.trigger.interval == timedelta(seconds=RetentionSettings().prune_every)


async def test_old_interface_notices_cleared_findings_and_expired_overrides_are_pruned(db: Database) -> None:
    """The compat checker's notices and cleared findings, and force-on overrides long expired, go;
    a raised finding, an unpublished clearance, an override without an end and recent rows stay."""
    old, recent = END - timedelta(seconds=R.seen_notices) - DAY, END - DAY
    audit_old = END - timedelta(seconds=R.cashier_audit) - DAY
    advisory = {"merchant_id": "m1", "payload": {}}
    async with db.engine.begin() as conn:
        await conn.execute(insert(compat_notices), [
            {"notice_id": "n-old", "payload": {}, "received_at": old},
            {"notice_id": "n-new", "payload": {}, "received_at": recent},
        ])
        await conn.execute(insert(compat_advisories), [
            {**advisory, "finding_id": "cleared-old", "state": "cleared", "updated_at": old, "published_at": old},
            {**advisory, "finding_id": "raised-old", "state": "raised", "updated_at": old, "published_at": old},
            {**advisory, "finding_id": "cleared-unpublished", "state": "cleared", "updated_at": old,
             "published_at": None},
            {**advisory, "finding_id": "cleared-new", "state": "cleared", "updated_at": recent, "published_at": recent},
        ])
        await conn.execute(insert(overrides), [
            {"merchant_id": "m1", "incident_id": "i-expired", "until": audit_old, "created_at": audit_old, "by": "ops"},
            {"merchant_id": "m1", "incident_id": "i-open-ended", "until": None, "created_at": audit_old, "by": "ops"},
            {"merchant_id": "m1", "incident_id": "i-recent", "until": recent, "created_at": recent, "by": "ops"},
        ])
    deleted = await prune_watcher(db, R, END)
    deleted |= await CashierStore(db).prune(audit_before=END - timedelta(seconds=R.cashier_audit),
                                            heard_before=END - timedelta(seconds=R.incidents))
    async with db.engine.connect() as conn:
        notices = set((await conn.execute(select(compat_notices.c.notice_id))).scalars())
        findings = set((await conn.execute(select(compat_advisories.c.finding_id))).scalars())
        kept_overrides = set((await conn.execute(select(overrides.c.incident_id))).scalars())
    assert notices == {"n-new"}
    assert findings == {"raised-old", "cleared-unpublished", "cleared-new"}
    assert kept_overrides == {"i-open-ended", "i-recent"}
    assert (deleted["compat_notices"], deleted["compat_advisories"], deleted["cashier_overrides"]) == (1, 1, 1)
