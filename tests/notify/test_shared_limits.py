"""Issue 14 item 6: provider limits hold whatever the number of notify processes (PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timedelta

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from consumers.notify.channels.base import OutboundMessage
from consumers.notify.channels.ratelimit import Rate, RateLimiter
from consumers.notify.channels.shared_limit import SharedRateLimiter, decide, notify_rate_grants
from consumers.notify.channels.wecom import WeComChannel
from huabei_watch.clock import SHANGHAI, SystemClock
from tests.fakes.wecom import FakeWeCom
from tests.support import fresh_pg_database, migrated_database

PG = os.environ.get("HUABEI_TEST_PG_URL")
T0 = datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI)


def test_decide_counts_each_rule_over_its_own_window() -> None:
    rules = (Rate(2, 60.0), Rate(1, 1.0))
    assert decide(rules, [], 100.0) == 0
    assert decide(rules, [99.5], 100.0) == pytest.approx(0.5)
    assert decide(rules, [50.0, 90.0], 100.0) == pytest.approx(10.0)
    assert decide(rules, [30.0, 39.0], 100.0) == 0


WINDOW = 4.0  # WeCom's 20 a minute, scaled in time so the test takes seconds
# The limiter's margin covers the time from a grant to its request reaching the fake (a commit, a loopback
# request, on a busy shared machine): 0.4 s here; the product's 3 % of a minute is 1.8 s.
MARGIN = 0.1
PER_PROCESS = 20  # 40 messages: without a limit shared across processes, both would send 20 at once


class ScaledWeCom(FakeWeCom):
    def window_allows(self, key: str, limit: int, per_seconds: float) -> bool:
        return super().window_allows(key, limit, WINDOW)


@pytest.mark.skipif(PG is None, reason="needs PostgreSQL: set HUABEI_TEST_PG_URL (.ci/run does)")
async def test_two_notify_processes_never_send_one_robot_more_than_its_limit() -> None:
    assert PG is not None
    url = await fresh_pg_database(PG)
    setup = await migrated_database(url)  # creates notify_rate_grants
    await setup.close()
    clock = SystemClock()
    engines = [create_async_engine(url) for _ in range(2)]  # each process its own pool and limiter
    try:
        async with ScaledWeCom(clock, keys={"robot"}, per_minute=20) as fake, aiohttp.ClientSession() as http:
            processes = [
                WeComChannel(http, clock, base_url=fake.base_url, limiter=SharedRateLimiter(
                    RateLimiter(clock, {"wecom": (Rate(20, WINDOW),)}), engine, clock, margin=MARGIN))
                for engine in engines
            ]

            async def send(p: int, i: int) -> None:
                msg = OutboundMessage(dedupe_key=f"p{p}-{i}", recipient="ops", address="robot", title="t",
                                      text=f"message {i}", markdown=f"message {i}")
                await processes[p].send(msg)

            await asyncio.wait_for(asyncio.gather(*(send(p, i) for p in range(2) for i in range(PER_PROCESS))), 60)
        assert len(fake.received) == 2 * PER_PROCESS and fake.rejected == []
        stamps = sorted(r.at for r in fake.received)
        for i, start in enumerate(stamps):  # any window at the fake holds at most 20
            assert sum(1 for t in stamps[i:] if t - start < timedelta(seconds=WINDOW)) <= 20
    finally:
        for engine in engines:
            await engine.dispose()


@pytest.mark.skipif(PG is None, reason="needs PostgreSQL: set HUABEI_TEST_PG_URL (.ci/run does)")
async def test_two_limiters_granting_many_keys_in_opposite_orders_never_deadlock() -> None:
    assert PG is not None
    url = await fresh_pg_database(PG)
    await (await migrated_database(url)).close()
    clock = SystemClock()
    engines = [create_async_engine(url) for _ in range(2)]
    try:
        limiters = [SharedRateLimiter(RateLimiter(clock, {"wecom": (Rate(20, 60.0),)}), engine, clock)
                    for engine in engines]
        keys = [f"wecom:robot-{i}" for i in range(300)]
        for _ in range(3):  # each round: both processes lock the same 300 keys, in batches, at once
            await asyncio.wait_for(asyncio.gather(
                *(limiters[0].acquire(k) for k in keys), *(limiters[1].acquire(k) for k in reversed(keys))), 60)
        async with engines[0].connect() as conn:
            grants = (await conn.execute(select(func.count()).select_from(notify_rate_grants))).scalar_one()
        assert grants == 2 * 3 * len(keys) and limiters[0].refused == limiters[1].refused == 0
    finally:
        for engine in engines:
            await engine.dispose()
