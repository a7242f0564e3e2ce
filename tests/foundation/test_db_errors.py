"""Database errors are told apart honestly: only what can pass (SQLite busy/locked, PostgreSQL
SQLSTATE classes 08, 40 and 57P, a refused connection) is retried; everything else is permanent at
once with the driver's message, and every log line names the underlying error."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from consumers.incidents.signal_log import record_signal
from huabei_watch.db.engine import Database, is_transient_db_error
from huabei_watch.errors import PermanentError, TransientError
from tests.incidents import factories
from tests.support import eventually, fresh_pg_database, migrated_database

LOGGER = "huabei_watch.db.engine"


def _retries(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.msg == "db.retry"]


async def test_a_missing_table_is_permanent_at_once_with_the_real_message(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    attempts = 0

    async def work() -> None:
        nonlocal attempts
        attempts += 1
        async with db.begin() as conn:
            await conn.execute(text("SELECT * FROM no_such_table_here"))

    with pytest.raises(PermanentError) as err:
        await db.run(work, retry_for=30)
    assert attempts == 1
    assert "no_such_table_here" in err.value.reason
    assert not _retries(caplog)


async def test_a_constraint_violation_is_permanent(db: Database) -> None:
    async def work() -> None:
        async with db.begin() as conn:
            for _ in range(2):
                await conn.execute(text("INSERT INTO runtime_probe (process, at) VALUES ('same', '2026-01-01')"))

    with pytest.raises(PermanentError, match=r"(?i)unique|runtime_probe"):
        await db.run(work, retry_for=30)


async def test_a_locked_sqlite_database_is_retried_until_released_and_logged_at_debug_with_its_cause(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.db"
    await (await migrated_database(f"sqlite+aiosqlite:///{path}")).close()
    # A short driver timeout so "database is locked" comes back at once and Database.run retries.
    db = Database(create_async_engine(f"sqlite+aiosqlite:///{path}", connect_args={"timeout": 0.05}), retry_for=30)
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    holder = sqlite3.connect(path, isolation_level=None, timeout=10)
    try:
        holder.execute("BEGIN EXCLUSIVE")

        async def work() -> int:
            async with db.begin() as conn:
                await conn.execute(text("INSERT INTO runtime_probe (process, at) VALUES ('p', '2026-01-01')"))
            return 1

        task = asyncio.create_task(db.run(work))
        await eventually(lambda: _retries(caplog), timeout=10, what="a db.retry")
        assert not task.done()
        holder.execute("ROLLBACK")
        assert await asyncio.wait_for(task, 30) == 1
    finally:
        holder.close()
        await db.close()
    retry = _retries(caplog)[0]
    assert retry.levelno == logging.DEBUG
    assert "database is locked" in retry.reason  # type: ignore[attr-defined]  # a logging extra field


async def test_sqlite_snapshot_contention_between_two_tasks_is_retried_and_loses_no_write(tmp_path: Path) -> None:
    """Why lock contention in the single-process default is harmless: two tasks read, then write.
    The one whose read snapshot went stale gets SQLITE_BUSY at once (the busy timeout cannot help
    a stale snapshot); Database.run runs its unit of work again and both increments land."""
    db = await migrated_database(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    try:
        async with db.begin() as conn:
            await conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
            await conn.execute(text("INSERT INTO counter (n) VALUES (0)"))
        read_done, other_committed = asyncio.Event(), asyncio.Event()
        attempts = {"slow": 0}

        async def slow() -> None:
            attempts["slow"] += 1
            async with db.begin() as conn:
                n = (await conn.execute(text("SELECT n FROM counter"))).scalar_one()
                if attempts["slow"] == 1:
                    read_done.set()
                    await other_committed.wait()
                await conn.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})

        async def fast() -> None:
            await read_done.wait()
            async with db.begin() as conn:
                n = (await conn.execute(text("SELECT n FROM counter"))).scalar_one()
                await conn.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
            other_committed.set()

        await asyncio.wait_for(asyncio.gather(db.run(slow), db.run(fast)), 30)
        async with db.begin() as conn:
            assert (await conn.execute(text("SELECT n FROM counter"))).scalar_one() == 2
        assert attempts["slow"] == 2  # the stale snapshot failed once and the work ran again
    finally:
        await db.close()


async def test_a_refused_connection_is_transient_and_the_final_error_names_it() -> None:
    db = await Database.open("postgresql+asyncpg://u:p@127.0.0.1:1/none", retry_for=0.3)
    try:
        with pytest.raises(TransientError, match=r"database unavailable: .*(?i:refused|connect)"):
            await db.run(lambda: _select_one(db))
    finally:
        await db.close()


async def _select_one(db: Database) -> None:
    async with db.begin() as conn:
        await conn.execute(text("SELECT 1"))


@pytest.fixture
async def pg() -> AsyncIterator[Database]:
    base = os.environ.get("HUABEI_TEST_PG_URL")
    if not base:
        pytest.skip("PostgreSQL not configured (HUABEI_TEST_PG_URL)")
    database = await migrated_database(await fresh_pg_database(base))
    yield database
    await database.close()


@pytest.mark.parametrize(
    ("sqlstate", "transient"),
    [
        ("08006", True),  # connection failure
        ("08001", True),  # cannot connect
        ("40001", True),  # serialization failure
        ("40P01", True),  # deadlock detected
        ("57P01", True),  # admin shutdown
        ("57P03", True),  # cannot connect now
        ("55P03", True),  # lock not available (Database.begin(wait=...))
        ("42P01", False),  # undefined table
        ("23505", False),  # unique violation
        ("22012", False),  # division by zero
        ("42501", False),  # insufficient privilege
        ("53100", False),  # disk full: an operator must act, retrying for a minute hides it
    ],
)
async def test_postgresql_errors_are_transient_only_in_classes_08_40_57p(
    pg: Database, sqlstate: str, transient: bool
) -> None:
    async with pg.engine.connect() as conn:
        with pytest.raises(Exception) as raised:
            await conn.execute(text(f"DO $$ BEGIN RAISE EXCEPTION 'drill' USING ERRCODE = '{sqlstate}'; END $$"))
    assert is_transient_db_error(raised.value) is transient


async def test_a_postgresql_lock_timeout_is_retried_until_the_lock_goes(
    pg: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    async with pg.begin() as conn:
        await conn.execute(text("CREATE TABLE drill (n INTEGER)"))
    holder = await pg.engine.connect()
    await holder.begin()
    await holder.execute(text("LOCK TABLE drill IN ACCESS EXCLUSIVE MODE"))

    async def work() -> None:
        async with pg.begin(wait=0.1) as conn:
            await conn.execute(text("INSERT INTO drill (n) VALUES (1)"))

    task = asyncio.create_task(pg.run(work, retry_for=30))
    try:
        await eventually(lambda: _retries(caplog), timeout=10, what="a db.retry")
        assert not task.done()
    finally:
        await holder.rollback()
        await holder.close()
    await asyncio.wait_for(task, 30)
    retry = _retries(caplog)[0]
    assert retry.levelno == logging.WARNING
    # lock_timeout (55P03) or statement_timeout (57014), whichever PostgreSQL hits first
    assert "[55P03]" in retry.reason or "QueryCanceledError [57014]" in retry.reason  # type: ignore[attr-defined]  # a logging extra field


async def test_a_signal_into_a_dropped_table_is_permanent_at_once_so_the_consumer_dead_letters_it(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 14: a missing table was retried for the whole retry window, reported as "database
    unavailable" and retried 8 more times by the consumer. Now the consumer gets a PermanentError
    (which it dead-letters with its reason) on the first attempt."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    async with db.begin() as conn:
        await conn.execute(text("DROP TABLE signal_log"))
    event = factories.probe(True, factories.T0, probe_id="gone")
    with pytest.raises(PermanentError) as err:
        await record_signal(db, event, factories.T0)
    assert "signal_log" in err.value.reason
    assert not _retries(caplog)


async def test_no_pooled_connection_free_in_time_is_transient(tmp_path: Path) -> None:
    """A SQLite engine keeps at most ``pool_size`` connections (no overflow): a unit of work that
    finds them all busy past the pool's timeout is retried, not failed for good."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}", pool_size=1, max_overflow=0,
                                 pool_timeout=0.05)
    try:
        async with engine.connect():
            with pytest.raises(Exception) as raised:
                async with engine.connect():
                    pass
        assert is_transient_db_error(raised.value)
    finally:
        await engine.dispose()
