"""The advisory table: state changes are claimed atomically, in order, with what was published."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from huabei_watch.db.engine import Database
from tests.support import migrated_database
from watcher.compat.advice import advisories, cleared_finding
from watcher.compat.store import CompatStore
from watcher.compat.table import CompatTable

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
TABLE = CompatTable.model_validate({"plugins": [{"name": "woo-alipay", "min_version": "3.5.0"}]})


async def test_two_processes_claiming_the_same_finding_only_one_wins(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    dbs = [await migrated_database(url, retry_for=10) for _ in range(4)]
    try:
        [raised] = advisories("m1", "woo-alipay/3.2.1", TABLE, [], NOW)
        wins = await asyncio.gather(*(CompatStore(db).claim(raised, NOW) for db in dbs))
        assert sum(w is not None for w in wins) == 1
        clear = cleared_finding(raised.finding_id, "m1", "woo-alipay/3.6", NOW + timedelta(hours=1))
        wins = await asyncio.gather(*(CompatStore(db).claim(clear, NOW + timedelta(hours=1)) for db in dbs))
        assert sum(w is not None for w in wins) == 1
    finally:
        for db in dbs:
            await db.close()


async def test_clearance_is_never_observed_before_the_raise_it_ends(db: Database) -> None:
    store = CompatStore(db)
    [raised] = advisories("m1", "woo-alipay/3.2.1", TABLE, [], NOW)
    assert await store.claim(raised, NOW) == raised
    cleared = await store.claim(cleared_finding(raised.finding_id, "m1", "woo-alipay/3.6", NOW), NOW)
    assert cleared is not None and cleared.observed_at > raised.observed_at
    again = await store.claim(raised, NOW)
    assert again is not None and again.state == "raised" and again.observed_at > cleared.observed_at


async def test_clearance_of_a_finding_never_raised_is_not_stored(db: Database) -> None:
    store = CompatStore(db)
    assert await store.claim(cleared_finding("plugin:m1:notice:n", "m1", "x/1", NOW), NOW) is None
    assert await store.state("plugin:m1:notice:n") is None


async def test_unpublished_returns_the_stored_finding_until_marked(db: Database) -> None:
    store = CompatStore(db)
    [raised] = advisories("m1", "woo-alipay/3.2.1", TABLE, [], NOW)
    await store.claim(raised, NOW)
    assert await store.unpublished(NOW) == []  # claimed at NOW, not before
    assert await store.unpublished(NOW + timedelta(seconds=1)) == [raised]
    await store.mark_published([raised], NOW)
    assert await store.unpublished(NOW + timedelta(seconds=1)) == []


async def test_marking_a_raise_published_leaves_a_newer_clearance_pending(db: Database) -> None:
    store = CompatStore(db)
    [raised] = advisories("m1", "woo-alipay/3.2.1", TABLE, [], NOW)
    await store.claim(raised, NOW)
    later = NOW + timedelta(minutes=1)
    cleared = await store.claim(cleared_finding(raised.finding_id, "m1", "woo-alipay/3.6", later), later)
    await store.mark_published([raised], later)  # the raise's publisher finishes after the clearance
    assert await store.unpublished(later + timedelta(seconds=1)) == [cleared]
