"""Per-probe, per-hour summaries of check results, kept in memory between saves (pure).

The status page draws a probe's uptime strip and latency sparkline from these. A check is never
written on its own: the watcher folds what :meth:`HourlySummaries.take` returns into one row per
(probe, hour) at each save (:func:`huabei_watch.db.upsert.accumulate`), so storage grows by one
row per probe per hour whatever the check interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from huabei_watch.events import ProbeObservation


def hour_of(at: datetime) -> datetime:
    """The UTC hour ``at`` falls in (Asia/Shanghai hours start at the same instants)."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass(slots=True)
class HourSummary:
    """Checks of one probe in one hour. Latency is summed over successful checks only."""

    probe_id: str
    hour: datetime
    checks: int = 0
    failures: int = 0
    latency_ms_sum: float = 0.0
    latency_ms_max: float = 0.0

    def add(self, obs: ProbeObservation) -> None:
        self.checks += 1
        if not obs.ok:
            self.failures += 1
        elif obs.latency_ms is not None:
            self.latency_ms_sum += obs.latency_ms
            self.latency_ms_max = max(self.latency_ms_max, obs.latency_ms)


class HourlySummaries:
    """Summaries not yet saved. ``take`` hands them over and starts afresh (the store adds them up)."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, datetime], HourSummary] = {}

    def add(self, probe_id: str, obs: ProbeObservation) -> None:
        key = (probe_id, hour_of(obs.at))
        summary = self._open.get(key)
        if summary is None:
            summary = self._open[key] = HourSummary(probe_id, key[1])
        summary.add(obs)

    def take(self) -> list[HourSummary]:
        out = list(self._open.values())
        self._open = {}
        return out

    def give_back(self, summaries: list[HourSummary]) -> None:
        """Re-queue summaries whose save failed, merged with what arrived meanwhile."""
        for s in summaries:
            held = self._open.get((s.probe_id, s.hour))
            if held is None:
                self._open[(s.probe_id, s.hour)] = s
                continue
            held.checks += s.checks
            held.failures += s.failures
            held.latency_ms_sum += s.latency_ms_sum
            held.latency_ms_max = max(held.latency_ms_max, s.latency_ms_max)
