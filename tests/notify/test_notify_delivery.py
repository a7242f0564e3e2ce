"""Once-only delivery against a loopback fake provider and a real SQLite file (aiosqlite)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from consumers.notify.delivery import Deliverer
from consumers.notify.plan import Endpoint, MessageGroup, PlannedMessage, Recipient, plan_for
from consumers.notify.ports import Channel, OutboundMessage, SendReceipt
from consumers.notify.store import CoalescingStore, SqlDeliveryStore
from consumers.notify.subsettings import DeliverySettings, PlanSettings
from consumers.notify.templates import Renderer
from huabei_watch.clock import SHANGHAI, ManualClock
from huabei_watch.events import (
    NOTIFICATION_FAILED,
    NOTIFICATION_SENT,
    NOTIFICATION_SENT_BATCH,
    Incident,
    IncidentKind,
    NotificationResult,
    NotificationResultBatch,
    Phase,
)
from tests.fakes.bus import RecordingPublisher
from tests.notify._fake_provider import FakeProvider, LoopbackChannel
from tests.support import migrated_database

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI)
SETTINGS = DeliverySettings(max_inline_wait=3600.0)


class ProcessDied(BaseException):
    """Stands for the process being killed: nothing in the deliverer may catch it."""


def outage(incident_id: str = "out-1") -> Incident:
    return Incident(
        incident_id=incident_id, kind=IncidentKind.OUTAGE, phase=Phase.ACTIVE, opened_at=T0, updated_at=T0, revision=1,
    )


def messages(n: int, channel: str = "sms", incident_id: str = "out-1") -> list[PlannedMessage]:
    out: list[PlannedMessage] = []
    for i in range(n):
        who = Recipient(f"m{i}", (Endpoint(channel, f"1380000{i:04d}"),))
        out += plan_for(outage(incident_id), None, who, T0, PlanSettings())
    return out


@dataclass
class Rig:
    """One fake provider, one database file; ``deliverer()`` is a fresh process on them."""

    provider: FakeProvider
    server: TestServer
    session: aiohttp.ClientSession
    db_url: str
    clock: ManualClock = field(default_factory=lambda: ManualClock(T0))
    publisher: RecordingPublisher = field(default_factory=RecordingPublisher)
    engines: list[AsyncEngine] = field(default_factory=list)
    slept: list[float] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.advance(seconds)
        await asyncio.sleep(0)

    def store(self) -> SqlDeliveryStore:
        engine = create_async_engine(self.db_url)
        self.engines.append(engine)
        return SqlDeliveryStore(engine)

    def channel(self, name: str = "sms") -> LoopbackChannel:
        return LoopbackChannel(name, self.session, self.server)

    def deliverer(
        self,
        channel: Channel | None = None,
        settings: DeliverySettings = SETTINGS,
        name: str = "sms",
        rand: float = 0.5,
        batch_results: bool = False,
    ) -> Deliverer:
        chan = channel if channel is not None else self.channel(name)
        store = self.store()
        return Deliverer(
            {name: chan},
            CoalescingStore(store) if batch_results else store,
            None,
            self.clock,
            settings,
            self.sleep,
            publisher=self.publisher,
            rand=lambda: rand,
            batch_results=batch_results,
        )

    def results(self, event_type: str) -> list[NotificationResult]:
        return [e.data for e in self.publisher.events if e.type == event_type and isinstance(e.data, NotificationResult)]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    provider = FakeProvider()
    server = TestServer(provider.app(), host="127.0.0.1")
    await server.start_server()
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'notify.db'}"
    await (await migrated_database(db_url)).close()
    async with aiohttp.ClientSession() as session:
        r = Rig(provider, server, session, db_url)
        yield r
        for engine in r.engines:
            await engine.dispose()
    await server.close()


class CrashAfterSend:
    """The provider accepts the message, then the process dies before it is confirmed."""

    def __init__(self, inner: LoopbackChannel) -> None:
        self.name = inner.name
        self._inner = inner

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        await self._inner.send(msg)
        raise ProcessDied


async def test_two_processes_delivering_the_same_message_send_it_once(rig: Rig) -> None:
    (msg,) = messages(1)
    a, b = rig.deliverer(), rig.deliverer()
    outcomes = await asyncio.gather(a.deliver(msg), b.deliver(msg), a.deliver(msg))
    assert sorted(o.status for o in outcomes) == ["duplicate", "duplicate", "sent"]
    assert rig.provider.keys() == ["m0|out-1|opened|sms"]


async def test_reserve_is_atomic_across_connections(rig: Rig) -> None:
    stores = [rig.store() for _ in range(4)]
    states = await asyncio.gather(*(s.reserve("m1|inc|opened|sms", T0) for s in stores * 5))
    assert states.count("new") == 1
    assert set(states) == {"new", "in_flight"}


async def test_crash_between_send_and_confirm_never_sends_a_second_sms(rig: Rig) -> None:
    (msg,) = messages(1)
    with pytest.raises(ProcessDied):
        await rig.deliverer(CrashAfterSend(rig.channel())).deliver(msg)
    restarted = rig.deliverer()
    assert (await restarted.deliver(msg)).status == "duplicate"
    rig.clock.advance(SETTINGS.lease + 1)
    assert (await restarted.deliver(msg)).status == "duplicate"
    assert rig.provider.keys() == [msg.dedupe_key]
    record = await restarted.store.get(msg.dedupe_key)
    assert record is not None and record.state == "in_flight"


async def test_unconfirmed_sms_is_reported_to_ops_not_resent(rig: Rig) -> None:
    (msg,) = messages(1)
    with pytest.raises(ProcessDied):
        await rig.deliverer(CrashAfterSend(rig.channel())).deliver(msg)
    restarted = rig.deliverer()
    assert await restarted.sweep_unconfirmed() == []  # too young to judge
    rig.clock.advance(SETTINGS.unconfirmed_after + 1)
    (stale,) = await restarted.sweep_unconfirmed()
    assert stale.key == msg.dedupe_key
    (failed,) = rig.results(NOTIFICATION_FAILED)
    assert failed.dedupe_key == msg.dedupe_key and failed.error.startswith("unconfirmed")
    assert (await restarted.deliver(msg)).status == "duplicate"
    assert await restarted.sweep_unconfirmed() == []
    assert rig.provider.requests == 1


async def test_resend_safe_webhook_is_taken_over_after_the_lease(rig: Rig) -> None:
    rig.provider.dedupe_by_key = True
    (msg,) = messages(1, channel="webhook")
    with pytest.raises(ProcessDied):
        await rig.deliverer(CrashAfterSend(rig.channel("webhook")), name="webhook").deliver(msg)
    restarted = rig.deliverer(name="webhook")
    assert (await restarted.deliver(msg)).status == "duplicate"  # lease still live
    rig.clock.advance(SETTINGS.lease + 1)
    assert (await restarted.deliver(msg)).status == "sent"
    assert rig.provider.requests == 2
    assert rig.provider.keys() == [msg.dedupe_key]  # the receiver dropped the repeat by its key
    record = await restarted.store.get(msg.dedupe_key)
    assert record is not None and record.state == "sent"


async def test_provider_down_for_a_while_then_every_message_arrives_once(rig: Rig) -> None:
    rig.provider.down_for = 7  # the first message fails 7 times, the 8th attempt (the last allowed) works
    batch = messages(5)
    deliverer = rig.deliverer()
    outcomes = [await deliverer.deliver(m) for m in batch]
    assert [o.status for o in outcomes] == ["sent"] * 5
    assert outcomes[0].attempts == 8
    assert sorted(rig.provider.keys()) == sorted(m.dedupe_key for m in batch)
    sent = rig.results(NOTIFICATION_SENT)
    assert sorted(r.dedupe_key for r in sent) == sorted(m.dedupe_key for m in batch)
    assert {(r.incident_ids, r.phase, r.channel) for r in sent} == {(("out-1",), "opened", "sms")}
    assert rig.results(NOTIFICATION_FAILED) == []


async def test_concurrent_deliveries_through_an_outage_lose_nothing(rig: Rig) -> None:
    rig.provider.down_for = 12
    batch = messages(20)
    deliverer = rig.deliverer()
    outcomes = await asyncio.gather(*(deliverer.deliver(m) for m in batch))
    assert {o.status for o in outcomes} == {"sent"}
    assert sorted(rig.provider.keys()) == sorted(m.dedupe_key for m in batch)


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [(None, [2.0, 4.0, 8.0]), (10.0, [10.0, 10.0, 10.0]), (3.0, [3.0, 4.0, 8.0])],
)
async def test_backoff_doubles_and_honours_retry_after(rig: Rig, retry_after: float | None, expected: list[float]) -> None:
    rig.provider.down_for, rig.provider.retry_after = 3, retry_after
    (msg,) = messages(1)
    assert (await rig.deliverer().deliver(msg)).status == "sent"
    assert rig.slept == expected


async def test_jitter_spreads_waits_within_bounds(rig: Rig) -> None:
    rig.provider.down_for = 1
    (msg,) = messages(1)
    await rig.deliverer(rand=0.0).deliver(msg)
    assert rig.slept == [2.0 * (1 - SETTINGS.jitter)]


async def test_long_wait_is_left_to_run_due_which_survives_a_restart(rig: Rig) -> None:
    rig.provider.down_for, rig.provider.retry_after = 1, 600.0
    (msg,) = messages(1)
    first = rig.deliverer(settings=DeliverySettings())
    outcome = await first.deliver(msg)
    assert outcome.status == "retry_later"
    assert (await first.deliver(msg)).status == "duplicate"  # a re-plan does not jump the queue
    restarted = rig.deliverer(settings=DeliverySettings())
    assert await restarted.run_due() == 0  # not due yet
    rig.clock.advance(600)
    assert await restarted.run_due() == 1
    assert await restarted.run_due() == 0
    assert rig.provider.keys() == [msg.dedupe_key]
    assert rig.provider.accepted[0]["text"].startswith("【花呗提醒】花呗服务暂时异常")


async def test_permanent_error_is_recorded_and_never_retried(rig: Rig) -> None:
    (msg,) = messages(1)
    rig.provider.rejected = {msg.address}
    deliverer = rig.deliverer()
    outcome = await deliverer.deliver(msg)
    assert (outcome.status, outcome.attempts) == ("failed", 1)
    assert (await deliverer.deliver(msg)).status == "duplicate"
    assert rig.provider.requests == 1
    (dead,) = await deliverer.store.dead_letters(10)
    assert dead.key == msg.dedupe_key and "MOBILE_NUMBER_ILLEGAL" in dead.last_error
    (failed,) = rig.results(NOTIFICATION_FAILED)
    assert "MOBILE_NUMBER_ILLEGAL" in failed.error


async def test_gives_up_after_max_attempts_into_dead_letters(rig: Rig) -> None:
    rig.provider.down_for = 100
    (msg,) = messages(1)
    deliverer = rig.deliverer(settings=DeliverySettings(max_attempts=3))
    outcome = await deliverer.deliver(msg)
    assert (outcome.status, outcome.attempts) == ("dead", 3)
    assert rig.provider.requests == 3
    (failed,) = rig.results(NOTIFICATION_FAILED)
    assert failed.error.startswith("gave up after 3 attempts")
    assert [d.key for d in await deliverer.store.dead_letters(10)] == [msg.dedupe_key]


async def test_unknown_channel_is_a_dead_letter(rig: Rig) -> None:
    (msg,) = messages(1, channel="pigeon")
    outcome = await rig.deliverer().deliver(msg)
    assert outcome.status == "failed" and "pigeon" in outcome.error


async def test_group_leaves_out_a_part_that_was_already_sent(rig: Rig) -> None:
    a = messages(1, incident_id="out-a")[0]
    b = messages(1, incident_id="out-b")[0]
    deliverer = rig.deliverer()
    assert (await deliverer.deliver(a)).status == "sent"
    both = MessageGroup(a.recipient, a.channel, a.address, a.not_before, (a, b))
    outcome = await deliverer.deliver(both)
    assert outcome.keys == (b.dedupe_key,)
    assert rig.provider.keys() == [a.dedupe_key, b.dedupe_key]


async def test_group_of_two_is_one_message_recorded_under_both_keys(rig: Rig) -> None:
    a = messages(1, incident_id="out-a")[0]
    b = messages(1, incident_id="out-b")[0]
    deliverer = rig.deliverer()
    both = MessageGroup(a.recipient, a.channel, a.address, a.not_before, (a, b))
    assert (await deliverer.deliver(both)).status == "sent"
    assert rig.provider.keys() == [both.dedupe_key]
    assert (await deliverer.deliver(a)).status == "duplicate"
    assert (await deliverer.deliver(b)).status == "duplicate"
    assert sorted(r.dedupe_key for r in rig.results(NOTIFICATION_SENT)) == sorted([a.dedupe_key, b.dedupe_key])


async def test_message_not_yet_due_is_deferred_without_a_reservation(rig: Rig) -> None:
    (msg,) = messages(1)
    later = PlannedMessage(**{**{f: getattr(msg, f) for f in msg.__dataclass_fields__}, "not_before": T0 + timedelta(hours=1)})
    deliverer = rig.deliverer()
    assert (await deliverer.deliver(later)).status == "deferred"
    assert await deliverer.store.get(msg.dedupe_key) is None
    rig.clock.advance(3600)
    assert (await deliverer.deliver(later)).status == "sent"


async def test_expired_message_is_dropped(rig: Rig) -> None:
    (msg,) = messages(1)
    stale = PlannedMessage(**{**{f: getattr(msg, f) for f in msg.__dataclass_fields__}, "expires_at": T0})
    assert (await rig.deliverer().deliver(stale)).status == "expired"
    assert rig.provider.requests == 0


async def test_rendered_message_can_be_delivered_directly(rig: Rig) -> None:
    out = OutboundMessage(dedupe_key="ops|manual-1|note|sms", recipient="ops", address="13900000000", title="t", text="测试")
    deliverer = rig.deliverer()
    assert (await deliverer.deliver(out, channel="sms")).status == "sent"
    assert (await deliverer.deliver(out, channel="sms")).status == "duplicate"
    with pytest.raises(ValueError, match="channel"):
        await deliverer.deliver(out)


class FailsOnce:
    """A renderer whose first render breaks (e.g. a template error at run time)."""

    def __init__(self) -> None:
        self.broken = True
        self.real = Renderer()

    def render(self, item: PlannedMessage | MessageGroup, *, channel: str | None = None) -> OutboundMessage:
        if self.broken:
            self.broken = False
            raise RuntimeError("template exploded")
        return self.real.render(item, channel=channel)


async def test_error_before_sending_releases_the_reservation(rig: Rig) -> None:
    (msg,) = messages(1)
    store = rig.store()
    deliverer = Deliverer({"sms": rig.channel()}, store, None, rig.clock, SETTINGS, rig.sleep, renderer=FailsOnce())
    with pytest.raises(RuntimeError):
        await deliverer.deliver(msg)
    assert await store.get(msg.dedupe_key) is None
    assert (await deliverer.deliver(msg)).status == "sent"
    assert rig.provider.keys() == [msg.dedupe_key]


class CountingLimiter:
    """Grants every call at once and records its key."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def acquire(self, key: str) -> float:
        self.keys.append(key)
        return 0.0

    async def until_free(self, key: str) -> bool:
        return False

    def would_wait(self, key: str) -> bool:
        return False


async def test_every_attempt_passes_the_shared_limiter(rig: Rig) -> None:
    rig.provider.down_for = 2
    limiter = CountingLimiter()
    (msg,) = messages(1)
    deliverer = Deliverer({"sms": rig.channel()}, rig.store(), limiter, rig.clock, SETTINGS, rig.sleep)
    assert (await deliverer.deliver(msg)).status == "sent"
    assert limiter.keys == ["sms", "sms", "sms"]


async def test_batched_results_name_every_key_once_in_far_fewer_events(rig: Rig) -> None:
    batch = messages(40)
    deliverer = rig.deliverer(batch_results=True)
    outcomes = await asyncio.gather(*(deliverer.deliver(m) for m in batch))
    assert [o.status for o in outcomes] == ["sent"] * 40
    batches = [e.data for e in rig.publisher.events if e.type == NOTIFICATION_SENT_BATCH]
    assert all(isinstance(b, NotificationResultBatch) for b in batches)
    named = [r.dedupe_key for b in batches if isinstance(b, NotificationResultBatch) for r in b.results]
    named += [r.dedupe_key for r in rig.results(NOTIFICATION_SENT)]
    assert sorted(named) == sorted(m.dedupe_key for m in batch)  # each key once, in a batch or alone
    assert len(rig.publisher.events) <= 10
    assert all(r.incident_ids == ("out-1",) and r.channel == "sms"
               for b in batches if isinstance(b, NotificationResultBatch) for r in b.results)


async def test_failures_are_never_batched(rig: Rig) -> None:
    deliverer = rig.deliverer(batch_results=True)
    batch = messages(5)
    rig.provider.rejected = {m.address for m in batch}
    await asyncio.gather(*(deliverer.deliver(m) for m in batch))
    assert sorted(r.dedupe_key for r in rig.results(NOTIFICATION_FAILED)) == sorted(m.dedupe_key for m in batch)
    assert not [e for e in rig.publisher.events if e.type == NOTIFICATION_SENT_BATCH]
