"""Bounds on a partial chunk held for the limiter's grant: the callers of the flush's other chunks
are answered as soon as their own call returns, the wait for a grant ends after ``hold_max``, and
after ``stop()`` a held chunk goes at once, each number once. Time is a manual clock driven by the
test (the limiter and the channel share one driven sleep)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from consumers.notify.channels.base import OutboundMessage, SendReceipt
from consumers.notify.channels.ratelimit import Rate, RateLimiter
from consumers.notify.channels.sms_batch import HOLD_FOR_GRANT_MAX, BatchingChannel, Result
from consumers.notify.delivery import Deliverer
from consumers.notify.fanout import FanOut
from consumers.notify.plan import Endpoint, PlannedMessage, Recipient, plan_for
from consumers.notify.subsettings import DeliverySettings, FanOutSettings, PlanSettings
from huabei_watch.clock import SHANGHAI, ManualClock
from huabei_watch.events import Incident, IncidentKind, Phase, Scope
from tests.fakes.delivery_store import MemoryDeliveryStore
from tests.fakes.sleep import DrivenSleep
from tests.support import eventually

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI)
OUTAGE = Incident(incident_id="out-1", kind=IncidentKind.OUTAGE, scope=Scope.platform(), phase=Phase.ACTIVE,
                  channels=("pcredit",), title="花呗异常", opened_at=T0, updated_at=T0, revision=1)
KEY = "aliyun_sms"


def sms(i: int, text: str = "花呗今晚维护") -> OutboundMessage:
    return OutboundMessage(dedupe_key=f"m{i}|inc-1|announced|aliyun_sms", recipient=f"m{i}",
                           address=f"1390000{i:04d}", title="花呗维护", text=text, template_id="SMS_1",
                           template_params=(("text", text),))


class Provider:
    """A batch provider recording each call's numbers; with a ``limiter`` it asks it once per call,
    as the real SMS channels do."""

    name = KEY
    max_batch = 100

    def __init__(self, limiter: RateLimiter | None) -> None:
        self.limiter = limiter
        self.calls: list[list[str]] = []

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        (result,) = await self.send_batch([msg])
        assert isinstance(result, SendReceipt)
        return result

    async def send_batch(self, msgs: list[OutboundMessage]) -> list[Result]:
        if self.limiter is not None:
            await self.limiter.acquire(self.name)
        self.calls.append([m.address for m in msgs])
        await asyncio.sleep(0)  # the answer comes later, as over a network
        return [SendReceipt(f"r-{m.address}", 1) for m in msgs]


def rig(clock: ManualClock, rate: Rate, *, provider_asks: bool = True) -> tuple[Provider, BatchingChannel, DrivenSleep, RateLimiter]:
    sleep = DrivenSleep(clock)
    limiter = RateLimiter(clock, {KEY: (rate,)}, sleep=sleep)
    provider = Provider(limiter if provider_asks else None)
    return provider, BatchingChannel(provider, limiter=limiter, sleep=sleep), sleep, limiter


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_full_chunks_callers_are_answered_while_a_partial_chunk_waits_for_a_grant(clock: ManualClock) -> None:
    provider, channel, sleep, _ = rig(clock, Rate(1, 60.0))
    full = [asyncio.ensure_future(channel.send(sms(i))) for i in range(100)]  # takes the window's only grant
    partial = [asyncio.ensure_future(channel.send(sms(i, "另一条"))) for i in range(100, 130)]
    await sleep.wait_parked(2)  # the partial chunk: waiting for the grant, and its bound
    await _settle()
    assert provider.calls == [[sms(i).address for i in range(100)]]
    assert all(f.done() for f in full)  # not kept until the other text's wait ends
    assert [f.result().provider_message_id for f in full] == [f"r-{sms(i).address}" for i in range(100)]
    assert not any(f.done() for f in partial)
    sleep.advance(60.0)
    receipts = await asyncio.wait_for(asyncio.gather(*partial), 5)
    assert [len(c) for c in provider.calls] == [100, 30]
    assert [r.provider_message_id for r in receipts] == [f"r-{sms(i).address}" for i in range(100, 130)]


async def test_a_partial_chunk_waits_for_a_grant_at_most_hold_max(clock: ManualClock) -> None:
    provider, channel, sleep, _ = rig(clock, Rate(1, 60.0))
    await channel.send(sms(0))  # the window's only grant
    waiting = [asyncio.ensure_future(channel.send(sms(i))) for i in range(1, 31)]
    await sleep.wait_parked(2)
    assert sorted(sleep.calls) == [HOLD_FOR_GRANT_MAX, 60.0]
    sleep.advance(HOLD_FOR_GRANT_MAX)
    # the wait ended: held once, then the chunk's call asks the limiter for the rest of the window
    await eventually(lambda: sleep.calls[-1] == 60.0 - HOLD_FOR_GRANT_MAX, timeout=5,
                     what="the held chunk's call asked the limiter")
    assert provider.calls == [[sms(0).address]]
    sleep.advance(60.0 - HOLD_FOR_GRANT_MAX)
    await asyncio.wait_for(asyncio.gather(*waiting), 5)
    assert [len(c) for c in provider.calls] == [1, 30]


def test_hold_max_cannot_be_negative() -> None:
    with pytest.raises(ValueError, match="hold_max"):
        BatchingChannel(Provider(None), hold_max=-1.0)


async def test_stop_sends_a_chunk_waiting_for_a_grant_at_once_and_holds_nothing_after(clock: ManualClock) -> None:
    provider, channel, sleep, limiter = rig(clock, Rate(1, 60.0), provider_asks=False)
    await limiter.acquire(KEY)  # every call from now on would wait for the next window
    waiting = [asyncio.ensure_future(channel.send(sms(i))) for i in range(30)]
    await sleep.wait_parked(2)
    channel.stop()
    receipts = await asyncio.wait_for(asyncio.gather(*waiting), 5)  # no time passed
    assert [r.provider_message_id for r in receipts] == [f"r-{sms(i).address}" for i in range(30)]
    later = await asyncio.wait_for(asyncio.gather(*(channel.send(sms(i, "另一条")) for i in range(30, 40))), 5)
    assert len(later) == 10
    assert [len(c) for c in provider.calls] == [30, 10]
    assert sleep.parked == 0  # the wait for the grant and its bound were given up


async def test_a_stopping_fan_out_with_the_channel_stopped_sends_each_number_once_at_once() -> None:
    clock = ManualClock(T0)
    provider, channel, sleep, limiter = rig(clock, Rate(1, 60.0), provider_asks=False)
    await limiter.acquire(KEY)  # every partial chunk would wait for the next window
    store = MemoryDeliveryStore()
    deliverer = Deliverer({KEY: channel}, store, None, clock, DeliverySettings(), sleep)
    fan = FanOut(deliverer, FanOutSettings(concurrency={KEY: 130}))
    keys: list[str] = []

    async def planned() -> AsyncIterator[PlannedMessage]:
        for i in range(1000):
            who = Recipient(f"m{i}", (Endpoint(KEY, f"1390000{i:04d}"),))
            for m in plan_for(OUTAGE, None, who, T0, PlanSettings()):
                keys.append(m.dedupe_key)
                yield m

    fan.submit(OUTAGE.incident_id, planned())
    run = asyncio.ensure_future(fan.run())
    await sleep.wait_parked(2)  # a partial chunk waits for the grant
    channel.stop()
    fan.stop()
    await asyncio.wait_for(run, 5)  # without moving the clock
    sent = [a for c in provider.calls for a in c]
    assert len(sent) == len(set(sent))  # nobody twice
    records = [await store.get(k) for k in keys]
    started = [r for r in records if r is not None]
    assert started and all(r.state == "sent" for r in started)  # none left in flight, none lost
    assert len(sent) == len(started) == fan.sent


async def test_a_partial_chunk_of_a_text_that_filled_a_call_is_held_without_waiting_for_a_grant(clock: ManualClock) -> None:
    provider, channel, sleep, _ = rig(clock, Rate(1, 60.0))
    sends = [asyncio.ensure_future(channel.send(sms(i))) for i in range(150)]
    await sleep.wait_parked(1)  # the held 50's call, asking the limiter for the next window
    await _settle()
    assert [len(c) for c in provider.calls] == [100]
    assert all(f.done() for f in sends[:100])
    assert sleep.calls == [60.0]  # no wait for a grant before holding, no bound started
    sleep.advance(60.0)
    await asyncio.wait_for(asyncio.gather(*sends), 5)
    assert [len(c) for c in provider.calls] == [100, 50]
