"""Same-text batching under the provider's limiter: a partial chunk that would wait for a grant
anyway waits for it while later sends join it, a lone send with a grant free goes at once, and a
fan-out that stops sends everything held exactly once. Time is a manual clock driven by the test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

from consumers.notify.channels.base import OutboundMessage, SendReceipt
from consumers.notify.channels.ratelimit import Rate, RateLimiter
from consumers.notify.channels.sms_batch import BatchingChannel, Result
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


def sms(i: int, text: str = "花呗今晚维护") -> OutboundMessage:
    return OutboundMessage(dedupe_key=f"m{i}|inc-1|announced|aliyun_sms", recipient=f"m{i}",
                           address=f"1390000{i:04d}", title="花呗维护", text=text, template_id="SMS_1",
                           template_params=(("text", text),))


class LimitedProvider:
    """A batch provider that asks the limiter once per call, as the real SMS channels do."""

    name = "aliyun_sms"
    max_batch = 100

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter
        self.calls: list[list[str]] = []

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        (result,) = await self.send_batch([msg])
        assert isinstance(result, SendReceipt)
        return result

    async def send_batch(self, msgs: list[OutboundMessage]) -> list[Result]:
        await self.limiter.acquire(self.name)
        self.calls.append([m.address for m in msgs])
        await asyncio.sleep(0)  # the answer comes later, as over a network
        return [SendReceipt(f"r-{m.address}", 1) for m in msgs]


def rig(clock: ManualClock, rate: Rate) -> tuple[LimitedProvider, BatchingChannel, DrivenSleep]:
    sleep = DrivenSleep(clock)
    limiter = RateLimiter(clock, {"aliyun_sms": (rate,)}, sleep=sleep)
    provider = LimitedProvider(limiter)
    return provider, BatchingChannel(provider, limiter=limiter), sleep


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_partial_chunk_waiting_for_a_grant_takes_the_later_sends_into_its_call(clock: ManualClock) -> None:
    provider, channel, sleep = rig(clock, Rate(1, 10.0))
    await channel.send(sms(0))  # the window's only grant
    waiting = [asyncio.ensure_future(channel.send(sms(i))) for i in range(1, 31)]
    await sleep.wait_parked(1)
    later = [asyncio.ensure_future(channel.send(sms(i))) for i in range(31, 81)]
    await _settle()
    assert len(provider.calls) == 1  # the 30 wait for the grant instead of a call of their own
    sleep.advance(10.0)
    receipts = await asyncio.wait_for(asyncio.gather(*waiting, *later), 5)
    # one call of 80 (not a call of 30 and another of 50), without waiting for the call to fill
    assert [len(c) for c in provider.calls] == [1, 80]
    assert sorted(a for c in provider.calls for a in c) == sorted(sms(i).address for i in range(81))
    assert [r.provider_message_id for r in receipts] == [f"r-{sms(i).address}" for i in range(1, 81)]
    assert sleep.calls == [10.0]  # the limiter's wait, nothing more


async def test_a_chunk_waiting_for_a_grant_goes_with_the_grant_even_when_more_keep_coming(clock: ManualClock) -> None:
    provider, channel, sleep = rig(clock, Rate(1, 10.0))
    await channel.send(sms(0))
    waiting = [asyncio.ensure_future(channel.send(sms(i))) for i in range(1, 31)]
    await sleep.wait_parked(1)
    sleep.advance(10.0)
    await asyncio.wait_for(asyncio.gather(*waiting), 5)
    assert [len(c) for c in provider.calls] == [1, 30]


async def test_a_lone_send_with_a_grant_free_is_not_delayed(clock: ManualClock) -> None:
    provider, channel, sleep = rig(clock, Rate(2, 10.0))
    first = await asyncio.wait_for(channel.send(sms(1)), 5)
    second = await asyncio.wait_for(channel.send(sms(2, "另一条")), 5)  # the last grant of the window
    assert (first.provider_message_id, second.provider_message_id) == (f"r-{sms(1).address}", f"r-{sms(2).address}")
    assert provider.calls == [[sms(1).address], [sms(2).address]]
    assert sleep.calls == []


async def test_a_stopping_fan_out_sends_every_held_send_once_and_leaves_none_in_flight() -> None:
    clock = ManualClock(T0)
    provider, channel, sleep = rig(clock, Rate(2, 10.0))
    store = MemoryDeliveryStore()
    deliverer = Deliverer({"aliyun_sms": channel}, store, None, clock, DeliverySettings(), sleep)
    fan = FanOut(deliverer, FanOutSettings(concurrency={"aliyun_sms": 130}))
    keys: list[str] = []

    async def planned() -> AsyncIterator[PlannedMessage]:
        for i in range(1000):
            who = Recipient(f"m{i}", (Endpoint("aliyun_sms", f"1390000{i:04d}"),))
            for m in plan_for(OUTAGE, None, who, T0, PlanSettings()):
                keys.append(m.dedupe_key)
                yield m

    fan.submit(OUTAGE.incident_id, planned())
    run = asyncio.ensure_future(fan.run())
    await sleep.wait_parked(1)  # the window's two grants are spent; the rest wait for the next one
    fan.stop()

    async def drained() -> bool:
        sleep.advance(10.0)
        await _settle()
        return run.done()

    await eventually(drained, timeout=10, what="the stopped fan-out finished its deliveries")
    await run
    sent = [a for c in provider.calls for a in c]
    assert len(sent) == len(set(sent))  # nobody twice
    assert any(len(c) < 100 for c in provider.calls[2:])  # a held partial chunk went out after stop()
    records = [await store.get(k) for k in keys]
    started = [r for r in records if r is not None]
    assert started and all(r.state == "sent" for r in started)  # none left in flight, none lost
    assert len(sent) == len(started) == fan.sent
