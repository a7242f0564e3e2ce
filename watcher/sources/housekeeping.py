"""The watcher's housekeeping: notices seen long ago, and old per-hour poll and probe counts."""

from __future__ import annotations

from datetime import datetime, timedelta

from huabei_watch.config.retention import RetentionSettings
from huabei_watch.db.engine import Database
from huabei_watch.db.prune import delete_in_batches
from watcher.sources.probe_store import probe_hours
from watcher.sources.seen import seen_notices, source_poll_hours


async def prune_watcher(db: Database, retention: RetentionSettings, now: datetime) -> dict[str, int]:
    """Delete seen notices unchanged for ``retention.seen_notices`` and probe/poll hours older
    than ``retention.hourly_stats``; returns rows deleted per table."""
    notices_before = now - timedelta(seconds=retention.seen_notices)
    hours_before = now - timedelta(seconds=retention.hourly_stats)
    return {
        "seen_notices": await delete_in_batches(db, seen_notices, seen_notices.c.updated_at < notices_before),
        "probe_hours": await delete_in_batches(db, probe_hours, probe_hours.c.hour < hours_before),
        "source_poll_hours": await delete_in_batches(db, source_poll_hours, source_poll_hours.c.hour < hours_before),
    }
