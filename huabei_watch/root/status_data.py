"""What the status page shows, read from the database (SQLAlchemy Core selects only).

Every reader tolerates empty tables, and a table that does not exist yet (a process that never ran
the role that owns it) reads as empty with ``missing`` set, so the page always renders.
All times are returned aware; the page converts them to Asia/Shanghai.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, Table, and_, func, inspect, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from consumers.cashier.model import CashierState
from consumers.cashier.reconcile import effective
from consumers.cashier.store import PLATFORM, state_from_json, state_table
from consumers.incidents.store import incidents_table
from consumers.notify.store import notification_deliveries
from huabei_watch.db.engine import Database
from huabei_watch.events import Incident, Phase
from huabei_watch.merchants.registry import merchants_table
from watcher.sources.probe_state import ProbeState
from watcher.sources.probe_store import probe_states
from watcher.sources.seen import source_state

PAGE_SIZE = 50
RECENT_DELIVERIES = 50


@dataclass(frozen=True, slots=True)
class OffMerchant:
    """One merchant whose Huabei is off. ``why``: ``platform``, ``merchant`` (own incident) or ``pinned``."""

    merchant_id: str
    name: str
    mode: str
    why: str
    channels: tuple[str, ...]
    until: datetime | None
    reason: str


@dataclass(frozen=True, slots=True)
class OffPage:
    """Merchants with Huabei off: ``total`` overall, ``matching`` the filter ``q``, one page of rows."""

    total: int
    matching: int
    q: str
    page: int
    pages: int
    rows: tuple[OffMerchant, ...]


@dataclass(frozen=True, slots=True)
class SourceHealth:
    source_id: str
    last_poll_at: datetime | None
    initialized: bool
    consecutive_failures: int
    failing_since: datetime | None
    degraded: bool
    last_error: str

    @property
    def health(self) -> str:
        if self.degraded:
            return "degraded"
        if self.consecutive_failures:
            return "failing"
        return "ok" if self.initialized else "pending"


@dataclass(frozen=True, slots=True)
class ProbeHealth:
    probe_id: str
    health: str
    since: datetime | None
    last_at: datetime | None
    last_ok: bool | None
    last_detail: str
    latency_ms: float | None


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    key: str
    state: str
    recipient: str
    channel: str
    attempts: int
    last_error: str
    updated_at: datetime | None
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class StatusData:
    incidents: tuple[Incident, ...]
    platform: CashierState
    off: OffPage
    sources: tuple[SourceHealth, ...]
    probes: tuple[ProbeHealth, ...]
    deliveries: tuple[DeliveryRow, ...]
    delivery_counts: tuple[tuple[str, int], ...]
    missing: tuple[str, ...]


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


async def _present(conn: AsyncConnection, tables: list[Table]) -> set[str]:
    def names(sync: Any) -> set[str]:
        insp = inspect(sync)
        return {t.name for t in tables if insp.has_table(t.name)}

    return await conn.run_sync(names)


async def _incidents(conn: AsyncConnection) -> tuple[Incident, ...]:
    rows = (
        await conn.execute(
            select(incidents_table.c.data).where(incidents_table.c.phase.in_([Phase.SCHEDULED.value, Phase.ACTIVE.value]))
        )
    ).all()
    out: list[Incident] = []
    for (data,) in rows:
        try:
            out.append(Incident.model_validate(data))
        except ValidationError:
            continue  # a row from another version of the contract: not worth breaking the page
    far = datetime.max.replace(tzinfo=UTC)
    return tuple(sorted(out, key=lambda i: (i.phase is not Phase.ACTIVE, i.starts_at or far, i.incident_id)))


async def _switches(conn: AsyncConnection, now: datetime) -> tuple[CashierState, dict[str, CashierState]]:
    """The platform switch and every merchant-specific switch that is off at ``now``."""
    platform = CashierState(merchant_id=PLATFORM)
    own: dict[str, CashierState] = {}
    for subject, data in (await conn.execute(select(state_table.c.subject, state_table.c.data))).all():
        state = effective(state_from_json(data), now)
        if subject == PLATFORM:
            platform = state
        elif state.channels:
            own[subject] = state
    return platform, own


async def _off_merchants(
    conn: AsyncConnection, platform: CashierState, own: dict[str, CashierState], q: str, page: int
) -> OffPage:
    m = merchants_table.c
    conds: list[ColumnElement[bool]] = [m.mode == "pinned_off"]
    if own:
        conds.append(m.id.in_(sorted(own)))
    if platform.channels:
        conds.append(m.mode == "auto")
    off = or_(*conds)
    total = int((await conn.execute(select(func.count()).select_from(merchants_table).where(off))).scalar_one())
    where = off
    if q:
        needle = q.lower()
        where = and_(off, or_(func.lower(m.id).contains(needle, autoescape=True), func.lower(m.name).contains(needle, autoescape=True)))
    matching = total if not q else int(
        (await conn.execute(select(func.count()).select_from(merchants_table).where(where))).scalar_one()
    )
    pages = max(1, -(-matching // PAGE_SIZE))
    page = min(max(page, 1), pages)
    rows = (
        await conn.execute(
            select(m.id, m.name, m.mode).where(where).order_by(m.id).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
        )
    ).all()
    out: list[OffMerchant] = []
    for mid, name, mode in rows:
        if mid in own:
            s = own[mid]
            out.append(OffMerchant(mid, name or "", mode, "merchant", s.channels, s.expected_until or s.until, s.reason))
        elif mode == "pinned_off":
            out.append(OffMerchant(mid, name or "", mode, "pinned", (), None, "pinned_off"))
        else:
            until = platform.expected_until or platform.until
            out.append(OffMerchant(mid, name or "", mode, "platform", platform.channels, until, platform.reason))
    return OffPage(total, matching, q, page, pages, tuple(out))


async def _sources(conn: AsyncConnection) -> tuple[SourceHealth, ...]:
    rows = (await conn.execute(select(source_state).order_by(source_state.c.source_id))).mappings().all()
    return tuple(
        SourceHealth(
            source_id=r["source_id"],
            last_poll_at=_aware(r["last_poll_at"]),
            initialized=r["initialized_at"] is not None,
            consecutive_failures=int(r["consecutive_failures"] or 0),
            failing_since=_aware(r["failing_since"]),
            degraded=bool(r["degraded"]),
            last_error=r["last_error"] or "",
        )
        for r in rows
    )


async def _probes(conn: AsyncConnection) -> tuple[ProbeHealth, ...]:
    rows = (await conn.execute(select(probe_states).order_by(probe_states.c.probe_id))).all()
    out = []
    for probe_id, data in rows:
        try:
            st = ProbeState.model_validate(data)
        except ValueError:
            continue
        last = st.last
        out.append(ProbeHealth(
            probe_id=probe_id, health=st.health.value, since=st.since, last_at=last.at if last else None,
            last_ok=last.ok if last else None, last_detail=last.detail if last else "",
            latency_ms=last.latency_ms if last else None,
        ))
    return tuple(out)


async def _deliveries(conn: AsyncConnection) -> tuple[tuple[DeliveryRow, ...], tuple[tuple[str, int], ...]]:
    t = notification_deliveries
    rows = (await conn.execute(select(t).order_by(t.c.updated_at.desc()).limit(RECENT_DELIVERIES))).mappings().all()
    counts = (await conn.execute(select(t.c.state, func.count()).group_by(t.c.state).order_by(t.c.state))).all()
    recent = tuple(
        DeliveryRow(
            key=r["dedupe_key"], state=r["state"], recipient=r["recipient"], channel=r["channel"],
            attempts=int(r["attempts"]), last_error=r["last_error"] or "", updated_at=r["updated_at"], sent_at=r["sent_at"],
        )
        for r in rows
    )
    return recent, tuple((str(s), int(n)) for s, n in counts)


async def read_status(db: Database, now: datetime, *, q: str = "", page: int = 1) -> StatusData:
    """Everything the page shows, in one read-only connection. Never raises for empty or missing
    tables; database errors propagate (the page answers 503)."""
    q = q.strip()[:100]
    tables = [incidents_table, state_table, merchants_table, source_state, probe_states, notification_deliveries]
    async with db.engine.connect() as conn:
        have = await _present(conn, tables)
        incidents = await _incidents(conn) if incidents_table.name in have else ()
        platform = CashierState(merchant_id=PLATFORM)
        own: dict[str, CashierState] = {}
        if state_table.name in have:
            platform, own = await _switches(conn, now)
        off = OffPage(0, 0, q, 1, 1, ())
        if merchants_table.name in have:
            off = await _off_merchants(conn, platform, own, q, page)
        sources = await _sources(conn) if source_state.name in have else ()
        probes = await _probes(conn) if probe_states.name in have else ()
        deliveries: tuple[DeliveryRow, ...] = ()
        counts: tuple[tuple[str, int], ...] = ()
        if notification_deliveries.name in have:
            deliveries, counts = await _deliveries(conn)
    missing = tuple(t.name for t in tables if t.name not in have)
    return StatusData(incidents, platform, off, sources, probes, deliveries, counts, missing)
