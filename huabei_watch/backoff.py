"""The one backoff formula: how long to wait before retry number ``attempt``.

Every retry loop in the project (consumer retries, database retries, start-up retries, the embedded
broker's restarts, notification deliveries, cashier webhook pushes, the pre-order probe's spacing)
takes its waits from :func:`backoff_delay`. Pure: the randomness comes in as ``rand``.
"""

from __future__ import annotations

import random
from collections.abc import Callable

#: Past this many doublings the wait is capped anyway; stops ``2.0 ** n`` from overflowing.
_MAX_DOUBLINGS = 60


def backoff_delay(
    attempt: int,
    initial: float,
    maximum: float,
    *,
    spread: tuple[float, float] = (1.0, 1.0),
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry ``attempt`` (1-based): ``initial`` doubled for every attempt
    after the first, capped at ``maximum``, then multiplied by a factor drawn uniformly from
    ``spread`` = (low, high) (``(1.0, 1.0)``: no jitter). ``rand`` returns a float in [0, 1).

    Raises ValueError for an attempt below 1, a negative delay or an empty spread."""
    if attempt < 1:
        raise ValueError(f"attempt is 1-based, got {attempt}")
    if initial < 0 or maximum < 0:
        raise ValueError("delays cannot be negative")
    low, high = spread
    if not 0 <= low <= high:
        raise ValueError(f"spread must be 0 <= low <= high, got {spread}")
    base = min(maximum, initial * 2.0 ** min(attempt - 1, _MAX_DOUBLINGS))
    if low == high:
        return base * low
    return base * (low + (high - low) * rand())
