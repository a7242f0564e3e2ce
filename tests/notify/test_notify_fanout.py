"""Fan-out: a huge maintenance does not starve other incidents; memory stays bounded; counters move."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime

import pytest

from consumers.notify.delivery import Deliverer
from consumers.notify.fanout import LOOKAHEAD, FanOut
from consumers.notify.plan import Endpoint, PlannedMessage, Recipient, plan_for
from consumers.notify.ports import OutboundMessage, SendReceipt
from consumers.notify.subsettings import DeliverySettings, FanOutSettings, PlanSettings
from huabei_watch.clock import SHANGHAI, ManualClock
from huabei_watch.errors import TransientError
from huabei_watch.events import Incident, IncidentKind, Phase, Scope
from tests.fakes.delivery_store import MemoryDeliveryStore
from tests.support import eventually

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI)
SETTINGS = PlanSettings()


def incident(incident_id: str, kind: IncidentKind, phase: Phase, scope: Scope) -> Incident:
    return Incident(
        incident_id=incident_id, kind=kind, scope=scope, phase=phase, opened_at=T0, updated_at=T0, revision=1,
    )


MAINT = incident("maint-all", IncidentKind.MAINTENANCE, Phase.ACTIVE, Scope.platform())
ACCT = incident("acct-7", IncidentKind.MERCHANT_ACCOUNT, Phase.ACTIVE, Scope.merchants("m7"))


class Recorder:
    """An in-test channel: records what it was asked to send, in order; yields so work interleaves."""

    def __init__(self, name: str, fail_first: int = 0) -> None:
        self.name = name
        self.sent: list[str] = []
        self.active = 0
        self.max_active = 0
        self.fail_first = fail_first
        self.on_send: list[tuple[int, object]] = []

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            await asyncio.sleep(0)
            if self.fail_first > 0:
                self.fail_first -= 1
                raise TransientError(f"{self.name}: busy")
            self.sent.append(msg.dedupe_key)
            return SendReceipt(provider_message_id=str(len(self.sent)), attempts=1)
        finally:
            self.active -= 1


class Stream:
    """Streams one planned message per merchant, counting how far it ran ahead of deliveries."""

    def __init__(self, inc: Incident, n: int, channel: str, done: Recorder) -> None:
        self.inc, self.n, self.channel, self.done = inc, n, channel, done
        self.produced = 0
        self.max_ahead = 0

    async def __aiter__(self) -> AsyncIterator[PlannedMessage]:
        for i in range(self.n):
            who = Recipient(f"m{i}", (Endpoint(self.channel, f"addr-{i}"),))
            for m in plan_for(self.inc, None, who, T0, SETTINGS):
                self.produced += 1
                self.max_ahead = max(self.max_ahead, self.produced - len(self.done.sent))
                yield m


def deliverer(*channels: Recorder, clock: ManualClock | None = None) -> Deliverer:
    clock = clock or ManualClock(T0)

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    return Deliverer({c.name: c for c in channels}, MemoryDeliveryStore(), None, clock, DeliverySettings(), sleep)


def one_for(inc: Incident, merchant: str, channel: str) -> list[PlannedMessage]:
    return plan_for(inc, None, Recipient(merchant, (Endpoint(channel, "x"),)), T0, SETTINGS)


async def test_big_maintenance_does_not_starve_a_merchant_alert_queued_after_it() -> None:
    wecom = Recorder("wecom")
    fan = FanOut(deliverer(wecom), FanOutSettings(default_concurrency=4))
    big = Stream(MAINT, 5000, "wecom", wecom)
    fan.submit("maint-all", big)
    fan.submit("acct-7", one_for(ACCT, "m7", "wecom"))
    await fan.run(burst=True)
    assert len(wecom.sent) == 5001 and len(set(wecom.sent)) == 5001
    assert wecom.sent.index("m7|acct-7|opened|wecom") < 8
    assert big.max_ahead <= 4 + LOOKAHEAD + 1  # streamed: the in-flight work plus a bounded look-ahead
    assert (fan.queued, fan.sent, fan.failed, fan.in_progress) == (5001, 5001, 0, 0)


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_alert_submitted_mid_fan_out_is_served_within_a_round(concurrency: int) -> None:
    wecom = Recorder("wecom")
    fan = FanOut(deliverer(wecom), FanOutSettings(default_concurrency=concurrency))
    position: list[int] = []

    class Injecting(Stream):
        async def __aiter__(self) -> AsyncIterator[PlannedMessage]:
            async for m in super().__aiter__():
                if self.produced == 2000:
                    position.append(len(wecom.sent))
                    fan.submit("acct-7", one_for(ACCT, "m7", "wecom"))
                yield m

    fan.submit("maint-all", Injecting(MAINT, 3000, "wecom", wecom))
    await fan.run(burst=True)
    assert wecom.sent.index("m7|acct-7|opened|wecom") - position[0] <= concurrency + 2
    assert len(set(wecom.sent)) == 3001


async def test_saturated_channel_does_not_hold_up_other_channels() -> None:
    sms, wecom = Recorder("sms"), Recorder("wecom")
    fan = FanOut(deliverer(sms, wecom), FanOutSettings(default_concurrency=4, concurrency={"sms": 1}))
    fan.submit("maint-all", Stream(MAINT, 300, "sms", sms))
    fan.submit("acct-7", one_for(ACCT, "m7", "wecom"))
    await fan.run(burst=True)
    assert sms.max_active == 1
    assert wecom.sent == ["m7|acct-7|opened|wecom"]
    assert len(sms.sent) == 300


async def test_per_channel_concurrency_is_respected() -> None:
    wecom = Recorder("wecom")
    fan = FanOut(deliverer(wecom), FanOutSettings(default_concurrency=3))
    fan.submit("maint-all", Stream(MAINT, 200, "wecom", wecom))
    await fan.run(burst=True)
    assert wecom.max_active == 3


async def test_counters_show_duplicates_and_retries() -> None:
    wecom = Recorder("wecom", fail_first=3)
    fan = FanOut(deliverer(wecom))
    batch = one_for(MAINT, "m1", "wecom") + one_for(MAINT, "m2", "wecom")
    fan.submit("a", batch)
    fan.submit("b", batch)  # the same messages again, e.g. a replayed incident event
    await fan.run(burst=True)
    assert sorted(wecom.sent) == ["m1|maint-all|started|wecom", "m2|maint-all|started|wecom"]
    assert fan.counters() == {
        "queued": 4, "sent": 2, "failed": 0, "deferred": 0, "duplicates": 2, "expired": 0, "errors": 0,
        "in_progress": 0,
    }


async def test_stop_lets_deliveries_in_progress_finish() -> None:
    wecom = Recorder("wecom")
    fan = FanOut(deliverer(wecom), FanOutSettings(default_concurrency=2))

    class Stopping(Stream):
        async def __aiter__(self) -> AsyncIterator[PlannedMessage]:
            async for m in super().__aiter__():
                if self.produced == 10:
                    fan.stop()
                yield m

    fan.submit("maint-all", Stopping(MAINT, 100, "wecom", wecom))
    await fan.run()  # not burst: returns because of stop()
    assert 1 <= len(wecom.sent) < 100  # what was in progress at stop() finished; the rest was never started
    assert fan.in_progress == 0 and len(wecom.sent) == fan.sent


async def test_a_new_stream_replaces_the_lane_and_only_its_own_end_is_reported() -> None:
    wecom = Recorder("wecom")
    fan = FanOut(deliverer(wecom), FanOutSettings(default_concurrency=1))
    pulled: list[int] = []

    async def stream(tag: int, n: int) -> AsyncIterator[PlannedMessage]:
        for i in range(n):
            pulled.append(tag)
            yield one_for(MAINT, f"m{tag}-{i}", "wecom")[0]

    reports: list[tuple[str, bool]] = []

    def report(name: str) -> Callable[[bool], Awaitable[None]]:
        async def done(ok: bool) -> None:
            reports.append((name, ok))
        return done

    fan.submit("inc", stream(1, 1000), on_done=report("first"))
    runner = asyncio.create_task(fan.run(burst=True))
    await eventually(lambda: len(pulled) >= 5, what="the first stream running")
    fan.submit("inc", stream(2, 20), on_done=report("second"))
    at_replace = pulled.count(1)
    await runner
    assert pulled.count(1) <= at_replace + 1  # the first pass stopped (at most the item being pulled)
    assert pulled.count(2) == 20
    assert reports == [("second", True)]


async def test_a_channel_at_its_limit_does_not_stall_another_channel_of_the_same_lane() -> None:
    release = asyncio.Event()

    class Held(Recorder):
        async def send(self, msg: OutboundMessage) -> SendReceipt:
            await release.wait()
            return await super().send(msg)

    wecom, sms = Held("wecom"), Recorder("sms")
    fan = FanOut(deliverer(wecom, sms), FanOutSettings(default_concurrency=2))

    def both(n: int) -> list[PlannedMessage]:
        return [m for i in range(n) for m in plan_for(
            MAINT, None, Recipient(f"m{i}", (Endpoint("wecom", f"r{i}"), Endpoint("sms", f"p{i}"))), T0, SETTINGS)]

    fan.submit("maint-all", both(50))
    runner = asyncio.create_task(fan.run(burst=True))
    await eventually(lambda: len(sms.sent) == 50, what="every SMS while the robots are held")
    assert wecom.sent == []
    release.set()
    await runner
    assert len(wecom.sent) == 50


async def test_a_stream_that_raises_drops_that_lane_only_and_reports_it_not_ok() -> None:
    """The registry query under a lane fails (a database blip): that stream is dropped and its
    ``on_done(False)`` runs (a shard is given back for a retry), the other lanes go on, and the
    fan-out keeps running."""
    wecom = Recorder("wecom")
    fan = FanOut(deliverer(wecom), FanOutSettings(default_concurrency=2))
    reports: list[tuple[str, bool]] = []

    def report(name: str) -> Callable[[bool], Awaitable[None]]:
        async def done(ok: bool) -> None:
            reports.append((name, ok))
        return done

    async def failing() -> AsyncIterator[PlannedMessage]:
        for m in one_for(MAINT, "m1", "wecom"):
            yield m
        raise TransientError("registry: connection lost")

    fan.submit("maint-all#0", failing(), on_done=report("broken"))
    fan.submit("acct-7", one_for(ACCT, "m7", "wecom"), on_done=report("healthy"))
    runner = asyncio.create_task(fan.run())
    await eventually(lambda: len(reports) == 2, what="both lanes reported")
    assert sorted(reports) == [("broken", False), ("healthy", True)]
    assert not runner.done() and not fan.active("maint-all#0")  # still dispatching, the broken lane gone
    acct8 = incident("acct-8", IncidentKind.MERCHANT_ACCOUNT, Phase.ACTIVE, Scope.merchants("m8"))
    fan.submit("acct-8", one_for(acct8, "m8", "wecom"), on_done=report("later"))
    await eventually(lambda: ("later", True) in reports, what="a lane submitted after the failure served")
    assert sorted(wecom.sent) == ["m1|maint-all|started|wecom", "m7|acct-7|opened|wecom", "m8|acct-8|opened|wecom"]
    fan.stop()
    await runner
