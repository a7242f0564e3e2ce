"""One health tracker for every poller: announcement sources, health probes, the pre-order probe.

The pattern of Home Assistant's update coordinator: a poller runs every ``interval`` (plus up to
``jitter`` seconds, so pollers started together drift apart), counts consecutive failures, and
logs once when what it polls becomes unavailable and once when it is back -- not at every failed
poll. ``fail_after`` consecutive failures make it unavailable, ``recover_after`` consecutive
successes make it available again (1 and 1 for a plain poller; a health probe uses its failure and
success thresholds).

Pure apart from the two log lines: the state is a frozen :class:`PollHealth` value passed in and
returned, and time comes in as ``now``, so a poller may keep the state in memory or rebuild it
from what it stored (several replicas polling one source share the stored streak).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True)
class PollHealth:
    """Where one poller stands. ``failures``: consecutive failed polls; ``failing_since``: the first
    of them; ``successes``: consecutive good polls while still unavailable."""

    failures: int = 0
    failing_since: datetime | None = None
    successes: int = 0
    unavailable: bool = False
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class PollTracker:
    """The rules of one poller: what it is (``kind``, ``name``: for the logs), how often it runs,
    and how many polls in a row change its availability."""

    kind: str
    name: str
    interval: float
    jitter: float = 0.0
    fail_after: int = 1
    recover_after: int = 1

    def __post_init__(self) -> None:
        if self.interval <= 0 or self.jitter < 0:
            raise ValueError("interval must be positive and jitter not negative")
        if self.fail_after < 1 or self.recover_after < 1:
            raise ValueError("fail_after and recover_after must be at least 1")

    def job(self) -> dict[str, Any]:
        """APScheduler 3 ``add_job`` arguments: an interval trigger with this poller's jitter."""
        return {"trigger": "interval", "seconds": self.interval, "jitter": self.jitter or None}

    def failed(self, health: PollHealth, now: datetime, reason: str) -> PollHealth:
        """One failed poll at ``now``. Logs ``poller.unavailable`` (warning) on the poll that makes
        it unavailable, and only then."""
        after = replace(
            health, failures=health.failures + 1, failing_since=health.failing_since or now, successes=0,
            last_error=reason,
        )
        if not health.unavailable and after.failures >= self.fail_after:
            after = replace(after, unavailable=True)
            log.warning(
                "poller.unavailable",
                extra={"kind": self.kind, "poller": self.name, "failures": after.failures,
                       "since": (after.failing_since or now).isoformat(), "reason": reason[:500]},
            )
        return after

    def succeeded(self, health: PollHealth, now: datetime) -> PollHealth:
        """One good poll at ``now``. Logs ``poller.back`` (info) on the poll that makes an
        unavailable poller available again, and only then."""
        if not health.unavailable:
            return PollHealth()
        successes = health.successes + 1
        if successes < self.recover_after:
            return replace(health, failures=0, successes=successes)
        since = health.failing_since
        log.info(
            "poller.back",
            extra={"kind": self.kind, "poller": self.name,
                   "unavailable_s": round((now - since).total_seconds(), 3) if since else None},
        )
        return PollHealth()
