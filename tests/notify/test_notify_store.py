"""One contract, five stores: in-memory, SQLite (aiosqlite), PostgreSQL (when HUABEI_TEST_PG_URL is set), and
the coalescing store the fan-out uses over each database."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from consumers.notify.delivery import DeliveryStore
from consumers.notify.ports import OutboundMessage
from consumers.notify.store import CoalescingStore, SqlDeliveryStore
from huabei_watch.clock import SHANGHAI
from huabei_watch.errors import PermanentError
from tests.fakes.delivery_store import MemoryDeliveryStore
from tests.support import fresh_pg_database, migrated_database

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI)
PG_URL = os.environ.get("HUABEI_TEST_PG_URL", "")
A, B = "m1|inc-a|opened|sms", "m1|inc-b|opened|sms"
GROUP = OutboundMessage(
    dedupe_key="m1|group-0123456789abcdef|group|sms", recipient="m1", address="13800000001", title="花呗提醒（2条）",
    text="【花呗提醒】您有2条花呗通知", template_id="SMS_1", template_params=(("count", "2"), ("time", "11月28日")),
)


@pytest.fixture(params=["memory", "sqlite", "coalescing", pytest.param("postgres", marks=pytest.mark.postgres),
                        pytest.param("coalescing-postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DeliveryStore]:
    if request.param == "memory":
        yield MemoryDeliveryStore()
        return
    pg = request.param.endswith("postgres")
    if pg and not PG_URL:
        pytest.skip("HUABEI_TEST_PG_URL not set")
    url = await fresh_pg_database(PG_URL) if pg else f"sqlite+aiosqlite:///{tmp_path / 'n.db'}"
    db = await migrated_database(url)
    sql = SqlDeliveryStore(db.engine)
    yield CoalescingStore(sql) if request.param.startswith("coalescing") else sql
    await db.close()


async def test_reserve_then_states_follow_the_marks(store: DeliveryStore) -> None:
    assert await store.reserve(A, T0) == "new"
    assert await store.reserve(A, T0) == "in_flight"
    await store.mark_sent(A, "msg-1", T0)
    assert await store.reserve(A, T0) == "sent"
    assert await store.reserve(B, T0) == "new"
    await store.mark_failed(B, "bad number", True, T0)
    assert await store.reserve(B, T0) == "failed"
    rec = await store.get(A)
    assert rec is not None
    assert (rec.state, rec.receipt, rec.recipient, rec.channel, rec.sent_at) == ("sent", "msg-1", "m1", "sms", T0)


async def test_times_come_back_as_the_same_aware_instant(store: DeliveryStore) -> None:
    await store.reserve(A, T0)
    rec = await store.get(A)
    assert rec is not None and rec.reserved_at == T0 and rec.reserved_at.tzinfo is not None
    assert rec.reserved_at.utcoffset() == UTC.utcoffset(None)


async def test_transient_failure_waits_as_one_group_and_is_claimed_once(store: DeliveryStore) -> None:
    for key in (A, B):
        await store.reserve(key, T0)
        await store.mark_failed(key, "503", False, T0, retry_at=T0 + timedelta(minutes=5), message=GROUP)
    assert await store.reserve(A, T0) == "retry"
    assert await store.due_retries(T0, 10) == []
    assert not await store.claim(GROUP.dedupe_key, T0)
    later = T0 + timedelta(minutes=5)
    (item,) = await store.due_retries(later, 10)
    assert (item.group_key, item.channel, item.keys, item.attempts) == (GROUP.dedupe_key, "sms", (A, B), 1)
    assert item.message == GROUP
    assert await store.claim(GROUP.dedupe_key, later)
    assert not await store.claim(GROUP.dedupe_key, later)
    assert await store.due_retries(later, 10) == []
    assert await store.reserve(A, later) == "in_flight"


async def test_failed_attempts_are_counted(store: DeliveryStore) -> None:
    await store.reserve(A, T0)
    for _ in range(3):
        await store.mark_failed(A, "503", False, T0, retry_at=T0, message=GROUP)
    await store.mark_failed(A, "gave up", True, T0)
    rec = await store.get(A)
    assert rec is not None and (rec.attempts, rec.state, rec.last_error) == (4, "failed", "gave up")


async def test_sent_messages_count_the_try_that_succeeded(store: DeliveryStore) -> None:
    await store.reserve(A, T0)
    await store.mark_sent(A, "x", T0)
    await store.reserve(B, T0)
    await store.mark_failed(B, "503", False, T0, retry_at=T0, message=GROUP)
    await store.mark_sent(B, "y", T0)
    assert [(r.attempts if r else None) for r in (await store.get(A), await store.get(B))] == [1, 2]


async def test_takeover_only_of_a_stale_reservation(store: DeliveryStore) -> None:
    await store.reserve(A, T0)
    assert not await store.takeover(A, T0 + timedelta(seconds=10), stale_before=T0)
    assert await store.takeover(A, T0 + timedelta(minutes=20), stale_before=T0 + timedelta(minutes=10))
    assert not await store.takeover(A, T0 + timedelta(minutes=21), stale_before=T0 + timedelta(minutes=11))
    await store.mark_sent(A, "x", T0)
    assert not await store.takeover(A, T0 + timedelta(days=1), stale_before=T0 + timedelta(hours=1))


async def test_stale_in_flight_and_dead_letters_are_listed_for_ops(store: DeliveryStore) -> None:
    await store.reserve(A, T0)
    await store.reserve(B, T0 + timedelta(hours=1))
    stale = await store.stale_in_flight(T0 + timedelta(minutes=30), 10)
    assert [r.key for r in stale] == [A]
    await store.mark_failed(B, "robot removed", True, T0 + timedelta(hours=1))
    assert [(r.key, r.last_error) for r in await store.dead_letters(10)] == [(B, "robot removed")]


async def test_marking_a_key_that_was_never_reserved_still_records_it(store: DeliveryStore) -> None:
    await store.mark_sent(A, "msg-9", T0)
    assert await store.reserve(A, T0) == "sent"


async def test_concurrent_reserves_of_one_key_give_exactly_one_new(store: DeliveryStore) -> None:
    states = await asyncio.gather(*(store.reserve(A, T0) for _ in range(20)))
    assert states.count("new") == 1


async def test_release_drops_only_an_unsent_reservation(store: DeliveryStore) -> None:
    await store.reserve(A, T0)
    await store.release(A)
    assert await store.reserve(A, T0) == "new"
    await store.mark_sent(A, "x", T0)
    await store.release(A)
    assert await store.reserve(A, T0) == "sent"


async def test_many_keys_are_reserved_and_confirmed_in_one_statement_each(tmp_path: Path) -> None:
    from consumers.notify.store import CoalescingStore

    db = await migrated_database(f"sqlite+aiosqlite:///{tmp_path / 'batch.db'}")
    inner = SqlDeliveryStore(db.engine)
    store = CoalescingStore(inner)
    await inner.reserve("k-old", T0)
    keys = [f"m{i}|inc|opened|wecom" for i in range(300)] + ["k-old"]
    states = await asyncio.gather(*(store.reserve(k, T0) for k in keys))
    assert states == ["new"] * 300 + ["in_flight"]
    await asyncio.gather(*(store.mark_sent(k, f"r-{k}", T0) for k in keys[:300]))
    assert store.batches == 2  # one insert for 301 reservations, one update for 300 confirmations
    rec = await store.get(keys[7])
    assert rec is not None and rec.state == "sent" and rec.receipt == f"r-{keys[7]}"
    assert await store.reserve(keys[7], T0) == "sent"
    await db.close()


async def test_long_values_are_kept_to_the_same_lengths_by_every_store(store: DeliveryStore) -> None:
    await store.reserve(A, T0)
    await store.mark_failed(A, "e" * 3000, False, T0, retry_at=T0, message=GROUP, channel="c" * 100)
    await store.reserve(B, T0)
    await store.mark_sent(B, "r" * 300, T0)
    a, b = await store.get(A), await store.get(B)
    assert a is not None and b is not None
    assert (len(a.last_error), len(a.channel), len(b.receipt)) == (2000, 64, 200)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def sql_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    if request.param == "postgres" and not PG_URL:
        pytest.skip("HUABEI_TEST_PG_URL not set")
    url = await fresh_pg_database(PG_URL) if request.param == "postgres" else f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    db = await migrated_database(url)
    yield db
    await db.close()


def statements(db: Any) -> list[str]:
    """The SQL statements run on ``db`` from now on (transaction control left out)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        verb = statement.split(None, 1)[0].upper()
        if verb not in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"):
            seen.append(verb)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    return seen


async def test_confirming_a_batch_takes_one_statement_and_still_records_rows_gone(sql_db: Any) -> None:
    store = SqlDeliveryStore(sql_db.engine)
    keys = [f"m{i}|inc|opened|sms" for i in range(5)]
    await store.reserve_many(keys, T0)
    await store.mark_failed(keys[1], "503", False, T0, retry_at=T0, message=GROUP)
    seen = statements(sql_db)
    await store.mark_sent_many([(k, f"r{i}") for i, k in enumerate(keys)], T0)
    assert seen == ["UPDATE"]  # no second look at the rows: the statement tells which it found
    recs = [await store.get(k) for k in keys]
    assert [(r.state, r.receipt, r.attempts) for r in recs if r] == (
        [("sent", "r0", 1), ("sent", "r1", 2), ("sent", "r2", 1), ("sent", "r3", 1), ("sent", "r4", 1)])
    gone = "m9|inc|opened|sms"  # never reserved (a wiped table): recorded anyway
    await store.mark_sent_many([(keys[0], "again"), (gone, "r9")], T0)
    rec = await store.get(gone)
    assert rec is not None and (rec.state, rec.receipt) == ("sent", "r9")
    twice = "m7|inc|opened|sms"  # one key confirmed twice in a batch counts two tries, as two marks do
    await store.reserve(twice, T0)
    await store.mark_sent_many([(twice, "a"), (twice, "b")], T0)
    rec = await store.get(twice)
    assert rec is not None and rec.attempts == 2


@pytest.mark.postgres
async def test_postgres_reserves_batches_of_any_size_with_one_statement_text(tmp_path: Path) -> None:
    if not PG_URL:
        pytest.skip("HUABEI_TEST_PG_URL not set")
    db = await migrated_database(await fresh_pg_database(PG_URL))
    try:
        store = SqlDeliveryStore(db.engine)
        texts: list[str] = []
        event.listen(db.engine.sync_engine, "before_cursor_execute",
                     lambda conn, cursor, statement, *rest: texts.append(statement))
        first = await store.reserve_many([f"m{i}|inc|opened|sms" for i in range(3)], T0)
        second = await store.reserve_many([f"m{i}|inc|opened|sms" for i in range(2, 7)] + ["m2|inc|opened|sms"], T0)
        assert first == ["new"] * 3
        assert second == ["in_flight", "new", "new", "new", "new", "in_flight"]
        inserts = [t for t in texts if t.lstrip().upper().startswith("INSERT")]
        assert len(inserts) == 2 and inserts[0] == inserts[1]  # prepared once per connection, whatever the size
        rec = await store.get("m5|inc|opened|sms")
        assert rec is not None and (rec.state, rec.recipient, rec.channel, rec.group_key, rec.attempts) == (
            "in_flight", "m5", "sms", "m5|inc|opened|sms", 0)
        assert rec.reserved_at == T0
        with pytest.raises(PermanentError, match="delivery store"):  # too long for the column: refused, never cut
            await store.reserve_many(["m1|" + "x" * 600 + "|opened|sms", "m8|inc|opened|sms"], T0)
        assert await store.get("m8|inc|opened|sms") is None
    finally:
        await db.close()
