"""Record every consumed signal once (by event id): the audit trail of what the watcher saw."""

from __future__ import annotations

from datetime import datetime

from watcher.events import Event, EventData
from watcher.state.db import Database
from watcher.state.records import signal_log
from watcher.state.upsert import insert_if_absent


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
