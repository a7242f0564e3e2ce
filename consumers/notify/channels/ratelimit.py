"""A process-wide, per-key sliding-window rate limiter for provider calls.

One :class:`RateLimiter` is shared by every channel in a process. A key is ``"<provider>"`` or
``"<provider>:<scope>"`` (e.g. ``"wecom:<robot digest>"``); the rules of ``<provider>`` apply to
each full key separately, so one busy WeCom robot never slows another. Keys of a provider without
rules are not limited.

Waiting is fair: callers of one key are served first come, first served (the per-key lock is an
:class:`asyncio.Lock`, which hands over to waiters in order and is never barged), so a fan-out of
thousands cannot starve a message queued before it. Time comes from an injected
:class:`~huabei_watch.clock.Clock` (``monotonic``) and waiting from an injected ``sleep``, so tests drive
both without real waiting.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from huabei_watch.clock import Clock

SleepFn = Callable[[float], Awaitable[None]]

#: How many acquisitions between sweeps of idle keys (keeps memory flat with many robot keys).
_SWEEP_EVERY = 1024


class Limiter(Protocol):
    """What a channel needs of a limiter (:class:`RateLimiter`, or the database-backed
    :class:`~consumers.notify.channels.shared_limit.SharedRateLimiter`)."""

    async def acquire(self, key: str) -> float:
        """Wait until ``key`` may make one call; returns the seconds waited."""
        ...

    async def until_free(self, key: str) -> bool:
        """Wait until a call on ``key`` would be granted at once, without taking the grant; True
        when that meant waiting (a rule in the way, or a caller queued ahead)."""
        ...

    def would_wait(self, key: str) -> bool:
        """Whether a call on ``key`` made now would wait (what :meth:`until_free` would wait for)."""
        ...


@dataclass(frozen=True, slots=True)
class Rate:
    """At most ``limit`` grants in any window of ``per_seconds``."""

    limit: int
    per_seconds: float

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError("a rate limit must allow at least 1 call")
        if self.per_seconds <= 0:
            raise ValueError("a rate window must be longer than 0 seconds")


@dataclass(slots=True)
class _KeyState:
    rules: tuple[Rate, ...]
    stamps: deque[float]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def delay(self, now: float) -> float:
        """Seconds until a grant is allowed under every rule (0 when allowed now)."""
        wait = 0.0
        for rule in self.rules:
            if len(self.stamps) >= rule.limit:
                oldest_counted = self.stamps[-rule.limit]
                if now - oldest_counted < rule.per_seconds:
                    wait = max(wait, oldest_counted + rule.per_seconds - now)
        return wait

    def idle(self, now: float) -> bool:
        longest = max(rule.per_seconds for rule in self.rules)
        return not self.lock.locked() and (not self.stamps or now - self.stamps[-1] >= longest)


class RateLimiter:
    """Shared limiter. ``rates`` maps a provider name to its rules (all must hold)."""

    def __init__(
        self,
        clock: Clock,
        rates: Mapping[str, Iterable[Rate]],
        *,
        sleep: SleepFn = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._rates: dict[str, tuple[Rate, ...]] = {p: tuple(r) for p, r in rates.items() if tuple(r)}
        self._states: dict[str, _KeyState] = {}
        self._grants = 0

    def rules_for(self, key: str) -> tuple[Rate, ...]:
        return self._rates.get(key.split(":", 1)[0], ())

    async def acquire(self, key: str) -> float:
        """Wait until ``key`` may make one call, and count it. Returns the seconds waited.

        Cancellation while waiting gives the place up; nothing is counted.
        """
        rules = self.rules_for(key)
        if not rules:
            return 0.0
        state = self._states.get(key)
        if state is None:
            state = _KeyState(rules, deque(maxlen=max(rule.limit for rule in rules)))
            self._states[key] = state
        waited = 0.0
        async with state.lock:
            while True:
                now = self._clock.monotonic()
                delay = state.delay(now)
                if delay <= 0:
                    state.stamps.append(now)
                    break
                await self._sleep(delay)
                waited += delay
        self._grants += 1
        if self._grants % _SWEEP_EVERY == 0:
            self._sweep()
        return waited

    async def until_free(self, key: str) -> bool:
        """Wait until a call on ``key`` would be granted at once (no caller queued ahead, every rule
        allows it), without taking the grant; True when that meant waiting. Callers queued on
        ``key`` meanwhile are served first come, first served with it, as in :meth:`acquire`.
        Cancellation while waiting gives the place up."""
        if not self.would_wait(key):
            return False
        state = self._states[key]
        async with state.lock:
            while (delay := state.delay(self._clock.monotonic())) > 0:
                await self._sleep(delay)
        return True

    def would_wait(self, key: str) -> bool:
        """Whether a call on ``key`` made now would wait: a caller queued ahead, or a rule in the way."""
        state = self._states.get(key)
        return state is not None and (state.lock.locked() or state.delay(self._clock.monotonic()) > 0)

    def pending_delay(self, key: str) -> float:
        """Seconds a call on ``key`` would wait right now, ignoring queued callers."""
        state = self._states.get(key)
        return state.delay(self._clock.monotonic()) if state else 0.0

    def _sweep(self) -> None:
        now = self._clock.monotonic()
        for key in [k for k, s in self._states.items() if s.idle(now)]:
            del self._states[key]

    def __len__(self) -> int:
        """Number of keys currently tracked (for tests and /metrics)."""
        return len(self._states)
