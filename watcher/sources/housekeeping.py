"""The watcher's housekeeping: notices seen long ago, old per-hour poll and probe counts, and the
plugin-compatibility checker's old notices and cleared findings."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_

from huabei_watch.config.retention import RetentionSettings
from huabei_watch.db.engine import Database
from huabei_watch.db.prune import delete_in_batches
from watcher.compat.store import compat_advisories, compat_notices
from watcher.sources.probe_store import probe_hours
from watcher.sources.seen import seen_notices, source_poll_hours


async def prune_watcher(db: Database, retention: RetentionSettings, now: datetime) -> dict[str, int]:
    """Delete seen notices unchanged for ``retention.seen_notices`` and probe/poll hours older
    than ``retention.hourly_stats``; interface notices received and findings cleared (and
    published) before ``retention.seen_notices`` too — a raised finding stays whatever its age, and
    a cleared one raised again later is simply new. Returns rows deleted per table."""
    notices_before = now - timedelta(seconds=retention.seen_notices)
    hours_before = now - timedelta(seconds=retention.hourly_stats)
    return {
        "seen_notices": await delete_in_batches(db, seen_notices, seen_notices.c.updated_at < notices_before),
        "probe_hours": await delete_in_batches(db, probe_hours, probe_hours.c.hour < hours_before),
        "source_poll_hours": await delete_in_batches(db, source_poll_hours, source_poll_hours.c.hour < hours_before),
        "compat_notices": await delete_in_batches(db, compat_notices, compat_notices.c.received_at < notices_before),
        "compat_advisories": await delete_in_batches(db, compat_advisories, and_(
            compat_advisories.c.state == "cleared", compat_advisories.c.published_at.is_not(None),
            compat_advisories.c.updated_at < notices_before)),
    }
