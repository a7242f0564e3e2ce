"""The pictures' history, read on SQLite and PostgreSQL from a known 30 days, and the pure parts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from consumers.incidents.ledger import IncidentRecord
from consumers.incidents.store import IncidentStore, incident_changes
from huabei_watch.config.settings import MerchantConfig
from huabei_watch.db.engine import Database
from huabei_watch.events import Phase, ProbeObservation
from huabei_watch.merchants.registry import MerchantRegistry
from huabei_watch.root.incident_data import read_timeline
from huabei_watch.root.status_bars import Span, SwitchRow, availability, hour_floor, off_spans
from huabei_watch.root.status_history import StatusHistory, read_history
from huabei_watch.root.status_svg import availability_grid
from tests.ops.state import END, NOW, OFF_TOTAL, START, merchants, seed
from watcher.sources.probe_hours import HourlySummaries
from watcher.sources.probe_store import probe_hours, save_hours

#: Older than anything stored: load every incident.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def test_a_switch_is_off_until_its_next_change_and_a_lapsed_off_ends_at_its_expiry() -> None:
    rows = [
        SwitchRow("*", T0, True, ("maint:a",)),
        SwitchRow("*", T0 + timedelta(hours=2), False, ()),
        SwitchRow("m1", T0 + timedelta(hours=1), True, ("acct:m1",)),
    ]
    spans = off_spans(rows, {"m1": T0 + timedelta(hours=1, minutes=30)}, since=T0 - timedelta(days=1))
    assert sorted(spans, key=lambda s: s.subject) == [
        Span("*", T0, T0 + timedelta(hours=2), ("maint:a",)),
        Span("m1", T0 + timedelta(hours=1), T0 + timedelta(hours=1, minutes=30), ("acct:m1",)),
    ]


def test_availability_colours_the_platform_switch_by_incident_kind_and_counts_merchants() -> None:
    spans = [Span("*", T0 + timedelta(minutes=30), T0 + timedelta(hours=2), ("outage:x",)),
             Span("m1", T0 + timedelta(hours=2), T0 + timedelta(hours=3), ("acct:m1",))]
    hours = [T0 + timedelta(hours=i) for i in range(4)]
    cells = availability(spans, hours, kinds={"outage:x": "outage"}, modes={"m1": "auto"}, auto_count=10,
                         pinned_off=1, total=20)
    assert [c.state for c in cells] == ["outage", "outage", "partial", "on"]
    assert cells[0].platform_minutes == 30 and cells[0].incident_id == "outage:x"
    assert [c.merchants_off for c in cells] == [11, 11, 2, 1]
    assert cells[0].share == 11 / 20


def test_grid_links_incident_blocks_and_not_healthy_hours() -> None:
    spans = [Span("*", T0, T0 + timedelta(hours=1), ("maint:a:0",))]
    cells = availability(spans, [T0, T0 + timedelta(hours=1)], kinds={"maint:a:0": "maintenance"}, modes={},
                         auto_count=1, pinned_off=0, total=1)
    svg = str(availability_grid(cells, T0 + timedelta(hours=2), lambda i: f"/status/incidents/{i}"))
    assert svg.count('<a href="/status/incidents/maint:a:0">') == 1
    assert 'class="cell maintenance"' in svg and 'class="cell on"' in svg


def test_hourly_summaries_fold_checks_and_give_back_what_failed_to_save() -> None:
    hours = HourlySummaries()
    hours.add("p", ProbeObservation(at=T0 + timedelta(minutes=1), ok=True, latency_ms=100.0))
    hours.add("p", ProbeObservation(at=T0 + timedelta(minutes=2), ok=False, latency_ms=5000.0))
    taken = hours.take()
    assert [(s.checks, s.failures, s.latency_ms_sum, s.latency_ms_max) for s in taken] == [(2, 1, 100.0, 100.0)]
    assert hours.take() == []
    hours.add("p", ProbeObservation(at=T0 + timedelta(minutes=3), ok=True, latency_ms=300.0))
    hours.give_back(taken)
    [again] = hours.take()
    assert (again.checks, again.failures, again.latency_ms_sum, again.latency_ms_max) == (3, 1, 400.0, 300.0)


async def test_hour_rows_add_up_across_saves(db: Database) -> None:
    for latency in (100.0, 300.0):
        hours = HourlySummaries()
        hours.add("p", ProbeObservation(at=T0, ok=True, latency_ms=latency))
        async with db.begin() as conn:
            await save_hours(conn, hours.take())
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(probe_hours))).mappings().one()
    assert (row["checks"], row["failures"], row["latency_ms_sum"], row["latency_ms_max"]) == (2, 0, 400.0, 300.0)


async def test_history_reads_thirty_days_on_each_database(db: Database) -> None:
    await MerchantRegistry(db).upsert_many([MerchantConfig.model_validate(m) for m in merchants()], origin="config", now=NOW)
    await seed(db)
    h = await read_history(db, NOW)
    cells = {c.start: c for c in h.cells}
    assert len(h.cells) == 30 * 24
    outage = cells[hour_floor(START - timedelta(days=2))]
    assert (outage.state, outage.incident_id, outage.platform_minutes) == ("outage", "outage:old", 60)
    week = cells[hour_floor(START - timedelta(days=7))]
    assert (week.state, week.incident_id) == ("maintenance", "maint:old:0")
    own = cells[hour_floor(START - timedelta(days=5))]
    assert (own.state, own.merchants_off) == ("partial", 2)  # shop-001 and the pinned one
    now = cells[hour_floor(NOW)]
    assert now.state == "maintenance" and now.incident_id == "maint:n1:0"
    assert now.merchants_off == OFF_TOTAL + 1  # m-expired was off until a minute ago
    assert cells[hour_floor(END - timedelta(days=3))].state == "on"

    probes = dict(h.probes)
    assert [t.state for t in probes["gateway"][-3:]] == ["down"] * 3
    assert probes["gateway"][-4].state == "ok" and probes["gateway"][-4].latency_ms is not None
    assert sum(t.state == "some" for t in probes["gateway"]) == 1
    sources = dict(h.sources)
    assert [t.state for t in sources["dev-rss"][-6:]] == ["ok"] + ["down"] * 5  # this hour: the seeded failing poll
    assert all(t.state in ("ok", "none") for t in sources["alipay-notices"])

    totals = h.outcome_totals()
    days = range(1, 30, 2)
    assert totals["sent"] == sum(d % 5 + 1 for d in days) + 1  # plus today's seeded "sent"
    assert totals["retried"] == len(days)
    assert totals["unconfirmed"] == sum(1 for d in days if d % 6 == 1 and d % 12 == 1)
    assert totals["failed"] == sum(1 for d in days if d % 6 == 1 and d % 12 != 1) + 1  # plus today's


async def test_history_reads_missing_tables_as_empty(db: Database) -> None:
    async with db.begin() as conn:
        for table in ("cashier_audit", "probe_hours", "source_poll_hours", "notification_deliveries"):
            await conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
    h = await read_history(db, NOW)
    assert {c.state for c in h.cells} == {"on"} and h.probes == () and h.sources == ()
    assert h.outcome_totals() == {"sent": 0, "retried": 0, "failed": 0, "unconfirmed": 0}


async def test_incident_timeline_has_phase_changes_switches_and_messages(db: Database) -> None:
    await seed(db)
    timeline = await read_timeline(db, "outage:old", NOW)
    assert timeline is not None
    switches = [e for e in timeline.entries if e.what == "switch"]
    assert [e.state for e in switches] == ["off", "on"]  # the "on" names no incident; it ends this one's off
    current = await read_timeline(db, "maint:n1:0", NOW)
    assert current is not None
    phases = [e.state for e in current.entries if e.what == "phase"]
    assert phases == ["scheduled", "active"]
    assert ("wecom", "sent", 1) in current.messages
    assert await read_timeline(db, "nope", NOW) is None


async def test_incident_changes_record_phase_and_window_changes_only(db: Database) -> None:
    await seed(db, history=False)
    store = IncidentStore(db)
    [rec] = [r for r in await store.load_recent(EPOCH) if r.incident.incident_id == "maint:n1:0"]
    inc = rec.incident
    await store.save([IncidentRecord(inc.model_copy(update={"revision": 4, "evidence": ("more",)}), rec.ledger)])  # evidence only
    await store.save([IncidentRecord(inc.model_copy(update={"revision": 5, "phase": Phase.RESOLVED}), rec.ledger)])
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(incident_changes.c.revision, incident_changes.c.phase)
                                   .where(incident_changes.c.incident_id == "maint:n1:0")
                                   .order_by(incident_changes.c.revision))).all()
    assert [tuple(r) for r in rows] == [(2, "scheduled"), (3, "active"), (5, "resolved")]


async def test_past_days_outcomes_are_reused_for_ten_minutes_and_today_is_always_fresh(db: Database) -> None:
    from consumers.notify.store import SqlDeliveryStore

    store = SqlDeliveryStore(db.engine)

    async def sent(key: str, at: datetime) -> None:
        assert await store.reserve(key, at) == "new"
        await store.mark_sent(key, "r", at)

    def by_day(h: StatusHistory) -> dict[str, int]:
        return {d.day: dict(d.counts)["sent"] for d in h.outcomes}

    yesterday, today = (NOW - timedelta(days=1)).date().isoformat(), NOW.date().isoformat()
    await sent("a|i|p|wecom", NOW - timedelta(days=1))
    first = by_day(await read_history(db, NOW))
    assert (first[yesterday], first[today]) == (1, 0)
    await sent("b|i|p|wecom", NOW - timedelta(days=1))
    await sent("c|i|p|wecom", NOW - timedelta(minutes=1))
    soon = by_day(await read_history(db, NOW + timedelta(minutes=1)))
    assert (soon[yesterday], soon[today]) == (1, 1)  # yesterday from the cache, today fresh
    later = by_day(await read_history(db, NOW + timedelta(minutes=11)))
    assert (later[yesterday], later[today]) == (2, 1)
