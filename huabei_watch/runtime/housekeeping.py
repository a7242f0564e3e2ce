"""The daily housekeeping job of each role: delete what the retention settings let go.

Each role hands :func:`schedule_housekeeping` its ``prune(now)``, which deletes with the role's
own store methods and returns how many rows left each table. The job runs a minute after start
(a daemon restarted more often than daily still prunes), then every ``retention.prune_every``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from huabei_watch.clock import Clock
from huabei_watch.errors import HuabeiWatchError

log = logging.getLogger(__name__)

#: A role's pruning: deletes what is older than its retention, returns rows deleted per table.
Prune = Callable[[datetime], Awaitable[dict[str, int]]]

FIRST_RUN_AFTER = timedelta(minutes=1)


async def run_housekeeping(role: str, prune: Prune, clock: Clock) -> dict[str, int] | None:
    """One pass; logs ``housekeeping.pruned`` with the count per table, or ``housekeeping.failed``
    with the reason (a database error is retried at the next pass, never raised). None on failure."""
    try:
        counts = await prune(clock.now())
    except HuabeiWatchError as exc:
        log.warning("housekeeping.failed", extra={"role": role, "reason": str(exc)})
        return None
    log.info("housekeeping.pruned", extra={"role": role, **{f"deleted_{k}": v for k, v in counts.items()}})
    return counts


def schedule_housekeeping(
    scheduler: AsyncIOScheduler, role: str, prune: Prune, *, every: float, clock: Clock
) -> None:
    """Run :func:`run_housekeeping` for ``role`` every ``every`` seconds, first a minute from now."""
    scheduler.add_job(
        run_housekeeping, "interval", args=(role, prune, clock), seconds=every, id=f"{role}:housekeeping",
        replace_existing=True, misfire_grace_time=3600, coalesce=True, max_instances=1,
        # The scheduler runs on wall time, so its first run is set on wall time too (``clock`` is
        # what the pass itself reads as "now").
        next_run_time=datetime.now(UTC) + FIRST_RUN_AFTER,
    )
