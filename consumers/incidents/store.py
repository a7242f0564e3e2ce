"""Incidents in the database, with an outbox: a revision is stored first, published after.

Three tables: ``incidents`` (the published snapshot and how far it was published),
``incident_marks`` (each source's latest state) and ``incident_events`` (ids of the last events
applied). The last two are the engine's :class:`~consumers.incidents.ledger.Ledger`: typed state
that is never published; :meth:`IncidentStore.save` writes an incident and its ledger in one
transaction, :meth:`IncidentStore.load_recent` gives them back to restore the engine.

``incident_changes`` keeps one row per revision that changed an incident's phase or window (not
per evidence line), so its timeline can be shown after later revisions replaced the snapshot;
its rows go with the incident when :meth:`IncidentStore.delete_closed_before` removes it.
The role restores only open and recently closed incidents (:meth:`IncidentStore.load_recent`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from consumers.incidents.ledger import IncidentRecord, Ledger, Mark
from huabei_watch.db.engine import Database
from huabei_watch.db.tables import metadata
from huabei_watch.db.types import AwareDateTime
from huabei_watch.db.upsert import insert_if_absent, upsert
from huabei_watch.events import Incident
from huabei_watch.lease import Fence, check_fence

#: Longest wait for a lock per attempt to store incidents (seconds).
LOCK_WAIT = 2.0

incidents_table = Table(
    "incidents",
    metadata,
    Column("incident_id", String(200), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("phase", String(20), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("published_revision", Integer, nullable=False, default=0),
    Column("data", JSON, nullable=False),
    Column("updated_at", AwareDateTime(), nullable=False),
    Index("ix_incidents_phase_updated_at", "phase", "updated_at"),
)

#: Phase and window changes of each incident (timeline), one row per such revision.
incident_changes = Table(
    "incident_changes",
    metadata,
    Column("incident_id", String(200), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("at", AwareDateTime(), nullable=False),
    Column("phase", String(20), nullable=False),
    Column("starts_at", AwareDateTime()),
    Column("ends_at", AwareDateTime()),
    Column("needs_review", Boolean, nullable=False),
)


async def _note_change(conn: AsyncConnection, inc: Incident) -> None:
    """Record ``inc``'s revision in ``incident_changes`` if its phase, window or review flag differ
    from the stored snapshot's (or it is new)."""
    row = (await conn.execute(select(incidents_table.c.data).where(incidents_table.c.incident_id == inc.incident_id))).first()
    if row is not None:
        try:
            old = Incident.model_validate(row[0])
        except ValidationError:
            old = None  # a snapshot from another version of the contract: record this revision
        if old is not None and (
            old.revision >= inc.revision
            or (old.phase, old.starts_at, old.ends_at, old.needs_review) == (inc.phase, inc.starts_at, inc.ends_at, inc.needs_review)
        ):
            return
    await insert_if_absent(
        conn, incident_changes,
        {"incident_id": inc.incident_id, "revision": inc.revision, "at": inc.updated_at, "phase": inc.phase.value,
         "starts_at": inc.starts_at, "ends_at": inc.ends_at, "needs_review": inc.needs_review},
        ["incident_id", "revision"],
    )


#: The latest state of each source of an incident (``probe:gw`` down as of ...), in ledger order.
incident_marks = Table(
    "incident_marks",
    metadata,
    Column("incident_id", String(200), primary_key=True),
    Column("ref", Text, primary_key=True),
    Column("position", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("as_of", AwareDateTime(), nullable=False),
)

#: Ids of the last events that changed an incident (a redelivered one changes nothing), oldest first.
incident_events = Table(
    "incident_events",
    metadata,
    Column("incident_id", String(200), primary_key=True),
    Column("event_id", String(100), primary_key=True),
    Column("position", Integer, nullable=False),
)


#: Incidents in a final phase (the engine's ``Phase.is_open`` is false for exactly these).
_CLOSED = incidents_table.c.phase.in_(["resolved", "cancelled"])


class IncidentStore:
    def __init__(self, db: Database, *, fence: Fence | None = None) -> None:
        """``fence``: the incidents lease this process holds; :meth:`save` writes nothing once it
        is superseded (TransientError: a former leader that woke up cannot overwrite the new one)."""
        self.db = db
        self.fence = fence

    async def save(self, records: list[IncidentRecord], *, retry_for: float | None = None) -> None:
        """Store each incident (as not yet published) and its ledger, all in one transaction.
        ``retry_for``: give up (TransientError) after that many seconds of a locked or failing
        database; each attempt waits at most :data:`LOCK_WAIT` for a lock, so nothing commits
        after the caller was told it failed."""
        if not records:
            return

        async def work() -> None:
            async with self.db.begin(wait=LOCK_WAIT) as conn:
                await check_fence(conn, self.fence)
                for record in records:
                    inc = record.incident
                    await _note_change(conn, inc)
                    await upsert(
                        conn,
                        incidents_table,
                        {
                            "incident_id": inc.incident_id,
                            "kind": inc.kind.value,
                            "phase": inc.phase.value,
                            "revision": inc.revision,
                            "data": inc.model_dump(mode="json"),
                            "updated_at": inc.updated_at,
                        },
                        ["incident_id"],
                    )
                    await _save_ledger(conn, inc.incident_id, record.ledger)

        await self.db.run(work, retry_for=retry_for)

    async def load_recent(self, closed_since: datetime) -> list[IncidentRecord]:
        """Open incidents, and closed ones last changed at or after ``closed_since``, with their
        ledgers (an incident without one gets an empty ledger): what the engine is rebuilt from at
        start (older closed ones stay in the database for the pages until pruned)."""
        wanted = select(incidents_table.c.incident_id).where(
            or_(~_CLOSED, incidents_table.c.updated_at >= closed_since)
        )

        async def work() -> list[IncidentRecord]:
            async with self.db.engine.connect() as conn:
                rows = (await conn.execute(select(incidents_table.c.data).where(incidents_table.c.incident_id.in_(wanted)))).all()
                marks = (await conn.execute(
                    select(incident_marks).where(incident_marks.c.incident_id.in_(wanted)).order_by(incident_marks.c.position)
                )).all()
                events = (await conn.execute(
                    select(incident_events).where(incident_events.c.incident_id.in_(wanted)).order_by(incident_events.c.position)
                )).all()
            by_id: dict[str, tuple[list[Mark], list[str]]] = {}
            for m in marks:
                by_id.setdefault(m.incident_id, ([], []))[0].append(Mark(m.ref, m.state, m.as_of))
            for e in events:
                by_id.setdefault(e.incident_id, ([], []))[1].append(e.event_id)
            records = []
            for (data,) in rows:
                incident = Incident.model_validate(data)
                held_marks, held_events = by_id.get(incident.incident_id, ([], []))
                records.append(IncidentRecord(incident, Ledger(tuple(held_marks), tuple(held_events))))
            return records

        return await self.db.run(work)

    async def unpublished(self) -> list[Incident]:
        async def work() -> list[Incident]:
            async with self.db.engine.connect() as conn:
                rows = (
                    await conn.execute(
                        select(incidents_table.c.data)
                        .where(incidents_table.c.published_revision < incidents_table.c.revision)
                        .order_by(incidents_table.c.updated_at)
                    )
                ).all()
            return [Incident.model_validate(r[0]) for r in rows]

        return await self.db.run(work)

    async def mark_published(self, incident: Incident) -> None:
        async def work() -> None:
            async with self.db.begin() as conn:
                await conn.execute(
                    update(incidents_table)
                    .where(incidents_table.c.incident_id == incident.incident_id)
                    .where(incidents_table.c.published_revision < incident.revision)
                    .values(published_revision=incident.revision)
                )

        await self.db.run(work)

    async def delete_closed_before(self, when: datetime, *, batch: int = 500) -> int:
        """Delete closed, published incidents last changed before ``when``, with their timeline and
        ledger rows, ``batch`` incidents per transaction. Returns how many incidents went."""

        async def work() -> int:
            async with self.db.begin() as conn:
                closed = (
                    select(incidents_table.c.incident_id)
                    .where(_CLOSED)
                    .where(incidents_table.c.updated_at < when)
                    .where(incidents_table.c.published_revision >= incidents_table.c.revision)
                    .limit(batch)
                )
                ids = [r[0] for r in (await conn.execute(closed)).all()]
                if ids:
                    for table in (incident_changes, incident_marks, incident_events):
                        await conn.execute(table.delete().where(table.c.incident_id.in_(ids)))
                    await conn.execute(incidents_table.delete().where(incidents_table.c.incident_id.in_(ids)))
                return len(ids)

        total = 0
        while (n := await self.db.run(work)) > 0:
            total += n
            if n < batch:
                break
        return total


async def _save_ledger(conn: AsyncConnection, incident_id: str, ledger: Ledger) -> None:
    """Replace the stored ledger of one incident (a few marks and at most 32 event ids)."""
    await conn.execute(delete(incident_marks).where(incident_marks.c.incident_id == incident_id))
    await conn.execute(delete(incident_events).where(incident_events.c.incident_id == incident_id))
    marks: list[dict[str, Any]] = [
        {"incident_id": incident_id, "ref": m.ref, "position": i, "state": m.state, "as_of": m.as_of}
        for i, m in enumerate(ledger.marks)
    ]
    events: list[dict[str, Any]] = [
        {"incident_id": incident_id, "event_id": e, "position": i} for i, e in enumerate(ledger.event_ids)
    ]
    if marks:
        await conn.execute(insert(incident_marks), marks)
    if events:
        await conn.execute(insert(incident_events), events)
