"""A SQLite database keeps at most ``database.pool_size`` connections (issue 17, memory): SQLite
has one writer at a time, and each aiosqlite connection is a thread with memory of its own."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import event, text

from huabei_watch.db.engine import Database


async def test_sqlite_opens_no_more_connections_than_the_pool_size_and_every_task_gets_one(tmp_path: Path) -> None:
    db = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}", pool_size=2)
    opened = 0

    @event.listens_for(db.engine.sync_engine, "connect")
    def _count(*_: object) -> None:
        nonlocal opened
        opened += 1

    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))
        holding, release = asyncio.Event(), asyncio.Event()
        inside = 0

        async def work(n: int) -> None:
            nonlocal inside
            async with db.engine.connect() as conn:
                inside += 1
                if inside == 2:
                    holding.set()
                await release.wait()
                await conn.execute(text("SELECT :n"), {"n": n})
                inside -= 1

        tasks = [asyncio.create_task(work(n)) for n in range(20)]
        await holding.wait()  # two tasks hold the pool's two connections; the other 18 wait
        assert inside == 2
        release.set()
        await asyncio.gather(*tasks)
        assert opened <= 2, f"{opened} connections opened for a pool of 2"
    finally:
        await db.engine.dispose()
