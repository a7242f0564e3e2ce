"""Shared helpers for the benchmarks: verdicts, percentiles, memory, an embedded broker, logging.

Benchmarks never assert on times: they print figures, a ratio against a baseline measured in the
same run, and PASS/MISS against the issue's target.
"""

from __future__ import annotations

import contextlib
import logging
import resource
import sys
import time
from collections.abc import AsyncIterator, Sequence

from huabei_watch.bus.broker import EmbeddedBroker


def quiet_logs() -> None:
    """Only warnings and errors from the library while a benchmark runs (logging costs time)."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    logging.getLogger().setLevel(logging.WARNING)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100) of a non-empty sequence."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """Current resident set size from /proc (Linux), in MiB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / (1024 * 1024)


def cpu_seconds() -> float:
    """User + system CPU time of this process."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def header(title: str, quick: bool) -> None:
    print(f"== {title} ({'--quick' if quick else 'full'}, {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())})")


@contextlib.asynccontextmanager
async def embedded_broker() -> AsyncIterator[EmbeddedBroker]:
    """The embedded (Tansu) broker on a free loopback port, stopped afterwards."""
    broker = EmbeddedBroker()
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()
