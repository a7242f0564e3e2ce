"""Record every consumed signal once (by event id): the audit trail of what the watcher saw."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, String, Table

from huabei_watch.db.engine import Database
from huabei_watch.db.prune import delete_in_batches
from huabei_watch.db.tables import metadata
from huabei_watch.db.types import AwareDateTime
from huabei_watch.db.upsert import insert_if_absent
from huabei_watch.events import Event, EventData

#: The signal log: what the watcher published, as the incidents role consumed it.
signal_log = Table(
    "signal_log",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("type", String(100), nullable=False),
    Column("key", String(300), nullable=False),
    Column("subject", String(300)),
    Column("time", AwareDateTime(), nullable=False),
    Column("received_at", AwareDateTime(), nullable=False),
    Column("data", JSON, nullable=False),
)
Index("ix_signal_log_time", signal_log.c.time)


async def record_signal(db: Database, event: Event[EventData], received_at: datetime) -> bool:
    """Store the signal; True if it was new. A redelivered event (same id) changes nothing."""

    async def work() -> bool:
        async with db.begin() as conn:
            return await insert_if_absent(
                conn,
                signal_log,
                {
                    "event_id": event.id,
                    "type": event.type,
                    "key": event.key,
                    "subject": event.subject,
                    "time": event.time,
                    "received_at": received_at,
                    "data": event.data.model_dump(mode="json"),
                },
                ["event_id"],
            )

    return await db.run(work)


async def prune_signals(db: Database, before: datetime) -> int:
    """Delete signals whose event time is before ``before``; returns how many went. A signal
    redelivered after that is recorded again (the engine, not this log, decides what it changes)."""
    return await delete_in_batches(db, signal_log, signal_log.c.time < before)
