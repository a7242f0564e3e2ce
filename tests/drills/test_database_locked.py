"""Fault drill: the database is locked for a while as events arrive.

An exclusive SQLite lock (``BEGIN EXCLUSIVE`` from another connection) is held while signals are
consumed. Expected: writers wait or retry (SQLite busy timeout, ``Database.run``, the consumer
runner's transient retries), nothing crashes, nothing is dead-lettered, and every signal is
recorded once the lock is released.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from consumers.incidents.signal_log import record_signal, signal_log
from huabei_watch import metrics
from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.bus.kafka import Bus
from huabei_watch.clock import ManualClock
from huabei_watch.db.engine import Database
from huabei_watch.errors import TransientError
from tests.e2e.harness import get_json, running, settings_for
from tests.incidents import factories
from tests.support import eventually, migrated_database

#: How long the fault lasts once the consumer is stuck on it (the drill's parameter, not a wait).
LOCK_HELD_S = 2.0


@contextmanager
def exclusive_lock(path: Path) -> Iterator[sqlite3.Connection]:
    """Hold an exclusive write lock on the SQLite file at ``path`` until the block ends."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=10)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        yield conn
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def _count(path: Path) -> int:
    conn = sqlite3.connect(path, timeout=10)
    try:
        return int(conn.execute("SELECT count(*) FROM signal_log").fetchone()[0])
    finally:
        conn.close()


async def test_database_run_retries_a_locked_database_until_it_is_released(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.db"
    migrated = await migrated_database(f"sqlite+aiosqlite:///{path}", retry_for=5)
    await migrated.close()
    # A short driver timeout so "database is locked" surfaces at once and Database.run must retry.
    db = Database(create_async_engine(f"sqlite+aiosqlite:///{path}", connect_args={"timeout": 0.05}), retry_for=20)
    event = factories.probe(True, factories.T0, probe_id="locked")
    caplog.set_level(logging.DEBUG, logger="huabei_watch.db.engine")
    try:
        with exclusive_lock(path):
            task = asyncio.create_task(record_signal(db, event, factories.T0))
            await eventually(lambda: any(r.msg == "db.retry" for r in caplog.records), timeout=10, what="a db.retry")
            assert not task.done()
            await asyncio.sleep(LOCK_HELD_S)  # keep the fault in place a while: the drill's duration
            assert not task.done()
        assert await asyncio.wait_for(task, 20) is True
        assert await record_signal(db, event, factories.T0) is False  # recorded once
    finally:
        await db.close()


async def test_database_run_gives_up_with_a_transient_error_when_the_lock_outlasts_retry_for(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    migrated = await migrated_database(f"sqlite+aiosqlite:///{path}", retry_for=5)
    await migrated.close()
    db = Database(create_async_engine(f"sqlite+aiosqlite:///{path}", connect_args={"timeout": 0.05}), retry_for=0.5)
    try:
        with exclusive_lock(path), pytest.raises(TransientError, match="database unavailable"):
            await record_signal(db, factories.probe(True, factories.T0), factories.T0)
    finally:
        await db.close()


@asynccontextmanager
async def table_locked(url: str) -> AsyncIterator[None]:
    """Writes to the daemon's database blocked until the block ends: SQLite's file lock, or on
    PostgreSQL an EXCLUSIVE lock on ``signal_log`` (reads still pass, inserts wait)."""
    if url.startswith("sqlite"):
        with exclusive_lock(Path(url.split("///", 1)[1])):
            yield
        return
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn, conn.begin() as tx:
            await conn.execute(text("LOCK TABLE signal_log IN EXCLUSIVE MODE"))
            yield
            await tx.rollback()
    finally:
        await engine.dispose()


@pytest.mark.slow
async def test_signals_arriving_while_the_database_is_locked_are_all_recorded_after_release(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path, database_url: str
) -> None:
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    settings = settings_for(tmp_path, bus.topics.prefix, {"database": {"url": database_url}})
    async with running(settings, broker, ["incidents"], clock) as app:
        runner = next(r for r, _ in app.consumers if r.group_id.endswith(".incidents"))
        await eventually(lambda: runner.started, timeout=30, what="the incidents consumer joined")

        async def count() -> int:
            async with app.db.engine.connect() as conn:
                return int((await conn.execute(select(func.count()).select_from(signal_log))).scalar_one())

        base = await count()
        t0 = clock.now() - timedelta(minutes=5)
        events = [factories.probe(i % 2 == 0, t0 + timedelta(seconds=i), probe_id=f"p{i % 5}") for i in range(40)]
        async with table_locked(database_url):
            for ev in events:
                await bus.publish(ev)
            labels = {"group": runner.group_id}

            def in_flight() -> bool:
                return (metrics.REGISTRY.get_sample_value("huabei_consumer_inflight", labels) or 0) > 0

            await eventually(in_flight, timeout=30, what="records fetched and stuck on the lock")
            await asyncio.sleep(LOCK_HELD_S)  # keep the fault in place a while: the drill's duration
            assert await count() == base  # nothing got through the lock
            status, body, _ = await get_json(app, "/healthz")
            assert status == 200, body

        async def all_recorded() -> bool:
            return await count() == base + len(events)

        await eventually(all_recorded, timeout=45, what="every signal recorded")
        assert runner.dead_lettered == 0
        status, body, _ = await get_json(app, "/readyz")
        assert status == 200, body
        async with app.db.engine.connect() as conn:
            ids = set((await conn.execute(select(signal_log.c.event_id))).scalars())
        assert {e.id for e in events} <= ids


@pytest.mark.slow
async def test_postgres_connections_killed_while_signals_arrive_lose_nothing(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path, postgres_url: str
) -> None:
    """PostgreSQL "unreachable": every connection of the daemon is terminated again and again
    while signals arrive; the pool reconnects, Database.run retries, nothing is dead-lettered."""
    database_url = postgres_url
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    settings = settings_for(tmp_path, bus.topics.prefix, {"database": {"url": database_url}})
    dbname = database_url.rsplit("/", 1)[1]
    killer = create_async_engine(database_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    terminate = text(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
    )
    try:
        async with running(settings, broker, ["incidents"], clock) as app:
            runner = next(r for r, _ in app.consumers if r.group_id.endswith(".incidents"))
            await eventually(lambda: runner.started, timeout=30, what="the incidents consumer joined")
            t0 = clock.now() - timedelta(minutes=5)
            events = [factories.probe(i % 2 == 0, t0 + timedelta(seconds=i), probe_id=f"k{i % 5}") for i in range(40)]
            killed = 0
            async with killer.connect() as conn:
                for i, ev in enumerate(events):
                    await bus.publish(ev)
                    if i % 4 == 0:
                        killed += int((await conn.execute(terminate, {"db": dbname})).scalar_one())
            assert killed > 0

            async def all_recorded() -> bool:
                async with app.db.engine.connect() as c:
                    ids = set((await c.execute(select(signal_log.c.event_id))).scalars())
                return {e.id for e in events} <= ids

            await eventually(all_recorded, timeout=45, what="every signal recorded after the connection kills")
            assert runner.dead_lettered == 0
            status, body, _ = await get_json(app, "/readyz")
            assert status == 200, body
    finally:
        await killer.dispose()
