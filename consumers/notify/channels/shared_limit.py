"""Provider rate limits shared by every notify process, kept in the database (PostgreSQL).

Each process first waits on its own :class:`~consumers.notify.channels.ratelimit.RateLimiter`, then
asks the database for a grant: under a transaction-scoped advisory lock per limit key (all taken in
one statement, in lock id order, so two processes never deadlock) it reads the key's recent grants, decides with the same
sliding-window rules, and records the grant. A refused caller waits until the oldest counted grant
leaves the window and asks again. However many processes run, a WeCom robot gets at most its 20
messages a minute. Concurrent requests of a process are coalesced: one transaction decides for up
to a few hundred keys. Grants older than the longest window are deleted as keys are used.

A grant is stamped when it is decided, under the key's lock; the provider sees the call one
request's latency later, and a burst's first calls may arrive later than a lone call after them. So
each window is counted ``margin`` longer (a share of it; 3 %: 1.8 s of WeCom's minute), and the
provider never counts more than the limit in its own window.

Time is the wall clock of :class:`~huabei_watch.clock.Clock` (``now``), which processes share;
keep their clocks synchronised (NTP), as for any multi-host deployment.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
    bindparam,
    delete,
    insert,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from consumers.notify.batching import Coalescer
from consumers.notify.channels.ratelimit import Rate, RateLimiter, SleepFn
from huabei_watch.clock import Clock
from huabei_watch.db.tables import metadata

notify_rate_grants = Table(
    "notify_rate_grants",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("limit_key", String(128), nullable=False),
    Column("at", Float, nullable=False),  # seconds since the epoch
    Index("ix_notify_rate_grants_key_at", "limit_key", "at"),
)
G = notify_rate_grants

#: Every key's lock in one round trip, taken in ascending id order (the same order in every process, so
#: two processes never deadlock).
_LOCKS = text(
    "SELECT count(pg_advisory_xact_lock(h)) FROM (SELECT unnest(CAST(:ids AS bigint[])) AS h ORDER BY h) AS ordered"
)


def lock_id(key: str) -> int:
    """A signed 64-bit advisory lock id for ``key`` (stable across processes and versions)."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big", signed=True)


def decide(rules: Sequence[Rate], stamps: list[float], now: float) -> float:
    """Seconds until a grant is allowed under every rule given the grants ``stamps`` (ascending)."""
    wait = 0.0
    for rule in rules:
        recent = [t for t in stamps if now - t < rule.per_seconds]
        if len(recent) >= rule.limit:
            wait = max(wait, recent[-rule.limit] + rule.per_seconds - now)
    return wait


class SharedRateLimiter:
    """The process-local limiter plus a database grant per call (see the module docstring)."""

    def __init__(
        self, local: RateLimiter, engine: AsyncEngine, clock: Clock, *, sleep: SleepFn = asyncio.sleep,
        max_batch: int = 200, margin: float = 0.03,
    ) -> None:
        if not 0 <= margin < 1:
            raise ValueError("margin is a share of the window: at least 0, below 1")
        self._local = local
        self._stretch = 1.0 + margin
        self._engine = engine
        self._clock = clock
        self._sleep = sleep
        self._grants: Coalescer[str, float] = Coalescer(self._decide_many, max_batch=max_batch)
        self.refused = 0

    def rules_for(self, key: str) -> tuple[Rate, ...]:
        return self._local.rules_for(key)

    async def acquire(self, key: str) -> float:
        """Wait until ``key`` may make one call in every process; returns the seconds waited."""
        waited = await self._local.acquire(key)
        if not self.rules_for(key):
            return waited
        while True:
            wait = await self._grants.submit(key)
            if wait <= 0:
                return waited
            self.refused += 1
            await self._sleep(wait)
            waited += wait

    async def until_free(self, key: str) -> bool:
        """As :meth:`RateLimiter.until_free` on this process's own grants; the other processes'
        grants are only seen by :meth:`acquire` (which may still wait for them)."""
        return await self._local.until_free(key)

    def would_wait(self, key: str) -> bool:
        """As :meth:`RateLimiter.would_wait` on this process's own grants."""
        return self._local.would_wait(key)

    async def _decide_many(self, keys: list[str]) -> list[float]:
        rules = {k: tuple(Rate(r.limit, r.per_seconds * self._stretch) for r in self.rules_for(k)) for k in set(keys)}
        longest = max(r.per_seconds for k in rules for r in rules[k])
        async with self._engine.begin() as conn:
            await conn.execute(_LOCKS, {"ids": sorted({lock_id(k) for k in keys})})
            # Read the clock only once the locks are held: a grant stamped before a wait for the lock
            # would count as older than the call it lets through, and shorten the window at the provider.
            now = self._clock.now().timestamp()
            horizon = now - longest
            rows = (await conn.execute(
                select(G.c.limit_key, G.c.at).where(G.c.limit_key.in_(sorted(set(keys))), G.c.at > horizon)
                .order_by(G.c.limit_key, G.c.at)
            )).all()
            stamps: dict[str, list[float]] = {}
            for key, at in rows:
                stamps.setdefault(key, []).append(at)
            out: list[float] = []
            granted: list[dict[str, object]] = []
            for k in keys:
                mine = stamps.setdefault(k, [])
                wait = decide(rules[k], mine, now)
                if wait <= 0:
                    mine.append(now)
                    granted.append({"limit_key": k, "at": now})
                out.append(wait)
            if granted:
                await conn.execute(insert(G), granted)
            await conn.execute(
                delete(G).where(G.c.limit_key.in_(bindparam("keys", expanding=True)), G.c.at <= bindparam("before")),
                {"keys": sorted(set(keys)), "before": horizon},
            )
        return out


def uses_shared_limits(setting: str, engine: AsyncEngine) -> bool:
    """``auto``: on for PostgreSQL (several processes may share it), off for SQLite (one process)."""
    if setting == "auto":
        return engine.dialect.name == "postgresql"
    return setting == "on"
