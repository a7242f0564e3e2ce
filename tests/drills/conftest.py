"""Drill fixtures: a broker of the drill's own (drills stop and kill it; the session broker stays up)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from huabei_watch.bus.broker import EmbeddedBroker
from tests.conftest import _fresh_pg_database, _pg_url


@pytest.fixture
async def own_broker(tmp_path: Path) -> AsyncIterator[EmbeddedBroker]:
    b = EmbeddedBroker(log_path=tmp_path / "own-broker.log")
    await b.start()
    yield b
    await b.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for a daemon subprocess: a SQLite file, or (when HUABEI_TEST_PG_URL is
    set) a fresh PostgreSQL database. The schema is created by the daemon at start-up."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{(tmp_path / 'shared.db').as_posix()}"
    return await _postgres()


@pytest.fixture
async def postgres_url() -> str:
    """A fresh PostgreSQL database, for drills that only make sense there."""
    return await _postgres()


async def _postgres() -> str:
    base = _pg_url()
    if base is None:
        pytest.skip("PostgreSQL not configured (HUABEI_TEST_PG_URL)")
    return await _fresh_pg_database(base)
