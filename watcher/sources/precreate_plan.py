"""Pure scheduling of pre-order probes: when each merchant is due, and how fast we may call.

Every merchant owns a fixed *slot* inside the interval: an offset derived from a hash of its id.
Slots are aligned to the Unix epoch, so every replica and every restart computes the same
schedule and N merchants spread evenly over the interval (100,000 merchants hourly is ~28
calls/s) instead of bunching at start-up. After consecutive failures a merchant backs off
exponentially (whole intervals, capped), still on its own slot. The failure streak, and the
"unavailable"/"back" log lines of each merchant's probe, are the shared poller tracker's
(:mod:`watcher.sources.poll_health`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from huabei_watch.backoff import backoff_delay
from watcher.sources.poll_health import PollHealth, PollTracker

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def slot_offset(merchant_id: str, interval: float) -> float:
    """Seconds into each interval at which ``merchant_id`` is probed; uniform over [0, interval)."""
    if interval <= 0:
        raise ValueError("interval must be positive")
    digest = hashlib.sha256(merchant_id.encode("utf-8")).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    return fraction * interval


def shard_of(merchant_id: str, shards: int) -> int:
    """Which of ``shards`` replicas probes ``merchant_id`` (stable across restarts)."""
    digest = hashlib.sha256(b"shard\x1f" + merchant_id.encode("utf-8")).digest()
    return int.from_bytes(digest[8:16], "big") % shards


def _micros(dt: datetime) -> int:
    if dt.tzinfo is None:
        raise ValueError("naive datetime: attach a timezone")
    return (dt - EPOCH) // timedelta(microseconds=1)


def _slot_at_or_after(t: int, offset: int, interval: int) -> int:
    # Integer microseconds: float rounding must not push an exact slot to the next interval.
    k = -((offset - t) // interval)  # ceil((t - offset) / interval)
    return k * interval + offset


def backoff_intervals(failures: int, interval: float, max_backoff: float) -> float:
    """Gap (seconds) before the next probe after ``failures`` consecutive failures:
    one interval for 0 or 1 failure, then doubling, capped at ``max_backoff``."""
    if failures < 0:
        raise ValueError("failures cannot be negative")
    return backoff_delay(max(failures, 1), interval, max(max_backoff, interval))


def _us(seconds: float) -> int:
    return round(seconds * 1_000_000)


def next_due(
    merchant_id: str,
    last_run: datetime | None,
    failures: int,
    now: datetime,
    interval: timedelta | float,
    *,
    max_backoff: timedelta | float | None = None,
) -> datetime:
    """When ``merchant_id`` should next be probed (aware UTC datetime).

    * never run: its first slot at or after ``now``;
    * after a run: the first slot at least ``backoff_intervals(failures)`` after ``last_run``
      (so normally the slot one interval later);
    * if that slot has already passed (the daemon was down): the first slot at or after ``now``,
      so a restart never fires everyone at once.
    """
    iv_s = interval.total_seconds() if isinstance(interval, timedelta) else float(interval)
    cap_raw = iv_s * 24 if max_backoff is None else max_backoff
    cap_s = cap_raw.total_seconds() if isinstance(cap_raw, timedelta) else float(cap_raw)
    iv = _us(iv_s)
    if iv <= 0:
        raise ValueError("interval must be positive")
    offset = _us(slot_offset(merchant_id, iv_s)) % iv
    now_us = _micros(now)
    if last_run is None:
        due = _slot_at_or_after(now_us, offset, iv)
    else:
        gap = _us(backoff_intervals(failures, iv_s, cap_s))
        # The first slot past last_run + gap - interval/2: keeps the slot grid even when a run
        # happened a little off its slot (rate limiting, clock skew).
        due = _slot_at_or_after(_micros(last_run) + gap - iv // 2, offset, iv)
        if due < now_us:
            due = _slot_at_or_after(now_us, offset, iv)
    return EPOCH + timedelta(microseconds=due)


@dataclass(slots=True)
class TokenBucket:
    """Global rate limit: ``rate`` tokens per second, at most ``burst`` saved up. Pure: takes ``now``
    as monotonic seconds."""

    rate: float
    burst: float
    tokens: float = -1.0
    updated: float | None = None

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        if self.tokens < 0:
            self.tokens = self.burst

    def _refill(self, now: float) -> None:
        if self.updated is not None and now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        if self.updated is None or now > self.updated:
            self.updated = now

    def try_take(self, now: float) -> bool:
        """Take one token if there is one."""
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def wait_time(self, now: float) -> float:
        """Seconds until a token is available (0 when one is)."""
        self._refill(now)
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


@dataclass(frozen=True, slots=True)
class MerchantSchedule:
    """What the scheduler remembers of one merchant."""

    merchant_id: str
    due: datetime
    last_run: datetime | None = None
    health: PollHealth = field(default_factory=PollHealth)

    @property
    def failures(self) -> int:
        """Consecutive failed probes (what the backoff counts)."""
        return self.health.failures


def after_run(
    s: MerchantSchedule, ran_at: datetime, ok: bool, interval: float, max_backoff: float, *, reason: str = ""
) -> MerchantSchedule:
    """The merchant's schedule after a probe at ``ran_at`` that succeeded (``ok``) or failed (for
    ``reason``); the merchant's probe is logged unavailable at its first failure, back at the next
    success."""
    tracker = PollTracker("precreate", s.merchant_id, interval)
    health = tracker.succeeded(s.health, ran_at) if ok else tracker.failed(s.health, ran_at, reason)
    due = next_due(s.merchant_id, ran_at, health.failures, ran_at, interval, max_backoff=max_backoff)
    return MerchantSchedule(s.merchant_id, due=due, last_run=ran_at, health=health)
