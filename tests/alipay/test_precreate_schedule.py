"""Scheduling of pre-order probes: slots, spread, backoff, rate limit, and the thin runner."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from huabei_watch.clock import ManualClock
from huabei_watch.errors import TransientError
from huabei_watch.events import Cause, Event, MerchantFinding
from huabei_watch.events.base import PreparedEvent
from tests.alipay.support import START, KeyPair, classify
from tests.fakes.alipay_gateway import FakeAlipayGateway, Mode
from tests.fakes.bus import RecordingPublisher
from tests.support import data_as
from watcher.alipay.config import AlipayProbeSettings, PrecreateCredentials
from watcher.sources.precreate import OutcomeSink, PrecreateProbe, PrecreateScheduler
from watcher.sources.precreate_core import FindingTracker, PrecreateOutcome
from watcher.sources.precreate_plan import (
    EPOCH,
    MerchantSchedule,
    TokenBucket,
    after_run,
    backoff_intervals,
    next_due,
    shard_of,
    slot_offset,
)

HOUR = 3600.0


def first_slot(merchant_id: str, at: datetime, interval: float = HOUR) -> datetime:
    """Independent computation of the merchant's first slot at or after ``at``."""
    offset = timedelta(microseconds=round(slot_offset(merchant_id, interval) * 1_000_000))
    t = EPOCH + offset
    step = timedelta(seconds=interval)
    t += step * ((at - t) // step)
    while t < at:
        t += step
    return t


S0 = first_slot("m1", START)
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("last_run", "failures", "now", "expected"),
    [
        (None, 0, START, S0),  # never run: own slot, not "now"
        (None, 0, S0, S0),
        (None, 0, S0 + timedelta(seconds=1), S0 + H),
        (S0, 0, S0 + timedelta(seconds=10), S0 + H),
        (S0 + timedelta(seconds=1000), 0, S0 + timedelta(seconds=1010), S0 + H),  # ran late: stays on its slot
        (S0 - timedelta(seconds=5), 0, S0, S0 + H),  # ran slightly early
        (S0, 1, S0, S0 + H),  # first failure: normal cadence confirms it
        (S0, 2, S0, S0 + 2 * H),
        (S0, 3, S0, S0 + 4 * H),
        (S0, 5, S0, S0 + 16 * H),
        (S0, 6, S0, S0 + 24 * H),  # capped at max_backoff (24 h)
        (S0, 60, S0, S0 + 24 * H),
        (S0, 0, S0 + 5 * H + timedelta(seconds=10), S0 + 6 * H),  # was down: next slot, not all at once
        (S0, 3, S0 + 2 * H + timedelta(seconds=1), S0 + 4 * H),  # backing off, still waiting
    ],
)
def test_next_due_table(last_run: datetime | None, failures: int, now: datetime, expected: datetime) -> None:
    assert next_due("m1", last_run, failures, now, HOUR, max_backoff=24 * HOUR) == expected


def test_next_due_accepts_timedelta_and_rejects_naive_datetimes() -> None:
    assert next_due("m1", None, 0, START, timedelta(hours=1)) == S0
    with pytest.raises(ValueError):
        next_due("m1", None, 0, datetime(2026, 11, 26, 9, 30), HOUR)


def test_slot_is_deterministic_and_inside_interval() -> None:
    offsets = [slot_offset(f"m{i}", HOUR) for i in range(1000)]
    assert offsets == [slot_offset(f"m{i}", HOUR) for i in range(1000)]
    assert all(0 <= o < HOUR for o in offsets)


def test_hundred_thousand_merchants_spread_evenly_over_the_hour() -> None:
    per_minute = Counter(int(slot_offset(f"merchant-{i:06d}", HOUR) // 60) for i in range(100_000))
    mean = 100_000 / 60
    assert len(per_minute) == 60
    assert all(abs(n - mean) < 0.12 * mean for n in per_minute.values()), per_minute.most_common(3)


def test_shards_partition_merchants() -> None:
    counts = Counter(shard_of(f"m{i}", 3) for i in range(3000))
    assert set(counts) == {0, 1, 2}
    assert all(900 < n < 1100 for n in counts.values())


@pytest.mark.parametrize(
    ("failures", "gap_hours"),
    [(0, 1), (1, 1), (2, 2), (3, 4), (4, 8), (5, 16), (6, 24), (100, 24)],
)
def test_backoff_doubles_then_caps(failures: int, gap_hours: float) -> None:
    assert backoff_intervals(failures, HOUR, 24 * HOUR) == gap_hours * HOUR


def test_after_run_resets_failures_on_success_and_counts_them_otherwise() -> None:
    s = MerchantSchedule("m1", due=S0)
    failed = after_run(after_run(s, S0, False, HOUR, 24 * HOUR), S0 + H, False, HOUR, 24 * HOUR)
    assert (failed.failures, failed.due) == (2, S0 + 3 * H)
    ok = after_run(failed, S0 + 3 * H, True, HOUR, 24 * HOUR)
    assert (ok.failures, ok.due, ok.last_run) == (0, S0 + 4 * H, S0 + 3 * H)


@pytest.mark.parametrize(
    ("takes", "expected"),
    [
        ([0.0, 0.0, 0.0], [True, True, False]),  # burst of 2
        ([0.0, 0.0, 0.5], [True, True, True]),  # 2/s: one token back after 0.5 s
        ([0.0, 0.0, 0.4], [True, True, False]),
        ([0.0, 10.0, 10.0, 10.0], [True, True, True, False]),  # saved tokens capped at burst
    ],
)
def test_token_bucket_table(takes: list[float], expected: list[bool]) -> None:
    bucket = TokenBucket(rate=2.0, burst=2)
    assert [bucket.try_take(t) for t in takes] == expected


def test_token_bucket_wait_time() -> None:
    bucket = TokenBucket(rate=4.0, burst=1)
    assert bucket.wait_time(0.0) == 0.0
    assert bucket.try_take(0.0)
    assert bucket.wait_time(0.0) == pytest.approx(0.25)


# --- the runner against the fake gateway ----------------------------------------------------------


def build(
    gw: FakeAlipayGateway, session: aiohttp.ClientSession, clock: ManualClock, keys: KeyPair,
    merchants: list[str], *, rate: float = 100.0, burst: int = 10, on_outcome: OutcomeSink | None = None,
    publisher: RecordingPublisher | None = None,
) -> tuple[PrecreateScheduler, RecordingPublisher]:
    settings = AlipayProbeSettings(enabled=True, gateway_url=gw.url, rate_limit_per_s=rate, burst=burst, timeout=5.0)
    probes = []
    for mid in merchants:
        app_id = f"app-{mid}"
        gw.add_app(app_id, keys.public_pem)
        creds = PrecreateCredentials(
            merchant_id=mid, app_id=app_id, private_key=SecretStr(keys.private_pem),
            alipay_public_key=gw.alipay_public_key_pem,
        )
        probes.append(PrecreateProbe.from_settings(creds, settings, session, clock))
    publisher = publisher or RecordingPublisher()
    tracker = FindingTracker(classify, raise_after=settings.raise_after, clear_after=settings.clear_after)
    return PrecreateScheduler(probes, settings, clock, tracker, publisher, on_outcome=on_outcome), publisher


async def test_scheduler_runs_each_merchant_on_its_slot_and_publishes_findings(
    gateway: FakeAlipayGateway, session: aiohttp.ClientSession, clock: ManualClock, merchant_keys: KeyPair
) -> None:
    merchants = ["a", "b", "c"]
    scheduler, publisher = build(gateway, session, clock, merchant_keys, merchants)
    gateway.set_mode("app-b", Mode.SELLER_BLOCKED)
    first = {m: first_slot(m, START) for m in merchants}
    assert {m: scheduler.schedule(m).due for m in merchants} == first

    clock.set(min(first.values()))
    early = await scheduler.run_due()
    assert [o.merchant_id for o in early] == [min(first, key=first.__getitem__)]

    clock.set(START + H)  # every slot of the first hour has passed
    rest = await scheduler.run_due()
    assert sorted(o.merchant_id for o in early + rest) == merchants
    assert await scheduler.run_due() == []  # nothing due twice

    second: list[PrecreateOutcome] = []
    for m in sorted(merchants, key=first.__getitem__):  # the second hour, each on its own slot
        clock.set(first[m] + H)
        second += await scheduler.run_due()
    assert [o.merchant_id for o in second] == sorted(merchants, key=first.__getitem__)
    findings = [e.data for e in publisher.events]
    assert len(findings) == 1
    assert isinstance(findings[0], MerchantFinding)
    assert (findings[0].merchant_id, findings[0].cause, findings[0].state) == ("b", Cause.MERCHANT_ACCOUNT, "raised")
    assert gateway.open_orders() == set()
    assert scheduler.schedule("a").due == first["a"] + 2 * H
    assert scheduler.schedule("b").failures == 2
    assert scheduler.schedule("b").due == first["b"] + 3 * H  # backing off


async def test_scheduler_respects_the_global_rate_limit(
    gateway: FakeAlipayGateway, session: aiohttp.ClientSession, clock: ManualClock, merchant_keys: KeyPair
) -> None:
    merchants = [f"r{i}" for i in range(5)]
    scheduler, _ = build(gateway, session, clock, merchant_keys, merchants, rate=2.0, burst=2)
    clock.set(START + H)
    assert len(await scheduler.run_due()) == 2
    assert await scheduler.run_due() == []
    assert scheduler.seconds_until_next() == pytest.approx(0.5)
    clock.advance(0.5)
    assert len(await scheduler.run_due()) == 1
    clock.advance(1.0)
    assert len(await scheduler.run_due()) == 2
    assert len({r.params["biz_content"] for r in gateway.requests if r.method == "alipay.trade.precreate"}) == 5


async def test_run_forever_stops_cleanly_and_feeds_outcomes(
    gateway: FakeAlipayGateway, session: aiohttp.ClientSession, clock: ManualClock, merchant_keys: KeyPair
) -> None:
    seen: list[PrecreateOutcome] = []
    stop = asyncio.Event()

    async def sink(outcome: PrecreateOutcome) -> None:
        seen.append(outcome)
        if len(seen) == 2:
            stop.set()

    scheduler, _ = build(gateway, session, clock, merchant_keys, ["x", "y"], on_outcome=sink)
    clock.set(START + H)
    await asyncio.wait_for(scheduler.run_forever(stop), timeout=20)
    assert sorted(o.merchant_id for o in seen) == ["x", "y"]
    assert all(o.ok for o in seen)


def test_shard_count_must_be_sane(clock: ManualClock) -> None:
    settings = AlipayProbeSettings()
    with pytest.raises(ValueError):
        PrecreateScheduler([], settings, clock, FindingTracker(classify), RecordingPublisher(), shard=(3, 3))



async def test_removed_merchant_is_no_longer_probed_and_kept_ones_keep_their_schedule(
    gateway: FakeAlipayGateway, session: aiohttp.ClientSession, clock: ManualClock, merchant_keys: KeyPair
) -> None:
    scheduler, _ = build(gateway, session, clock, merchant_keys, ["k1", "k2"])
    clock.set(START + H)
    await scheduler.run_due()
    kept = scheduler.schedule("k1")
    scheduler.set_probes([p for p in scheduler.probes() if p.merchant_id == "k1"])
    assert scheduler.schedule("k1") == kept
    clock.set(START + 3 * H)
    assert [o.merchant_id for o in await scheduler.run_due()] == ["k1"]


class FlakyPublisher(RecordingPublisher):
    def __init__(self) -> None:
        super().__init__()
        self.fail_next = True

    async def publish(self, event: Event[Any] | PreparedEvent) -> None:
        if self.fail_next:
            self.fail_next = False
            raise TransientError("broker away")
        await super().publish(event)


async def test_finding_is_published_later_when_the_bus_was_away(
    gateway: FakeAlipayGateway, session: aiohttp.ClientSession, clock: ManualClock, merchant_keys: KeyPair
) -> None:
    publisher = FlakyPublisher()
    scheduler, _ = build(gateway, session, clock, merchant_keys, ["f1"], publisher=publisher)
    gateway.set_mode("app-f1", Mode.SELLER_BLOCKED)
    slot = first_slot("f1", START)
    for i in range(2):
        clock.set(slot + i * H)
        await scheduler.run_due()
    assert publisher.events == []  # the raise was deferred, not lost
    clock.set(slot + 2 * H)
    await scheduler.run_due()
    findings = [data_as(e, MerchantFinding) for e in publisher.events]
    assert [(f.merchant_id, f.state) for f in findings] == [("f1", "raised")]


async def test_a_merchant_whose_probe_keeps_failing_is_logged_unavailable_once_and_back_once(
    gateway: FakeAlipayGateway, session: aiohttp.ClientSession, clock: ManualClock, merchant_keys: KeyPair,
    caplog: pytest.LogCaptureFixture,
) -> None:
    scheduler, _ = build(gateway, session, clock, merchant_keys, ["b"])
    gateway.set_mode("app-b", Mode.SELLER_BLOCKED)
    caplog.set_level(logging.INFO, logger="watcher.sources.poll_health")
    for _ in range(3):
        clock.set(scheduler.schedule("b").due)
        await scheduler.run_due()
    gateway.set_mode("app-b", Mode.SUCCESS)
    clock.set(scheduler.schedule("b").due)
    await scheduler.run_due()
    assert [(r.msg, r.poller) for r in caplog.records] == [  # type: ignore[attr-defined]  # a logging extra field
        ("poller.unavailable", "b"), ("poller.back", "b")]
    assert "ACQ.SELLER_BEEN_BLOCKED" in caplog.records[0].reason  # type: ignore[attr-defined]  # a logging extra field
    assert scheduler.schedule("b").failures == 0
