"""``database.sqlite_cache_kb``: each SQLite connection of a daemon gets that page cache (issue 17,
memory: every pooled connection fills its own); without it SQLite keeps its own default."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from huabei_watch.config.settings import DatabaseSettings
from huabei_watch.db.engine import Database


async def _cache_sizes(db: Database, connections: int) -> list[int]:
    """PRAGMA cache_size read on ``connections`` pooled connections held at once."""
    sizes: list[int] = []
    held = asyncio.Event()
    started = 0

    async def read() -> None:
        nonlocal started
        async with db.engine.connect() as conn:
            sizes.append(int((await conn.execute(text("PRAGMA cache_size"))).scalar_one()))
            started += 1
            if started == connections:
                held.set()
            await held.wait()  # every reader holds its connection until all have one

    await asyncio.gather(*(read() for _ in range(connections)))
    return sizes


async def test_every_connection_gets_the_configured_page_cache(tmp_path: Path) -> None:
    db = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", sqlite_cache_kb=256)
    try:
        assert await _cache_sizes(db, 3) == [-256, -256, -256]
    finally:
        await db.close()


async def test_without_a_size_sqlite_keeps_its_own_default(tmp_path: Path) -> None:
    db = await Database.open(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    try:
        assert await _cache_sizes(db, 2) == [-2000, -2000]
    finally:
        await db.close()


def test_the_setting_defaults_to_1024_kib_and_refuses_a_tiny_cache() -> None:
    assert DatabaseSettings().sqlite_cache_kb == 1024
    with pytest.raises(ValueError, match="sqlite_cache_kb"):
        DatabaseSettings.model_validate({"sqlite_cache_kb": 8})
