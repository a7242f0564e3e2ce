"""Drill fixtures: a broker of the drill's own (drills stop and kill it; the session broker stays up), the
database URL, and the daemon processes a drill started (killed at the end)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from huabei_watch.bus.broker import EmbeddedBroker
from tests.conftest import _pg_url
from tests.support import fresh_pg_database, migrated_database


@pytest.fixture
async def own_broker(tmp_path: Path) -> AsyncIterator[EmbeddedBroker]:
    b = EmbeddedBroker(log_path=tmp_path / "own-broker.log")
    await b.start()
    yield b
    await b.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for a daemon subprocess: a SQLite file, or (when HUABEI_TEST_PG_URL is
    set) a fresh PostgreSQL database. SQLite: the daemon upgrades it at start-up; PostgreSQL: migrated
    here, as the deployment's ``huabei-watch db upgrade`` step does before the roles start."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{(tmp_path / 'shared.db').as_posix()}"
    return await _postgres()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A reader of the daemon's database, beside it."""
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def postgres_url() -> str:
    """A fresh, migrated PostgreSQL database, for drills that only make sense there."""
    return await _postgres()


async def _postgres() -> str:
    base = _pg_url()
    if base is None:
        pytest.skip("PostgreSQL not configured (HUABEI_TEST_PG_URL)")
    url = await fresh_pg_database(base)
    await (await migrated_database(url)).close()
    return url


@pytest.fixture
async def processes() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """Daemon processes a drill started; any still running at the end is killed."""
    procs: list[asyncio.subprocess.Process] = []
    yield procs
    for p in procs:
        if p.returncode is None:
            p.kill()
            await p.wait()
