"""Incidents in the database, with an outbox: a revision is stored first, published after.

``incident_changes`` keeps one row per revision that changed an incident's phase or window (not
per evidence line), so its timeline can be shown after later revisions replaced the snapshot;
its rows go with the incident when :meth:`IncidentStore.delete_closed_before` removes it."""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import JSON, Boolean, Column, Integer, String, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from huabei_watch.db.engine import Database
from huabei_watch.db.tables import metadata
from huabei_watch.db.types import AwareDateTime
from huabei_watch.db.upsert import insert_if_absent, upsert
from huabei_watch.events import Incident

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


class IncidentStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def save(self, incidents: list[Incident], *, retry_for: float | None = None) -> None:
        """Store the revisions in one transaction. ``retry_for``: give up (TransientError) after
        that many seconds of a locked or failing database; each attempt waits at most
        :data:`LOCK_WAIT` for a lock, so nothing commits after the caller was told it failed."""
        if not incidents:
            return

        async def work() -> None:
            async with self.db.begin(wait=LOCK_WAIT) as conn:
                for inc in incidents:
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

        await self.db.run(work, retry_for=retry_for)

    async def load_all(self) -> list[Incident]:
        async def work() -> list[Incident]:
            async with self.db.engine.connect() as conn:
                rows = (await conn.execute(select(incidents_table.c.data))).all()
            return [Incident.model_validate(r[0]) for r in rows]

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

    async def delete_closed_before(self, when: datetime) -> None:
        """Delete closed, published incidents last changed before ``when``, with their timeline rows."""

        async def work() -> None:
            async with self.db.begin() as conn:
                closed = (
                    select(incidents_table.c.incident_id)
                    .where(incidents_table.c.phase.in_(["resolved", "cancelled"]))
                    .where(incidents_table.c.updated_at < when)
                    .where(incidents_table.c.published_revision >= incidents_table.c.revision)
                )
                ids = [r[0] for r in (await conn.execute(closed)).all()]
                for start in range(0, len(ids), 500):
                    chunk = ids[start:start + 500]
                    await conn.execute(incident_changes.delete().where(incident_changes.c.incident_id.in_(chunk)))
                    await conn.execute(incidents_table.delete().where(incidents_table.c.incident_id.in_(chunk)))

        await self.db.run(work)
