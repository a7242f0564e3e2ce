"""Incidents in the database, with an outbox: a revision is stored first, published after."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Integer, String, Table, select, update

from huabei_watch.db.engine import Database
from huabei_watch.db.tables import metadata
from huabei_watch.db.types import AwareDateTime
from huabei_watch.db.upsert import upsert
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
        async def work() -> None:
            async with self.db.begin() as conn:
                await conn.execute(
                    incidents_table.delete()
                    .where(incidents_table.c.phase.in_(["resolved", "cancelled"]))
                    .where(incidents_table.c.updated_at < when)
                    .where(incidents_table.c.published_revision >= incidents_table.c.revision)
                )

        await self.db.run(work)
