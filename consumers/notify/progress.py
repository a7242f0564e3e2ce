"""Fan-out progress: which (incident, phase) has been told to everyone in scope.

A mark is written when a lane's stream ran through the whole registry for a phase, every delivery
of it finished (sent, duplicate, failed for good or left to the stored retries), none of its
messages was held for later (quiet hours) and merchants were not held back (silence, review).
Re-planning skips marked phases without reading the registry or reserving a key: a re-asserted
incident or a timer tick costs one query. The mark carries a digest of the incident's scope, so a
revision that widens the scope is planned again. Merchants added to the registry after a mark do
not get that phase (they get the next one).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Column, Integer, String, Table, select

from huabei_watch.db.engine import Database
from huabei_watch.db.tables import metadata
from huabei_watch.db.types import AwareDateTime
from huabei_watch.db.upsert import upsert
from huabei_watch.events import Incident

notify_fanout_done = Table(
    "notify_fanout_done",
    metadata,
    Column("incident_id", String(200), primary_key=True),
    Column("phase", String(64), primary_key=True),
    Column("scope_digest", String(64), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("done_at", AwareDateTime(), nullable=False),
)
T = notify_fanout_done


def scope_digest(incident: Incident) -> str:
    return hashlib.sha256(incident.scope.model_dump_json().encode("utf-8")).hexdigest()[:32]


class FanoutMarks:
    """The marks in the shared database (every notify process sees every mark)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def done(self, incident: Incident) -> frozenset[str]:
        """The phases of ``incident`` already told to everyone in its current scope."""
        digest = scope_digest(incident)

        async def work() -> frozenset[str]:
            async with self.db.engine.connect() as conn:
                rows = (await conn.execute(
                    select(T.c.phase).where(T.c.incident_id == incident.incident_id, T.c.scope_digest == digest)
                )).all()
            return frozenset(r.phase for r in rows)

        return await self.db.run(work)

    async def mark(self, incident: Incident, phases: Iterable[str], now: datetime) -> None:
        rows = [{"incident_id": incident.incident_id, "phase": p, "scope_digest": scope_digest(incident),
                 "revision": incident.revision, "done_at": now} for p in sorted(set(phases))]
        if not rows:
            return

        async def work() -> None:
            async with self.db.begin() as conn:
                for row in rows:
                    await upsert(conn, T, row, ["incident_id", "phase"])

        await self.db.run(work)
