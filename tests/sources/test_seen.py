"""The SQL seen-store on a real SQLite file: round trips, upserts, source state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, timedelta

import pytest
from sqlalchemy import event

from huabei_watch.db.engine import Database
from huabei_watch.db.tables import metadata
from huabei_watch.events.common import Window
from tests.sources.helpers import START
from tests.sources.test_poll_costs import statements
from watcher.sources.seen import SeenNotice, SourceState, SqlSeenStore


@pytest.fixture
async def any_store(db: Database) -> AsyncIterator[SqlSeenStore]:
    """The store on SQLite, and on PostgreSQL when HUABEI_TEST_PG_URL is set."""
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield SqlSeenStore(db.engine)


def notice(**changes: object) -> SeenNotice:
    base = SeenNotice(
        source_id="s1", notice_id="abc123", url="https://open.example.com/n/1", title="关于花呗服务系统维护的公告",
        item_hash="i1", revision="r1", published=date(2026, 11, 26), kind="maintenance",
        first_seen_at=START, updated_at=START, maintenance=True,
        windows=(Window(start=START + timedelta(minutes=10), end=START + timedelta(minutes=30), channels=("pcredit",)),),
        channels=("pcredit",),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def test_notice_round_trips_with_windows_and_aware_times(any_store: SqlSeenStore) -> None:
    await any_store.put(notice())
    got = await any_store.get("s1", "abc123")
    assert got == notice()
    assert got is not None and got.updated_at.tzinfo is not None
    assert await any_store.get("s1", "other") is None
    assert await any_store.get("s2", "abc123") is None


async def test_put_replaces_but_keeps_first_seen(any_store: SqlSeenStore) -> None:
    await any_store.put(notice())
    later = START + timedelta(hours=1)
    await any_store.put(notice(revision="r2", first_seen_at=later, updated_at=later, windows=(), maintenance=False))
    got = await any_store.get("s1", "abc123")
    assert got is not None
    assert (got.revision, got.windows, got.maintenance) == ("r2", (), False)
    assert got.first_seen_at == START and got.updated_at == later


async def test_source_state_defaults_and_upserts(any_store: SqlSeenStore) -> None:
    empty = await any_store.get_state("s1")
    assert empty == SourceState(source_id="s1")
    assert not await any_store.source_known("s1")

    failing = SourceState(source_id="s1", consecutive_failures=2, failing_since=START, last_error="HTTP 503", last_poll_at=START)
    await any_store.save_states([failing], {})
    assert await any_store.get_state("s1") == failing
    assert not await any_store.source_known("s1"), "failed polls do not make a source known"

    done = replace(failing, etag='"e1"', content_hash="h", initialized_at=START, consecutive_failures=0, failing_since=None)
    await any_store.save_states([done], {})
    got = await any_store.get_state("s1")
    assert got == done and got.initialized_at is not None and got.initialized_at.astimezone(UTC) == START
    assert await any_store.source_known("s1")


async def test_the_store_reads_many_sources_records_in_one_statement(any_store: SqlSeenStore) -> None:
    records = [notice(source_id=f"s{s}", notice_id=f"n{n}") for s in range(30) for n in range(5)]
    await any_store.save(records)
    wanted = {f"s{s}": [f"n{n}" for n in (0, 2, 9)] for s in range(30)}
    wanted["nobody"] = ["n0"]
    with statements(any_store._engine) as sql:
        found = await any_store.get_known(wanted)
    assert [s for s in sql if s != "BEGIN"] == ["SELECT"]
    assert set(found) == {f"s{s}" for s in range(30)}, "a source with no record is left out"
    assert {sid: set(byid) for sid, byid in found.items()} == {f"s{s}": {"n0", "n2"} for s in range(30)}
    assert found["s7"]["n2"] == notice(source_id="s7", notice_id="n2")


async def test_reads_of_any_number_of_sources_share_a_few_statement_texts(store: SqlSeenStore) -> None:
    """Each SQL text is kept prepared by the driver: a text per list length would grow without end."""
    texts: set[str] = set()

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        texts.add(statement)

    engine = store._engine
    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        await store.save([notice(source_id="s3", notice_id="n1")])
        texts.clear()
        for sources in range(1, 41):
            found = await store.get_known({f"s{s}": ["n0", "n1", "n2"] for s in range(sources)})
            assert list(found) == ([] if sources <= 3 else ["s3"])
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert len(texts) <= 2, f"{len(texts)} texts for 40 lengths"
