"""Plan -> group -> fan-out -> deliver, replayed the way a restarted consumer replays: nothing twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from consumers.notify.delivery import Deliverer
from consumers.notify.fanout import FanOut
from consumers.notify.plan import Endpoint, Recipient, group, next_due, plan
from consumers.notify.store import SqlDeliveryStore
from consumers.notify.subsettings import PlanSettings
from huabei_watch.clock import SHANGHAI, ManualClock
from huabei_watch.events import Incident, IncidentKind, Phase, Scope
from tests.notify._fake_provider import FakeProvider, LoopbackChannel
from tests.support import migrated_database

NIGHT = datetime(2026, 11, 26, 23, 0, tzinfo=SHANGHAI)
MORNING = datetime(2026, 11, 27, 8, 0, tzinfo=SHANGHAI)
START = datetime(2026, 11, 28, 2, 0, tzinfo=SHANGHAI)
END = datetime(2026, 11, 28, 4, 0, tzinfo=SHANGHAI)
MERCHANTS = [Recipient(f"m{i}", (Endpoint("wecom", f"robot-{i}"), Endpoint("sms", f"1380000{i:04d}"))) for i in range(30)]
OPS = Recipient.ops(Endpoint("wecom", "robot-ops"))
SETTINGS = PlanSettings(reminders=(1,))
MAINT = Incident(
    incident_id="maint-1", kind=IncidentKind.MAINTENANCE, scope=Scope.platform(), phase=Phase.SCHEDULED,
    starts_at=START, ends_at=END, opened_at=NIGHT, updated_at=NIGHT, revision=1,
)
ACCT = Incident(
    incident_id="acct-3", kind=IncidentKind.MERCHANT_ACCOUNT, scope=Scope.merchants("m3"), phase=Phase.ACTIVE,
    opened_at=NIGHT, updated_at=NIGHT, revision=1,
)


class World:
    def __init__(self, session: aiohttp.ClientSession, wecom: TestServer, sms: TestServer, db_url: str) -> None:
        self.session, self.wecom, self.sms, self.db_url = session, wecom, sms, db_url
        self.clock = ManualClock(NIGHT)
        self.engines: list[AsyncEngine] = []

    def process(self) -> FanOut:
        """A fresh consumer process: its own engine, deliverer and fan-out."""
        engine = create_async_engine(self.db_url)
        self.engines.append(engine)

        async def sleep(seconds: float) -> None:
            self.clock.advance(seconds)
            await asyncio.sleep(0)

        channels = {
            "wecom": LoopbackChannel("wecom", self.session, self.wecom),
            "sms": LoopbackChannel("sms", self.session, self.sms),
        }
        return FanOut(Deliverer(channels, SqlDeliveryStore(engine), None, self.clock, None, sleep))

    async def handle(self, fan: FanOut) -> datetime | None:
        """What the consumer does on an incident event or a timer tick: plan, group, deliver."""
        now = self.clock.now()
        everyone = [*MERCHANTS, OPS]
        planned = plan(MAINT, None, everyone, now, SETTINGS) + plan(ACCT, None, everyone, now, SETTINGS)
        fan.submit("tick", group(planned))
        await fan.run(burst=True)
        return next_due(planned, now)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[World, FakeProvider, FakeProvider]]:
    wecom_fake, sms_fake = FakeProvider(), FakeProvider()
    wecom, sms = TestServer(wecom_fake.app(), host="127.0.0.1"), TestServer(sms_fake.app(), host="127.0.0.1")
    await wecom.start_server()
    await sms.start_server()
    url = f"sqlite+aiosqlite:///{tmp_path / 'n.db'}"
    await (await migrated_database(url)).close()
    async with aiohttp.ClientSession() as session:
        w = World(session, wecom, sms, url)
        yield w, wecom_fake, sms_fake
        for engine in w.engines:
            await engine.dispose()
    await wecom.close()
    await sms.close()


async def test_restarted_consumer_replaying_events_sends_nothing_twice(world: tuple[World, FakeProvider, FakeProvider]) -> None:
    w, wecom, sms = world
    first = w.process()
    wake = await w.handle(first)
    # At 23:00: every merchant's robot gets the announcement; m3 gets its account alert merged with it
    # (one message, two keys); ops gets one message covering both incidents; SMS waits except m3's critical one.
    assert len(wecom.accepted) == 31
    assert sum("2条" in a["text"] for a in wecom.accepted) == 2  # m3 and ops
    assert [a["to"] for a in sms.accepted] == ["13800000003"]
    assert wake == MORNING
    # deferred: 30 announcement SMS (to 08:00), 31 robot reminders (01:00 on the 28th), 31 robot "started"
    assert first.sent == 32 and first.deferred == 30 + 31 + 31

    again = w.process()  # killed before committing the offset: the event comes again
    await w.handle(again)
    assert (len(wecom.accepted), len(sms.accepted)) == (31, 1)
    assert again.sent == 0 and again.duplicates == 32

    w.clock.set(MORNING)  # the timer tick at the end of quiet hours
    morning = w.process()
    await w.handle(morning)
    assert len(sms.accepted) == 31 and len(set(sms.keys())) == 31
    assert len(wecom.accepted) == 31
    await w.handle(w.process())
    assert (len(wecom.accepted), len(sms.accepted)) == (31, 31)
