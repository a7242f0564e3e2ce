"""When each poller is due: one timer for thousands of sources (pure: times are passed in).

APScheduler with one interval job per source fires every job at its own instant and warns
("maximum number of running instances reached") whenever a poll is still running at its next
instant -- thousands of times when 2,000 sources start together behind a per-host limit. Instead,
one scheduler tick asks the :class:`PollWheel` which pollers are due and starts them, at most so
many at once; a poller is rescheduled only when its poll ends (``interval`` after that poll
started, plus up to ``jitter``), so it is never due while it runs and nothing is ever skipped.

First polls are spread: poller ``i`` of ``n`` is first due ``spread * i / n`` after the start,
so a process with many sources does not open them all in the same second.
"""

from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Due:
    """A poller that is due: its ``key`` and the time it was due at."""

    key: str
    due: float


class PollWheel:
    """Pollers by the time they are next due (a heap). ``rng`` draws the jitter."""

    def __init__(self, *, rng: random.Random | None = None) -> None:
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self._every: dict[str, tuple[float, float]] = {}
        self._rng = rng or random.Random()

    def __len__(self) -> int:
        return len(self._every)

    def add(self, key: str, *, interval: float, jitter: float, first_due: float) -> None:
        """Register a poller, first due at ``first_due``. Raises ``ValueError`` for a key already
        registered or an interval that is not positive."""
        if key in self._every:
            raise ValueError(f"poller {key!r} is already on the wheel")
        if interval <= 0 or jitter < 0:
            raise ValueError("interval must be positive and jitter not negative")
        self._every[key] = (interval, jitter)
        heapq.heappush(self._heap, (first_due, next(self._seq), key))

    def next_due(self) -> float | None:
        """When the earliest poller waiting on the wheel is due (None when none waits)."""
        return self._heap[0][0] if self._heap else None

    def take_due(self, now: float, limit: int) -> list[Due]:
        """Up to ``limit`` pollers due at ``now``, earliest first; they leave the wheel until
        :meth:`done` puts them back."""
        out: list[Due] = []
        while self._heap and len(out) < limit and self._heap[0][0] <= now:
            due, _, key = heapq.heappop(self._heap)
            out.append(Due(key, due))
        return out

    def done(self, key: str, started: float) -> float:
        """The poll of ``key`` that started at ``started`` ended: it is due again ``interval``
        (plus up to ``jitter``) after that start. Returns when."""
        interval, jitter = self._every[key]
        due = started + interval + (self._rng.uniform(0, jitter) if jitter else 0.0)
        heapq.heappush(self._heap, (due, next(self._seq), key))
        return due


def first_spread(count: int, shortest_interval: float, *, per_second: float = 200.0) -> float:
    """Over how many seconds to spread the first polls of ``count`` pollers: ``per_second`` of
    them a second, and never longer than the shortest interval (1 source: 0 s, 2,000: 10 s)."""
    if count <= 1:
        return 0.0
    return min(shortest_interval, count / per_second)
