"""The incidents lease (huabei_watch.lease): one holder at a time, a standby that takes over once
the holder stops renewing (PostgreSQL) or dies (SQLite file lock), fencing tokens that grow,
consumers that refuse a record stamped with a superseded token, and an incident store that writes
nothing for a former holder."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from consumers.incidents.engine import IncidentEngine
from consumers.incidents.settings import IncidentSettings
from consumers.incidents.store import IncidentStore
from huabei_watch.bus.kafka import Bus, MessageContext
from huabei_watch.config.settings import KafkaSettings, LeaseSettings
from huabei_watch.db.engine import Database
from huabei_watch.errors import TransientError
from huabei_watch.events import Event, EventData
from huabei_watch.lease import LeaseKeeper, LeaseLost, LeaseTokens
from tests.foundation.test_consumer_runner import health
from tests.foundation.test_consumer_runner import runner as consumer
from tests.incidents.factories import T0
from tests.support import eventually

#: Older than anything stored: load every incident.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

QUICK = LeaseSettings(lease_ttl=2, renew_every=0.5, standby_poll=0.2)


def keeper(db: Database, tmp_path: Path, who: str) -> LeaseKeeper:
    return LeaseKeeper(db, "incidents", QUICK, state_dir=tmp_path, holder=who)


async def test_a_standby_waits_while_the_holder_renews_and_takes_over_with_a_higher_token_once_it_stops(
    db: Database, tmp_path: Path
) -> None:
    first, second = keeper(db, tmp_path, "first"), keeper(db, tmp_path, "second")
    stop = asyncio.Event()
    fence1 = await first.acquire(stop)
    assert fence1 is not None and fence1.valid()
    renewing = asyncio.create_task(first.keep())
    standby = asyncio.create_task(second.acquire(stop))
    tokens = LeaseTokens(db)
    try:
        # More than a lease period of renewals (PostgreSQL; SQLite's lock needs none) while the
        # standby kept trying: no takeover.
        periods = 1 if db.engine.dialect.name == "sqlite" else int(QUICK.lease_ttl / QUICK.renew_every) + 2
        await eventually(lambda: second.attempts >= 10 and (first.renewals >= periods or first.sqlite), timeout=30,
                         what="renewals while the standby tried")
        assert not standby.done(), "the standby took a lease that was being renewed"
        assert fence1.valid()
        if db.engine.dialect.name == "sqlite":
            await first.release()  # the file lock goes with its holder (here: closed, as at its death)
        renewing.cancel()  # the holder stops renewing: killed or paused
        fence2 = await asyncio.wait_for(standby, QUICK.lease_ttl * 10)
        assert fence2 is not None and fence2.token == fence1.token + 1
        assert await tokens.stale("incidents", fence1.token)
        assert not await tokens.stale("incidents", fence2.token)
        assert not await tokens.stale("other-lease", 1)
    finally:
        stop.set()
        for task in (renewing, standby):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, LeaseLost):
                await task
        await second.release()
        await first.release()


async def test_a_holder_that_cannot_renew_any_more_learns_it_lost_the_lease_and_its_fence_stops_publishing(
    db: Database, tmp_path: Path
) -> None:
    if db.engine.dialect.name == "sqlite":
        pytest.skip("a file lock is held until its holder dies: nothing to lose while alive")
    first, second = keeper(db, tmp_path, "first"), keeper(db, tmp_path, "second")
    stop = asyncio.Event()
    fence1 = await first.acquire(stop)
    assert fence1 is not None
    # Paused past its lease: its own clock says the lease ran out; the standby took the row.
    fence1.valid_until = fence1.monotonic() - 0.01
    assert not fence1.valid()
    fence2 = await asyncio.wait_for(second.acquire(stop), QUICK.lease_ttl * 10)
    assert fence2 is not None
    with pytest.raises(LeaseLost, match="held by another process"):
        await asyncio.wait_for(first.keep(), QUICK.lease_ttl * 10)
    await second.release()


async def test_records_stamped_with_a_superseded_fencing_token_are_refused_by_consumers(
    bus: Bus, kafka_settings: KafkaSettings, db: Database, tmp_path: Path
) -> None:
    holder = keeper(db, tmp_path, "old")
    fence1 = await holder.acquire(asyncio.Event())
    assert fence1 is not None
    await holder.release()
    new = keeper(db, tmp_path, "new")
    fence2 = await new.acquire(asyncio.Event())
    assert fence2 is not None and fence2.token > fence1.token
    handled: list[str] = []

    async def handler(event: Event[EventData], ctx: MessageContext) -> None:
        handled.append(event.id)

    stale, current = health(1), health(2)
    bus.fence = fence1
    fence1.valid_until = float("inf")  # a former leader that does not know yet
    await bus.publish(stale)
    bus.fence = fence2
    await bus.publish(current)
    bus.fence = None
    await bus.publish(unfenced := health(3))
    run = consumer(bus, kafka_settings, handler, "fenced")
    run.fences = LeaseTokens(db)
    await run.start()
    task = asyncio.create_task(run.run())
    try:
        await eventually(lambda: len(handled) == 2, timeout=30, what="the current and unfenced records handled")
        await eventually(lambda: run.lag() == 0, timeout=30, what="every record done")
        assert sorted(handled) == sorted([current.id, unfenced.id])
    finally:
        run.request_stop()
        await task
        await run.stop()
        await new.release()


async def test_a_former_leader_that_does_not_know_yet_writes_no_incident_once_the_lease_moved(
    db: Database, tmp_path: Path
) -> None:
    engine = IncidentEngine(IncidentSettings())
    old, new = keeper(db, tmp_path, "old"), keeper(db, tmp_path, "new")
    fence1 = await old.acquire(asyncio.Event())
    assert fence1 is not None
    stale_store = IncidentStore(db, fence=fence1)
    opened = engine.open_manual(now=T0, by="ops", title="drill", summary_zh="")
    await stale_store.save([engine.record(opened.incident_id)])  # while it holds the lease
    await old.release()
    fence2 = await new.acquire(asyncio.Event())
    assert fence2 is not None
    fence1.valid_until = float("inf")  # paused past its lease: its own clock has not caught up yet
    resolved = engine.resolve(opened.incident_id, T0 + timedelta(minutes=1), "stale")
    with pytest.raises(TransientError, match="no longer holds the incidents lease"):
        await stale_store.save([engine.record(resolved.incident_id)])
    [kept] = await IncidentStore(db, fence=fence2).load_recent(EPOCH)
    assert kept.incident.revision == opened.revision and kept.incident.phase is opened.phase
    await IncidentStore(db, fence=fence2).save([engine.record(resolved.incident_id)])
    [now_saved] = await IncidentStore(db).load_recent(EPOCH)
    assert now_saved.incident.revision == resolved.revision
    await new.release()
