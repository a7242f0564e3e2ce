"""A known state for the status page, written through the real stores, and an App to serve it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from consumers.cashier.model import CashierState, Change
from consumers.cashier.store import PLATFORM, CashierStore
from consumers.incidents.ledger import IncidentRecord, Ledger
from consumers.incidents.store import IncidentStore
from consumers.notify.delivery import UNCONFIRMED_REASON
from consumers.notify.store import SqlDeliveryStore
from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.clock import SHANGHAI, ManualClock
from huabei_watch.db.engine import Database
from huabei_watch.events import (
    HUABEI_CHANNELS,
    PCREDIT,
    Incident,
    IncidentKind,
    Phase,
    ProbeObservation,
    Scope,
)
from huabei_watch.root.daemon import start_app
from huabei_watch.root.settings import Settings, parse_settings
from huabei_watch.runtime.app import App
from tests.support import security_section
from watcher.sources.probe_hours import HourSummary, hour_of
from watcher.sources.probe_state import Health, ProbeState
from watcher.sources.probe_store import probe_states, save_hours
from watcher.sources.seen import SourceState, SqlSeenStore, poll_hour

NOW = datetime(2026, 11, 28, 2, 30, tzinfo=SHANGHAI)
START = datetime(2026, 11, 28, 2, 0, tzinfo=SHANGHAI)
END = datetime(2026, 11, 28, 4, 0, tzinfo=SHANGHAI)
ACTIVE_TITLE = "花呗系统升级维护"
UPCOMING_TITLE = "商户账户状态异常"
RESOLVED_TITLE = "已恢复的旧故障"
SHOPS = 60
#: auto merchants (m-auto, m-own, shop-000..059) under the platform switch, plus m-pinned.
OFF_TOTAL = 2 + SHOPS + 1
OWN_TOKEN = "own-merchant-token"
LINK_SECRET = "merchant-link-secret-for-tests"


def merchants() -> list[dict[str, Any]]:
    fixed = [
        {"id": "m-auto", "name": "自动店", "mode": "auto"},
        {"id": "m-own", "name": "自有事件店", "mode": "auto", "token": OWN_TOKEN},
        {"id": "m-pinned", "name": "固定关闭店", "mode": "pinned_off"},
        {"id": "m-on", "name": "常开店", "mode": "pinned_on"},
        {"id": "m-expired", "name": "已过期店", "mode": "notify_only"},
    ]
    return fixed + [{"id": f"shop-{i:03d}", "name": f"杭州小店{i:03d}", "mode": "auto"} for i in range(SHOPS)]


def settings_for(tmp_path: Path, prefix: str, *, ops_token: str | None) -> Any:
    admin: dict[str, Any] = {"listen": "127.0.0.1:0"}
    if ops_token is not None:
        admin["ops_token"] = ops_token
    return parse_settings({
        "daemon": {"state_dir": str(tmp_path / "state"), "shutdown_timeout": 10},
        "admin": admin,
        "kafka": {"topic_prefix": prefix, "group_prefix": prefix, "partitions": 1, "session_timeout": 6},
        "sandbox": {"enabled": False},
        "security": security_section(),
        "merchants": merchants(),
        "pages": {"link_secret": LINK_SECRET},
    })


def _incident(incident_id: str, title: str, kind: IncidentKind, phase: Phase, scope: Scope, starts: datetime,
              ends: datetime, *, needs_review: bool = False) -> Incident:
    return Incident(
        incident_id=incident_id, kind=kind, scope=scope, channels=HUABEI_CHANNELS, phase=phase, title=title,
        starts_at=starts, ends_at=ends, disable_from=starts - timedelta(minutes=5), disable_until=ends + timedelta(minutes=5),
        opened_at=starts - timedelta(days=1), updated_at=NOW - timedelta(minutes=30), revision=3, needs_review=needs_review,
        evidence=(f"notice {incident_id} revision 1: {title}",),
    )


async def _switch(store: CashierStore, subject: str, channels: tuple[str, ...], until: datetime | None, reason: str,
                  incident: str = "x", at: datetime = NOW - timedelta(hours=1)) -> None:
    before = await store.state(subject)
    after = CashierState(merchant_id=subject, channels=channels, until=until, incident_ids=(incident,) if channels else (),
                         reason=reason, changed_at=at, exact=True, version=before.version + 1)
    assert await store.apply_change(Change(before, after, at), push_to=[])


async def seed_history(db: Database) -> None:
    """Thirty days of history for the pictures: a platform outage two days ago (and a maintenance a
    week ago) switched off and on again, one merchant's own switch five days ago, hourly probe and
    poll summaries for 72 hours (the gateway probe failing for the last three), and messages with
    every outcome spread over the days."""
    cashier = CashierStore(db)
    week = timedelta(days=7)
    await IncidentStore(db).save([IncidentRecord(
        _incident("maint:old:0", "上周花呗维护", IncidentKind.MAINTENANCE, Phase.RESOLVED, Scope.platform(),
                  START - week, END - week), Ledger(),
    )])
    await _switch(cashier, PLATFORM, HUABEI_CHANNELS, END - week, "maint:old:0", "maint:old:0", START - week)
    await _switch(cashier, PLATFORM, (), None, "maint:old:0 ended", at=END - week)
    two = timedelta(days=2)
    await _switch(cashier, PLATFORM, HUABEI_CHANNELS, END - two, "outage:old", "outage:old", START - two - timedelta(hours=3))
    await _switch(cashier, PLATFORM, (), None, "outage:old resolved", at=END - two)
    five = timedelta(days=5)
    await _switch(cashier, "shop-001", (PCREDIT,), END - five, "acct:shop-001", "acct:shop-001", START - five)
    await _switch(cashier, "shop-001", (), None, "acct:shop-001 resolved", at=END - five + timedelta(hours=6))

    summaries = []
    for i in range(72):
        hour = hour_of(NOW) - timedelta(hours=i)
        failing = i < 3
        summaries.append(HourSummary("gateway", hour, checks=120, failures=120 if failing else (2 if i == 30 else 0),
                                     latency_ms_sum=0.0 if failing else 120 * (180.0 + 40 * (i % 7)),
                                     latency_ms_max=0.0 if failing else 400.0))
    async with db.begin() as conn:
        await save_hours(conn, summaries)

    seen = SqlSeenStore(db.engine)
    for i in range(71, 0, -1):
        at = NOW - timedelta(hours=i)
        bad = 1 <= i <= 4
        await _polled(seen, SourceState(source_id="dev-rss", last_poll_at=at, initialized_at=NOW - timedelta(days=3),
                                         consecutive_failures=1 if bad else 0, last_error="HTTP 503" if bad else ""))
        await _polled(seen, SourceState(source_id="alipay-notices", last_poll_at=at, initialized_at=NOW - timedelta(days=3)))

    deliveries = SqlDeliveryStore(db.engine)
    for day in range(1, 30, 2):
        at = NOW - timedelta(days=day)
        for n in range(day % 5 + 1):
            key = f"shop-{n:03d}|hist:{day}|active|wecom"
            assert await deliveries.reserve(key, at) == "new"
            await deliveries.mark_sent(key, f"r{day}-{n}", at)
        retried = f"m-auto|hist:{day}|active|sms"
        assert await deliveries.reserve(retried, at) == "new"
        await deliveries.mark_failed(retried, "HTTP 503", False, at, retry_at=at + timedelta(minutes=1))
        await deliveries.mark_sent(retried, f"r{day}", at + timedelta(minutes=1))
        if day % 6 == 1:
            failed = f"m-own|hist:{day}|active|sms"
            assert await deliveries.reserve(failed, at) == "new"
            await deliveries.mark_failed(failed, UNCONFIRMED_REASON if day % 12 == 1 else "isv.invalid-signature", True, at)


async def seed(db: Database, *, history: bool = True) -> None:
    """Write the known state: one active and one upcoming incident (and a resolved one, hidden), the
    platform switch off, one merchant-specific off (and one expired), two sources, two deliveries.
    Merchants come from :func:`merchants` (the App upserts them from its settings)."""
    tomorrow = timedelta(days=1, hours=8)
    announced = _incident("maint:n1:0", ACTIVE_TITLE, IncidentKind.MAINTENANCE, Phase.SCHEDULED, Scope.platform(), START, END)
    announced = announced.model_copy(update={"revision": 2, "updated_at": START - timedelta(hours=20)})
    await IncidentStore(db).save([IncidentRecord(announced, Ledger())])
    await IncidentStore(db).save([IncidentRecord(incident, Ledger()) for incident in (
        _incident("maint:n1:0", ACTIVE_TITLE, IncidentKind.MAINTENANCE, Phase.ACTIVE, Scope.platform(), START, END),
        _incident("acct:m-own", UPCOMING_TITLE, IncidentKind.MERCHANT_ACCOUNT, Phase.SCHEDULED, Scope.merchants("m-own"),
                  START + tomorrow, END + tomorrow, needs_review=True),
        _incident("outage:old", RESOLVED_TITLE, IncidentKind.OUTAGE, Phase.RESOLVED, Scope.platform(),
                  START - timedelta(days=2), END - timedelta(days=2)),
    )])
    if history:
        await seed_history(db)
    cashier = CashierStore(db)
    await _switch(cashier, PLATFORM, HUABEI_CHANNELS, END + timedelta(minutes=5), "maint:n1:0 platform maintenance",
                  "maint:n1:0")
    await _switch(cashier, "m-own", (PCREDIT,), NOW + timedelta(hours=3), "acct:m-own merchant account", "acct:m-own")
    await _switch(cashier, "m-expired", (PCREDIT,), NOW - timedelta(minutes=1), "expired")
    seen = SqlSeenStore(db.engine)
    await _polled(seen, SourceState(source_id="alipay-notices", last_poll_at=NOW - timedelta(minutes=1),
                                     initialized_at=NOW - timedelta(days=3)))
    await _polled(seen, SourceState(source_id="dev-rss", last_poll_at=NOW - timedelta(minutes=2),
                                     initialized_at=NOW - timedelta(days=3), consecutive_failures=5,
                                     failing_since=NOW - timedelta(minutes=40), degraded=True, last_error="HTTP 503 from feed"))
    down = ProbeState(
        health=Health.DOWN, since=NOW - timedelta(minutes=3), changed_at=NOW - timedelta(minutes=2), announced=True,
        recent=(ProbeObservation(at=NOW - timedelta(seconds=20), ok=False, latency_ms=5000.0, detail="timeout after 5 s"),),
    )
    async with db.begin() as conn:
        await conn.execute(probe_states.insert().values(probe_id="gateway", data=down.model_dump(mode="json")))
    deliveries = SqlDeliveryStore(db.engine)
    sent, failed = "m-auto|maint:n1:0|active|wecom", "m-own|acct:m-own|scheduled|sms"
    for key in (sent, failed):
        assert await deliveries.reserve(key, NOW - timedelta(minutes=10)) == "new"
    await deliveries.mark_sent(sent, "msgid-1", NOW - timedelta(minutes=9))
    await deliveries.mark_failed(failed, "errcode 45009 rate limited", True, NOW - timedelta(minutes=8))


@asynccontextmanager
async def serving(tmp_path: Path, broker: EmbeddedBroker, prefix: str, *, ops_token: str | None) -> AsyncIterator[App[Settings]]:
    """An App with no roles (nothing changes the seeded state) on a free loopback port."""
    app = await start_app(settings_for(tmp_path, prefix, ops_token=ops_token), [], clock=ManualClock(NOW),
                          bootstrap=broker.bootstrap_servers)
    try:
        await seed(app.db)
        yield app
    finally:
        await app.stop()


async def _polled(seen: SqlSeenStore, state: SourceState) -> None:
    """A poll of the source at ``state.last_poll_at`` as the watcher records it (state and hourly count)."""
    assert state.last_poll_at is not None
    failed = 1 if state.consecutive_failures else 0
    await seen.save_states([state], {(state.source_id, poll_hour(state.last_poll_at)): (1, failed)})
