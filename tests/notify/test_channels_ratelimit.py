"""The shared limiter: sliding windows per key, FIFO waiting, driven time only."""

from __future__ import annotations

import asyncio

import pytest

from consumers.notify.channels.ratelimit import Rate, RateLimiter
from huabei_watch.clock import ManualClock
from tests.fakes.sleep import DrivenSleep


def limiter(clock: ManualClock, sleep: DrivenSleep, **rates: tuple[Rate, ...]) -> RateLimiter:
    return RateLimiter(clock, rates, sleep=sleep)


async def test_calls_within_the_limit_do_not_wait(clock: ManualClock) -> None:
    sleep = DrivenSleep(clock)
    rl = limiter(clock, sleep, wecom=(Rate(3, 60.0),))
    waited = [await rl.acquire("wecom:a") for _ in range(3)]
    assert waited == [0.0, 0.0, 0.0]
    assert sleep.calls == []


async def test_call_over_the_limit_waits_until_the_oldest_leaves_the_window(clock: ManualClock) -> None:
    sleep = DrivenSleep(clock)
    rl = limiter(clock, sleep, wecom=(Rate(3, 60.0),))
    await rl.acquire("wecom:a")
    clock.advance(10)
    await rl.acquire("wecom:a")
    await rl.acquire("wecom:a")
    fourth = asyncio.create_task(rl.acquire("wecom:a"))
    await sleep.wait_parked(1)
    assert sleep.calls == [50.0]  # the first grant (t=0) leaves the 60 s window at t=60; now t=10
    sleep.advance(49)
    await asyncio.sleep(0)
    assert not fourth.done()
    sleep.advance(1)
    assert await asyncio.wait_for(fourth, 5) == 50.0


async def test_each_key_has_its_own_window(clock: ManualClock) -> None:
    sleep = DrivenSleep(clock)
    rl = limiter(clock, sleep, wecom=(Rate(1, 60.0),))
    await rl.acquire("wecom:robot-a")
    assert await rl.acquire("wecom:robot-b") == 0.0
    assert rl.pending_delay("wecom:robot-a") == 60.0
    assert rl.pending_delay("wecom:robot-b") == 60.0


async def test_provider_without_rules_is_not_limited(clock: ManualClock) -> None:
    sleep = DrivenSleep(clock)
    rl = limiter(clock, sleep, wecom=(Rate(1, 60.0),))
    for _ in range(100):
        assert await rl.acquire("webhook:x") == 0.0
    assert sleep.calls == []


async def test_every_rule_of_a_provider_must_hold(clock: ManualClock) -> None:
    sleep = DrivenSleep(clock, auto=True)
    rl = limiter(clock, sleep, feishu=(Rate(100, 60.0), Rate(5, 1.0)))
    for _ in range(5):
        await rl.acquire("feishu:bot")
    assert await rl.acquire("feishu:bot") == pytest.approx(1.0)  # the per-second rule bites first
    for _ in range(94):
        await rl.acquire("feishu:bot")
    # 100 grants happened within ~19 s: the 101st must wait for the minute window.
    start = clock.monotonic()
    await rl.acquire("feishu:bot")
    assert clock.monotonic() >= 60.0
    assert clock.monotonic() > start


async def test_waiters_are_served_in_arrival_order(clock: ManualClock) -> None:
    sleep = DrivenSleep(clock)
    rl = limiter(clock, sleep, sms=(Rate(1, 10.0),))
    await rl.acquire("sms")
    served: list[str] = []

    async def take(name: str) -> None:
        await rl.acquire("sms")
        served.append(name)

    tasks = []
    for name in ("first", "second", "third", "fourth"):
        tasks.append(asyncio.create_task(take(name)))
        await asyncio.sleep(0)  # let it queue before the next one arrives
    for _ in range(4):
        await sleep.wait_parked(1)
        sleep.advance(10)
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert served == ["first", "second", "third", "fourth"]


async def test_a_big_fan_out_on_one_key_does_not_block_other_keys(clock: ManualClock) -> None:
    sleep = DrivenSleep(clock)
    rl = limiter(clock, sleep, wecom=(Rate(1, 60.0),))
    fan_out = [asyncio.create_task(rl.acquire("wecom:platform-robot")) for _ in range(200)]
    await sleep.wait_parked(1)
    assert await asyncio.wait_for(rl.acquire("wecom:merchant-robot"), 5) == 0.0
    for task in fan_out:
        task.cancel()
    await asyncio.gather(*fan_out, return_exceptions=True)


async def test_a_cancelled_waiter_gives_its_place_to_the_next(clock: ManualClock) -> None:
    sleep = DrivenSleep(clock)
    rl = limiter(clock, sleep, sms=(Rate(1, 10.0),))
    await rl.acquire("sms")
    leaving = asyncio.create_task(rl.acquire("sms"))
    await sleep.wait_parked(1)
    staying = asyncio.create_task(rl.acquire("sms"))
    await asyncio.sleep(0)
    leaving.cancel()
    await asyncio.gather(leaving, return_exceptions=True)
    await sleep.wait_parked(1)
    sleep.advance(10)
    assert await asyncio.wait_for(staying, 5) == pytest.approx(10.0)


async def test_idle_keys_are_forgotten(clock: ManualClock) -> None:
    sleep = DrivenSleep(clock)
    rl = limiter(clock, sleep, wecom=(Rate(20, 60.0),))
    for i in range(1024):
        await rl.acquire(f"wecom:{i}")
        clock.advance(0.1)
    clock.advance(120)
    for i in range(1024):
        await rl.acquire(f"wecom:again-{i}")
    assert len(rl) <= 1024


def test_a_rate_needs_a_positive_limit_and_window() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Rate(0, 60.0)
    with pytest.raises(ValueError, match="longer than 0"):
        Rate(1, 0.0)


async def test_until_free_waits_for_a_grant_without_taking_it(clock: ManualClock) -> None:
    sleep = DrivenSleep(clock)
    rl = limiter(clock, sleep, aliyun_sms=(Rate(1, 10.0),))
    assert await rl.until_free("aliyun_sms") is False  # free: no wait
    await rl.acquire("aliyun_sms")
    waiting = asyncio.create_task(rl.until_free("aliyun_sms"))
    await sleep.wait_parked(1)
    sleep.advance(10.0)
    assert await asyncio.wait_for(waiting, 5) is True
    assert await rl.acquire("aliyun_sms") == 0.0  # the grant it waited for is still there
    assert sleep.calls == [10.0]


async def test_would_wait_says_whether_a_call_now_would_wait_without_waiting(clock: ManualClock) -> None:
    sleep = DrivenSleep(clock)
    rl = limiter(clock, sleep, aliyun_sms=(Rate(1, 10.0),))
    assert rl.would_wait("aliyun_sms") is False
    assert rl.would_wait("console") is False  # no rules
    await rl.acquire("aliyun_sms")
    assert rl.would_wait("aliyun_sms") is True
    sleep.advance(10.0)
    assert rl.would_wait("aliyun_sms") is False
    assert sleep.calls == []
