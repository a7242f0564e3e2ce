"""Fixtures for source tests: the fake platform, a real SQLite store, a manual clock, a fetcher."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from huabei_watch.clock import ManualClock
from huabei_watch.db.tables import metadata
from tests.sources.helpers import START, Site
from watcher.sources.fetch import Fetcher
from watcher.sources.seen import SqlSeenStore


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    app = web.Application()
    holder: list[Site] = []

    async def dispatch(request: web.Request) -> web.StreamResponse:
        return await holder[0].handle(request)

    app.router.add_route("*", "/{tail:.*}", dispatch)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    holder.append(Site(server))
    yield holder[0]
    await server.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def fetcher(session: aiohttp.ClientSession, clock: ManualClock) -> Fetcher:
    return Fetcher(session, clock, politeness_delay=0.0)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    async with eng.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield eng
    await eng.dispose()


@pytest.fixture
def store(engine: AsyncEngine) -> SqlSeenStore:
    return SqlSeenStore(engine)


