"""Bucketed sliding-window counters: what the detector keeps instead of raw results.

A :class:`Series` holds one bucket per ``bucket_s`` seconds that saw traffic; each bucket counts
attempts, failures by cause and failures by code (capped per bucket, the rest under ``"other"``).
Memory is proportional to the buckets with traffic inside the window, never to the number of
results. Internal, mutable, owned by one :class:`~watcher.payments.detector.Detector`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from huabei_watch.events.common import Cause

OTHER_CODES = "other"


@dataclass(slots=True)
class Bucket:
    """Counts of one bucket. The per-cause maps exist only once a failure was counted."""

    attempts: int = 0
    failures: int = 0
    by_cause: dict[Cause, int] | None = None
    codes: dict[Cause, dict[str, int]] | None = None

    def add(self, cause: Cause | None, label: str, max_codes: int) -> None:
        self.attempts += 1
        if cause is None:
            return
        self.failures += 1
        if self.by_cause is None or self.codes is None:
            self.by_cause, self.codes = {}, {}
        self.by_cause[cause] = self.by_cause.get(cause, 0) + 1
        codes = self.codes.setdefault(cause, {})
        if label not in codes and len(codes) >= max_codes:
            label = OTHER_CODES
        codes[label] = codes.get(label, 0) + 1


@dataclass(slots=True)
class Totals:
    """Sums over the buckets of a window (or over several series)."""

    attempts: int = 0
    failures: int = 0
    by_cause: dict[Cause, int] = field(default_factory=dict)
    codes: dict[Cause, dict[str, int]] = field(default_factory=dict)

    def failed(self, cause: Cause) -> int:
        return self.by_cause.get(cause, 0)

    def rate(self, cause: Cause) -> float:
        return self.failed(cause) / self.attempts if self.attempts else 0.0

    def merge(self, other: Bucket | Totals, *, with_codes: bool) -> None:
        self.attempts += other.attempts
        self.failures += other.failures
        if other.by_cause:
            for cause, n in other.by_cause.items():
                self.by_cause[cause] = self.by_cause.get(cause, 0) + n
        if with_codes and other.codes:
            for cause, codes in other.codes.items():
                mine = self.codes.setdefault(cause, {})
                for label, n in codes.items():
                    mine[label] = mine.get(label, 0) + n

    def top_codes(self, cause: Cause, limit: int = 20) -> dict[str, int]:
        """The most frequent codes of one cause, most frequent first (ties by name)."""
        ranked = sorted(self.codes.get(cause, {}).items(), key=lambda kv: (-kv[1], kv[0]))
        return dict(ranked[:limit])


@dataclass(slots=True)
class Series:
    """Buckets of one key (a merchant's channel, or a channel platform-wide), by bucket index."""

    buckets: dict[int, Bucket] = field(default_factory=dict)
    last_index: int = -(2**62)

    def add(self, index: int, cause: Cause | None, label: str, max_codes: int) -> None:
        bucket = self.buckets.get(index)
        if bucket is None:
            bucket = self.buckets[index] = Bucket()
        bucket.add(cause, label, max_codes)
        self.last_index = max(self.last_index, index)

    def prune(self, first_index: int) -> None:
        """Forget buckets before ``first_index`` (they left the window)."""
        for index in [i for i in self.buckets if i < first_index]:
            del self.buckets[index]

    def sum(self, first_index: int, last_index: int, *, with_codes: bool, into: Totals | None = None) -> Totals:
        totals = into if into is not None else Totals()
        for index, bucket in self.buckets.items():
            if first_index <= index <= last_index:
                totals.merge(bucket, with_codes=with_codes)
        return totals
