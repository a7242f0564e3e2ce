"""What the status page's pictures show, computed from history rows (pure: no I/O).

* Huabei availability at the cashier, hour by hour: from the cashier's switch changes (each row
  says a switch went off or on, and for which incidents). A switch is taken as off from its change
  until the next change of the same switch; the last "off" ends now, or at its expiry if it lapsed
  (fail open). The share of merchants uses today's registry (the registry keeps no history).
* Probe and source strips: from hourly summaries; notification outcomes: from daily counts.

Hours are whole UTC hours, which start at the same instants as Asia/Shanghai hours.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

HOUR = timedelta(hours=1)
PLATFORM = "*"


def hour_floor(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hours_back(now: datetime, count: int) -> list[datetime]:
    """The ``count`` hours ending with the one ``now`` is in, oldest first."""
    last = hour_floor(now)
    return [last - HOUR * i for i in range(count - 1, -1, -1)]


@dataclass(frozen=True, slots=True)
class SwitchRow:
    """One switch change: ``subject`` ``"*"`` (platform) or a merchant id; ``off`` after it."""

    subject: str
    at: datetime
    off: bool
    incident_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Span:
    subject: str
    start: datetime
    end: datetime
    incident_ids: tuple[str, ...]


def off_spans(rows: Iterable[SwitchRow], last_end: Mapping[str, datetime], since: datetime) -> list[Span]:
    """Spans each switch was off, clipped to start at ``since``. ``rows`` may include the last change
    before ``since`` of each switch (it says how the switch stood then). ``last_end[subject]`` is
    when the switch's newest "off" ends (now while it holds, its expiry if it lapsed)."""
    by_subject: dict[str, list[SwitchRow]] = defaultdict(list)
    for r in rows:
        by_subject[r.subject].append(r)
    spans: list[Span] = []
    for subject, changes in by_subject.items():
        changes.sort(key=lambda r: r.at)
        for i, r in enumerate(changes):
            if not r.off:
                continue
            end = changes[i + 1].at if i + 1 < len(changes) else last_end.get(subject, r.at)
            start = max(r.at, since)
            if end > start:
                spans.append(Span(subject, start, end, r.incident_ids))
    return spans


@dataclass(frozen=True, slots=True)
class HourCell:
    """One hour of Huabei at the cashier. ``state``: ``on``, ``partial`` (some merchants off by
    their own incidents), or the kind of the incident behind the platform switch (``maintenance``,
    ``outage``, ``other``)."""

    start: datetime
    state: str
    platform_minutes: float
    incident_id: str | None
    merchants_off: int
    share: float


def _overlap(span: Span, start: datetime, end: datetime) -> float:
    return max(0.0, (min(span.end, end) - max(span.start, start)).total_seconds())


def availability(
    spans: Sequence[Span],
    hours: Sequence[datetime],
    *,
    kinds: Mapping[str, str],
    modes: Mapping[str, str],
    auto_count: int,
    pinned_off: int,
    total: int,
) -> list[HourCell]:
    """One cell per hour. ``kinds``: incident id -> kind; ``modes``: merchant id -> mode for the
    merchant switches in ``spans``; counts from the registry."""
    cells: list[HourCell] = []
    for start in hours:
        end = start + HOUR
        weight: dict[str, float] = defaultdict(float)
        platform_seconds = 0.0
        own_off: set[str] = set()
        own_weight: dict[str, float] = defaultdict(float)
        for s in spans:
            seconds = _overlap(s, start, end)
            if seconds <= 0:
                continue
            if s.subject == PLATFORM:
                platform_seconds += seconds
                for iid in s.incident_ids:
                    weight[iid] += seconds
            else:
                own_off.add(s.subject)
                for iid in s.incident_ids:
                    own_weight[iid] += seconds
        platform_off = platform_seconds > 0
        merchants = pinned_off + len(own_off)
        if platform_off:
            merchants += auto_count - sum(1 for m in own_off if modes.get(m) == "auto")
        top = max(weight or own_weight, key=lambda k: (weight or own_weight)[k], default=None)
        if platform_off:
            kind = kinds.get(top, "other") if top else "other"
            state = kind if kind in ("maintenance", "outage") else "other"
        else:
            state = "partial" if own_off else "on"
        cells.append(HourCell(start, state, platform_seconds / 60, top, merchants, merchants / total if total else 0.0))
    return cells


@dataclass(frozen=True, slots=True)
class Tally:
    """Checks (or polls) in one hour: ``state`` ``none`` (no data), ``ok``, ``some`` failed, ``down``."""

    start: datetime
    count: int
    failures: int
    latency_ms: float | None = None

    @property
    def state(self) -> str:
        if self.count == 0:
            return "none"
        if self.failures == 0:
            return "ok"
        return "down" if self.failures >= self.count else "some"


def tallies(hours: Sequence[datetime], rows: Mapping[datetime, tuple[int, int, float]]) -> list[Tally]:
    """One tally per hour from ``rows``: hour -> (count, failures, latency sum of the successes)."""
    out: list[Tally] = []
    for h in hours:
        count, failures, latency_sum = rows.get(h, (0, 0, 0.0))
        ok = count - failures
        out.append(Tally(h, count, failures, latency_sum / ok if ok > 0 and latency_sum > 0 else None))
    return out


OUTCOMES = ("sent", "retried", "failed", "unconfirmed")


@dataclass(frozen=True, slots=True)
class DayOutcomes:
    day: str  # YYYY-MM-DD, Asia/Shanghai
    counts: tuple[tuple[str, int], ...]  # in OUTCOMES order

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)


def outcome_days(days: Sequence[str], rows: Iterable[tuple[str, str, int]]) -> list[DayOutcomes]:
    """One entry per day of ``days`` from ``(day, outcome, count)`` rows (outcomes outside
    :data:`OUTCOMES` are ignored)."""
    table: dict[str, dict[str, int]] = {d: dict.fromkeys(OUTCOMES, 0) for d in days}
    for day, outcome, n in rows:
        if day in table and outcome in table[day]:
            table[day][outcome] += n
    return [DayOutcomes(d, tuple((o, table[d][o]) for o in OUTCOMES)) for d in days]
