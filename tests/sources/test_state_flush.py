"""The steady-state flush (every source's "last checked" and its hourly count, every 30 s) goes to
the driver row by row as tuples, and stores exactly what the Core path stores, on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import event, select, text

from huabei_watch.db.engine import Database
from watcher.sources.seen import SourceState, SqlSeenStore, source_poll_hours, source_state

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
CST = timezone(timedelta(hours=8))


async def test_a_flush_of_checked_sources_stores_what_the_core_path_stores(db: Database) -> None:
    store = SqlSeenStore(db.engine)
    times = [T0 + timedelta(minutes=5), (T0 + timedelta(minutes=7, microseconds=12)).astimezone(CST)]
    # "core": the whole state written by the upsert; "fast": the stored row, then only its time
    await store.save_states([SourceState(source_id=f"{kind}{i}", last_poll_at=T0 if kind == "fast" else at)
                             for kind in ("core", "fast") for i, at in enumerate(times)], {})
    hour = T0.astimezone(CST)  # the same hour, given in another zone
    await store.save_states([], {("fast0", hour): (2, 1), ("fast1", T0): (1, 0)},
                            {f"fast{i}": at for i, at in enumerate(times)})
    await store.save_states([], {("fast0", T0): (3, 0)}, {})

    async with db.engine.connect() as conn:
        raw = dict((await conn.execute(text("SELECT source_id, last_poll_at FROM source_state"))).tuples().all())
        counts = {(r.source_id, r.hour): (r.polls, r.failures)
                  for r in await conn.execute(select(source_poll_hours))}
        hours_raw = {r[0] for r in await conn.execute(text("SELECT hour FROM source_poll_hours"))}
    for i, at in enumerate(times):
        assert raw[f"fast{i}"] == raw[f"core{i}"], "the same stored form (text on SQLite) as the Core path"
        assert (await store.get_state(f"fast{i}")).last_poll_at == at
    assert counts == {("fast0", T0): (5, 1), ("fast1", T0): (1, 0)}, "counts of one hour add up, whatever the zone"
    assert len(hours_raw) == 1


async def test_a_flush_of_checked_sources_hands_its_rows_to_the_driver_without_per_row_processing(
    db: Database,
) -> None:
    store = SqlSeenStore(db.engine)
    ids = [f"s{i}" for i in range(50)]
    await store.save_states([SourceState(source_id=s, last_poll_at=T0) for s in ids], {})
    sent: list[tuple[str, bool, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        sent.append((statement.split()[0].upper(), context.compiled is None and many, params))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        at = T0 + timedelta(seconds=30)
        await store.save_states([], {(s, T0): (1, 0) for s in ids}, dict.fromkeys(ids, at))
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    writes = [s for s in sent if s[0] in ("UPDATE", "INSERT")]
    assert [(kind, raw) for kind, raw, _ in writes] == [("UPDATE", True), ("INSERT", True)], (
        "one executemany each, as driver SQL (compiled once, no SQLAlchemy parameter processing per row)")
    assert all(isinstance(row, tuple) for _, _, params in writes for row in params)
    assert len(writes[0][2]) == len(writes[1][2]) == 50
    async with db.engine.connect() as conn:
        stored = (await conn.execute(select(source_state.c.last_poll_at))).scalars().all()
    assert set(stored) == {at}
