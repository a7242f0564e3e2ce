"""History for the status page's pictures, read from the roles' tables (selects only).

Sources: ``cashier_audit`` (switch changes) with ``cashier_state`` (is the newest "off" still
holding) and ``incidents`` (kind of each incident); ``probe_hours`` and ``source_poll_hours``
(hourly summaries the watcher writes); ``notification_deliveries`` (one row per message key,
counted by the day of its last update). Missing tables read as empty. Bounded reads: 30 days of
switch changes (a few per incident), 72 hourly rows per probe and source, and per-day counts
grouped in the database.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from consumers.cashier.reconcile import effective
from consumers.cashier.store import audit, state_from_json, state_table
from consumers.incidents.store import incidents_table
from consumers.notify.delivery import UNCONFIRMED_REASON
from consumers.notify.store import notification_deliveries
from huabei_watch.clock import SHANGHAI
from huabei_watch.db.engine import Database
from huabei_watch.merchants.registry import merchants_table
from huabei_watch.root.reads import present
from huabei_watch.root.status_bars import (
    HOUR,
    OUTCOMES,
    DayOutcomes,
    HourCell,
    SwitchRow,
    Tally,
    availability,
    hours_back,
    off_spans,
    outcome_days,
    tallies,
)
from watcher.sources.probe_store import probe_hours, probe_states
from watcher.sources.seen import source_poll_hours, source_state

DAYS = 30
STRIP_HOURS = 72


@dataclass(frozen=True, slots=True)
class StatusHistory:
    cells: tuple[HourCell, ...]
    probes: tuple[tuple[str, tuple[Tally, ...]], ...]
    sources: tuple[tuple[str, tuple[Tally, ...]], ...]
    outcomes: tuple[DayOutcomes, ...]

    def outcome_totals(self) -> dict[str, int]:
        """Messages per outcome over every day shown."""
        totals = dict.fromkeys(OUTCOMES, 0)
        for day in self.outcomes:
            for outcome, n in day.counts:
                totals[outcome] += n
        return totals

    def outcome_today(self) -> dict[str, int]:
        return dict(self.outcomes[-1].counts) if self.outcomes else dict.fromkeys(OUTCOMES, 0)


def grid_hours(now: datetime, days: int = DAYS) -> list[datetime]:
    """Every hour of the last ``days`` Asia/Shanghai days, today included (future hours too)."""
    today = now.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    first = (today - timedelta(days=days - 1)).astimezone(UTC)
    return [first + HOUR * i for i in range(days * 24)]


async def _switch_rows(conn: AsyncConnection, since: datetime) -> list[SwitchRow]:
    a = audit.c
    before = select(func.max(a.seq)).where(a.at < since).group_by(a.subject).scalar_subquery()
    q = select(a.subject, a.after, a.incident_ids, a.at).where((a.at >= since) | a.seq.in_(before)).order_by(a.seq)
    return [
        SwitchRow(subject, _aware(at), bool(after), tuple(ids or ()))
        for subject, after, ids, at in (await conn.execute(q)).all()
    ]


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


async def _last_ends(conn: AsyncConnection, subjects: set[str], now: datetime) -> dict[str, datetime]:
    """When each switch's newest "off" ends: now while it holds, else its expiry (if past)."""
    out: dict[str, datetime] = {}
    if not subjects:
        return out
    rows = (await conn.execute(select(state_table.c.subject, state_table.c.data).where(state_table.c.subject.in_(subjects)))).all()
    for subject, data in rows:
        stored = state_from_json(data)
        if effective(stored, now).channels:
            out[subject] = now
        else:
            out[subject] = min(now, stored.until) if stored.until is not None else now
    return out


async def _availability(conn: AsyncConnection, have: set[str], now: datetime) -> list[HourCell]:
    hours = grid_hours(now)
    if audit.name not in have or state_table.name not in have:
        rows: list[SwitchRow] = []
    else:
        rows = await _switch_rows(conn, hours[0])
    spans = off_spans(rows, await _last_ends(conn, {r.subject for r in rows}, now) if rows else {}, hours[0])
    ids = sorted({i for s in spans for i in s.incident_ids})
    kinds: dict[str, str] = {}
    if ids and incidents_table.name in have:
        t = incidents_table.c
        kinds = {i: k for i, k in (await conn.execute(select(t.incident_id, t.kind).where(t.incident_id.in_(ids)))).all()}
    modes: dict[str, str] = {}
    counts: dict[str, int] = {}
    if merchants_table.name in have:
        m = merchants_table.c
        own = sorted({s.subject for s in spans if s.subject != "*"})
        if own:
            modes = {i: md for i, md in (await conn.execute(select(m.id, m.mode).where(m.id.in_(own)))).all()}
        counts = {md: int(n) for md, n in (await conn.execute(select(m.mode, func.count()).group_by(m.mode))).all()}
    return availability(
        spans, [h for h in hours if h <= now], kinds=kinds, modes=modes, auto_count=counts.get("auto", 0),
        pinned_off=counts.get("pinned_off", 0), total=sum(counts.values()),
    ) + [HourCell(h, "on", 0.0, None, 0, 0.0) for h in hours if h > now]


async def _hourly(
    conn: AsyncConnection, have: set[str], table: Any, key: str, count: str, latency: str | None,
    known: Any, hours: list[datetime],
) -> tuple[tuple[str, tuple[Tally, ...]], ...]:
    rows: dict[str, dict[datetime, tuple[int, int, float]]] = {}
    if known.name in have:
        for (name,) in (await conn.execute(select(known.c[key]))).all():
            rows.setdefault(name, {})
    if table.name in have:
        cols = [table.c[key], table.c.hour, table.c[count], table.c.failures]
        if latency is not None:
            cols.append(table.c[latency])
        for r in (await conn.execute(select(*cols).where(table.c.hour >= hours[0]))).all():
            lat = float(r[4]) if latency is not None else 0.0
            rows.setdefault(r[0], {})[_aware(r[1])] = (int(r[2]), int(r[3]), lat)
    return tuple((name, tuple(tallies(hours, rows[name]))) for name in sorted(rows))


def _day(conn: AsyncConnection, column: Any) -> ColumnElement[str]:
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Shanghai", column), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column, "+8 hours")


#: Counts of days before today are recomputed at most this often (grouping a large deliveries
#: table takes a second on SQLite; the page refreshes every 15 s). Today's are always fresh.
PAST_DAYS_TTL = timedelta(minutes=10)
_past_days: weakref.WeakKeyDictionary[AsyncEngine, tuple[datetime, str, list[tuple[str, str, int]]]] = (
    weakref.WeakKeyDictionary()
)


async def _count_outcomes(conn: AsyncConnection, since: datetime, until: datetime | None) -> list[tuple[str, str, int]]:
    t = notification_deliveries.c
    outcome = case(
        (and_(t.state == "sent", t.attempts > 1), "retried"),  # attempts counts provider tries, the last one included
        (t.state == "sent", "sent"),
        (t.state == "retry", "retried"),
        (and_(t.state == "failed", t.last_error == UNCONFIRMED_REASON), "unconfirmed"),
        (t.state == "failed", "failed"),
        else_="pending",
    )
    day = _day(conn, t.updated_at)
    q = select(day, outcome, func.count()).where(t.updated_at >= since)
    if until is not None:
        q = q.where(t.updated_at < until)
    return [(str(d), str(o), int(n)) for d, o, n in (await conn.execute(q.group_by(day, outcome))).all()]


async def _outcomes(conn: AsyncConnection, have: set[str], now: datetime, engine: AsyncEngine) -> list[DayOutcomes]:
    today = now.astimezone(SHANGHAI).date()
    days = [(today - timedelta(days=i)).isoformat() for i in range(DAYS - 1, -1, -1)]
    if notification_deliveries.name not in have:
        return outcome_days(days, [])
    since = datetime.combine(today - timedelta(days=DAYS - 1), datetime.min.time(), SHANGHAI)
    midnight = datetime.combine(today, datetime.min.time(), SHANGHAI)
    cached = _past_days.get(engine)
    if cached is None or cached[1] != today.isoformat() or not timedelta(0) <= now - cached[0] < PAST_DAYS_TTL:
        cached = (now, today.isoformat(), await _count_outcomes(conn, since, midnight))
        _past_days[engine] = cached
    return outcome_days(days, cached[2] + await _count_outcomes(conn, midnight, None))


async def read_history(db: Database, now: datetime) -> StatusHistory:
    """Everything the pictures show. Never raises for empty or missing tables."""
    tables = [audit, state_table, incidents_table, merchants_table, probe_hours, probe_states,
              source_poll_hours, source_state, notification_deliveries]
    strip = hours_back(now, STRIP_HOURS)
    async with db.engine.connect() as conn:
        have = await present(conn, tables)
        cells = await _availability(conn, have, now)
        probes = await _hourly(conn, have, probe_hours, "probe_id", "checks", "latency_ms_sum", probe_states, strip)
        sources = await _hourly(conn, have, source_poll_hours, "source_id", "polls", None, source_state, strip)
        outcomes = await _outcomes(conn, have, now, db.engine)
    return StatusHistory(tuple(cells), probes, sources, tuple(outcomes))
