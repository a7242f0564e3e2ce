"""Issue 17 review: the shard worker against a real board and fan-out -- a lane whose stream raised
gives its shard back and is not renewed; a lease lost stops the lane telling its range."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text, update

from consumers.notify.fanout import FanOut
from consumers.notify.plan import Recipient
from consumers.notify.planner import Audience, Planner
from consumers.notify.ports import OutboundMessage, SendReceipt
from consumers.notify.progress import FanoutMarks
from consumers.notify.shard_board import ShardBoard, notify_fanout_shards
from consumers.notify.shard_worker import ShardWorker
from consumers.notify.subsettings import FanOutSettings, PlanSettings
from huabei_watch.clock import ManualClock
from huabei_watch.config.settings import MerchantConfig
from huabei_watch.db.engine import Database
from huabei_watch.events import Incident
from huabei_watch.merchants.registry import MerchantRegistry
from tests.cashier.incident_builders import outage_incident
from tests.notify.test_notify_fanout import Recorder, deliverer
from tests.support import eventually

NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
SHARDED: dict[str, Any] = {"shards": 2, "min_shard_merchants": 1, "shards_per_process": 2, "shard_lease": 30,
                           "claim_every": 1}
SETTINGS = FanOutSettings(**SHARDED)


@dataclass
class Incidents:
    """The incidents notify holds (the worker's port): one."""

    incident: Incident

    async def get(self, incident_id: str) -> tuple[Incident, Incident | None] | None:
        return (self.incident, None) if incident_id == self.incident.incident_id else None


class Gate(Recorder):
    """A robot channel whose sends wait until the test opens it."""

    def __init__(self) -> None:
        super().__init__("wecom")
        self.open = asyncio.Event()

    async def send(self, msg: OutboundMessage) -> SendReceipt:
        await self.open.wait()
        return await super().send(msg)


@asynccontextmanager
async def world(db: Database, channel: Recorder, settings: FanOutSettings = SETTINGS) -> AsyncIterator[tuple[ShardWorker, FanOut, ManualClock, Incident]]:
    registry = MerchantRegistry(db)
    await registry.upsert_many([MerchantConfig.model_validate(
        {"id": f"m{i}", "channels": ["wecom"], "contacts": {"wecom_robot_key": f"r{i}"}}) for i in range(4)],
        origin="import", now=NOW)
    clock, marks, board = ManualClock(NOW), FanoutMarks(db), ShardBoard(db, database_clock=False)
    fanout = FanOut(deliverer(channel, clock=clock), settings)
    planner = Planner(fanout=fanout, registry=registry, marks=marks,
                      audience=Audience(Recipient("ops", ()), frozenset({"wecom"}), lambda names: ()),
                      settings=PlanSettings(), clock=clock)
    incident = outage_incident(NOW)
    await board.offer(incident, frozenset({"opened"}), 1, _no_bounds, NOW)
    worker = ShardWorker(board=board, planner=planner, incidents=Incidents(incident), fanout=fanout, marks=marks,
                         settings=SETTINGS, clock=clock, owner="a", wake=asyncio.Event(), replan_every=600)
    runner = asyncio.create_task(fanout.run())
    try:
        yield worker, fanout, clock, incident
    finally:
        fanout.stop()
        channel_open = getattr(channel, "open", None)
        if isinstance(channel_open, asyncio.Event):
            channel_open.set()
        await runner


async def _no_bounds(shards: int) -> list[str]:
    raise AssertionError("one shard needs no bounds")


async def _row(db: Database) -> tuple[str | None, datetime | None, bool]:
    t = notify_fanout_shards
    async with db.engine.connect() as conn:
        r = (await conn.execute(select(t.c.owner, t.c.lease_until, t.c.done_at))).one()
    return r.owner, r.lease_until, r.done_at is not None


async def test_a_shard_whose_stream_raised_is_given_back_for_a_retry_and_no_longer_renewed(db: Database) -> None:
    async with world(db, Recorder("wecom")) as (worker, fanout, clock, _incident):
        async with db.begin() as conn:  # the registry query fails (a database blip)
            await conn.execute(text("ALTER TABLE merchants RENAME TO merchants_away"))
        await worker.tick()
        await eventually(lambda: worker.finished == 1, what="the failed shard's lane reported")
        retry_at = clock.now() + timedelta(seconds=SETTINGS.shard_lease)
        assert await _row(db) == ("a", retry_at, False)  # free again after a lease, not done

        clock.advance(10)
        await worker.tick()  # nothing held any more: the lease is not renewed
        assert await _row(db) == ("a", retry_at, False)

        async with db.begin() as conn:
            await conn.execute(text("ALTER TABLE merchants_away RENAME TO merchants"))
        await db.engine.dispose()  # the blip is over: fresh connections (no statement cached against the old name)
        clock.advance(SETTINGS.shard_lease)
        await worker.tick()  # taken again once the retry is due, and told this time
        await eventually(lambda: worker.finished == 2, what="the retried shard told")
        assert (await _row(db))[2] and fanout.errors == 0 and fanout.sent == 4


async def test_a_lost_lease_stops_the_lane_and_leaves_the_shard_to_its_new_holder(db: Database) -> None:
    gate = Gate()
    async with world(db, gate, FanOutSettings(concurrency={"wecom": 1}, **SHARDED)) as (worker, fanout, _clock, incident):
        await worker.tick()
        lane = f"{incident.incident_id}#0:opened"
        await eventually(lambda: fanout.in_progress == 1 and fanout.queued == 4, what="a delivery started, the rest pulled")
        async with db.begin() as conn:  # paused past the lease; another process took the shard over
            await conn.execute(update(notify_fanout_shards).values(owner="b", lease_until=NOW + timedelta(hours=1)))

        await worker.tick()
        gate.open.set()
        await eventually(lambda: not fanout.active(lane) and fanout.in_progress == 0, what="the lane stopped")
        assert len(gate.sent) == 1  # the delivery already started, none of the items pulled behind it
        assert worker.lost == 1 and worker.finished == 0 and await _row(db) == ("b", NOW + timedelta(hours=1), False)
