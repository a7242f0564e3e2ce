"""The delivery store: SQL (SQLite / PostgreSQL through SQLAlchemy async).

Table ``notification_deliveries`` on the shared :data:`huabei_watch.db.tables.metadata`, one row per
dedupe key. ``reserve`` is a single insert-if-absent (``ON CONFLICT DO NOTHING`` on SQLite and
PostgreSQL), so of two processes reserving the same key exactly one gets ``"new"``. Marks are
upserts. Times are stored as UTC. Database errors surface as :class:`TransientError`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    bindparam,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from consumers.notify.batching import Coalescer
from consumers.notify.delivery import DeliveryRecord, RetryItem, Status, split_key
from consumers.notify.ports import OutboundMessage
from huabei_watch.db.engine import Database, describe_db_error, is_transient_db_error
from huabei_watch.db.prune import delete_in_batches
from huabei_watch.db.tables import metadata
from huabei_watch.db.types import AwareDateTime
from huabei_watch.db.upsert import insert_all_if_absent, insert_if_absent, upsert
from huabei_watch.errors import PermanentError, TransientError

notification_deliveries = Table(
    "notification_deliveries",
    metadata,
    Column("dedupe_key", String(512), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("group_key", String(512), nullable=False),
    Column("payload", Text, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("receipt", String(200), nullable=False),
    Column("reserved_at", AwareDateTime(), nullable=False),
    Column("updated_at", AwareDateTime(), nullable=False),
    Column("next_attempt_at", AwareDateTime(), nullable=True),
    Column("sent_at", AwareDateTime(), nullable=True),
    Index("ix_notification_deliveries_due", "state", "next_attempt_at"),
    Index("ix_notification_deliveries_group", "group_key"),
    Index("ix_notification_deliveries_updated_at", "updated_at"),
)
T = notification_deliveries


def encode_message(msg: OutboundMessage) -> str:
    return json.dumps(asdict(msg), ensure_ascii=False)


def decode_message(text: str) -> OutboundMessage:
    raw = json.loads(text)
    raw["template_params"] = tuple((str(k), str(v)) for k, v in raw.get("template_params", ()))
    return OutboundMessage(**raw)


def _record(row: Row[Any]) -> DeliveryRecord:
    m = row._mapping
    return DeliveryRecord(
        key=m["dedupe_key"], state=m["state"], recipient=m["recipient"], channel=m["channel"],
        group_key=m["group_key"], attempts=m["attempts"], last_error=m["last_error"], receipt=m["receipt"],
        reserved_at=m["reserved_at"], updated_at=m["updated_at"], next_attempt_at=m["next_attempt_at"],
        sent_at=m["sent_at"],
    )


def _new_row(key: str, state: str, now: datetime) -> dict[str, Any]:
    recipient, _, _, channel = split_key(key)
    return {
        "dedupe_key": key, "state": state, "recipient": recipient[:200], "channel": channel[:64], "group_key": key,
        "payload": None, "attempts": 0, "last_error": "", "receipt": "", "reserved_at": now, "updated_at": now,
        "next_attempt_at": None, "sent_at": None,
    }


class CoalescingStore:
    """A :class:`SqlDeliveryStore` whose ``reserve`` and ``mark_sent`` calls, made concurrently by
    hundreds of deliveries, become one statement per batch (:class:`~consumers.notify.batching.Coalescer`).
    Every other method goes straight through. Same contract as the store it wraps."""

    def __init__(self, store: SqlDeliveryStore, *, max_batch: int = 500) -> None:
        self._store = store
        self._reserve: Coalescer[tuple[str, datetime], Status] = Coalescer(self._reserve_many, max_batch=max_batch)
        self._sent: Coalescer[tuple[str, str, datetime], None] = Coalescer(self._sent_many, max_batch=max_batch)

    @property
    def batches(self) -> int:
        """Statements made for reserve and mark_sent calls (for the benchmark)."""
        return self._reserve.batches + self._sent.batches

    async def _reserve_many(self, items: list[tuple[str, datetime]]) -> list[Status]:
        return await self._store.reserve_many([k for k, _ in items], max(now for _, now in items))

    async def _sent_many(self, items: list[tuple[str, str, datetime]]) -> list[None]:
        await self._store.mark_sent_many([(k, r) for k, r, _ in items], max(now for _, _, now in items))
        return [None] * len(items)

    async def reserve(self, key: str, now: datetime) -> Status:
        return await self._reserve.submit((key, now))

    async def mark_sent(self, key: str, receipt: str, now: datetime) -> None:
        await self._sent.submit((key, receipt, now))

    async def release(self, key: str) -> None:
        await self._store.release(key)

    async def mark_failed(
        self, key: str, reason: str, permanent: bool, now: datetime, *, retry_at: datetime | None = None,
        message: OutboundMessage | None = None, channel: str | None = None,
    ) -> None:
        await self._store.mark_failed(key, reason, permanent, now, retry_at=retry_at, message=message, channel=channel)

    async def due_retries(self, now: datetime, limit: int) -> list[RetryItem]:
        return await self._store.due_retries(now, limit)

    async def claim(self, group_key: str, now: datetime) -> bool:
        return await self._store.claim(group_key, now)

    async def takeover(self, key: str, now: datetime, stale_before: datetime) -> bool:
        return await self._store.takeover(key, now, stale_before)

    async def stale_in_flight(self, stale_before: datetime, limit: int) -> list[DeliveryRecord]:
        return await self._store.stale_in_flight(stale_before, limit)

    async def dead_letters(self, limit: int) -> list[DeliveryRecord]:
        return await self._store.dead_letters(limit)

    async def get(self, key: str) -> DeliveryRecord | None:
        return await self._store.get(key)


class SqlDeliveryStore:
    """:class:`~consumers.notify.delivery.DeliveryStore` on an AsyncEngine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._engine.begin() as conn:
                yield conn
        except IntegrityError:
            raise
        except DBAPIError as exc:
            if is_transient_db_error(exc):
                raise TransientError(f"delivery store: {describe_db_error(exc)}") from exc
            raise PermanentError(f"delivery store: {describe_db_error(exc)}") from exc

    async def reserve(self, key: str, now: datetime) -> Status:
        row = _new_row(key, "in_flight", now)
        async with self._tx() as conn:
            if await insert_if_absent(conn, T, row, ["dedupe_key"]):
                return "new"
            state = (await conn.execute(select(T.c.state).where(T.c.dedupe_key == key))).scalar_one()
        return cast(Status, state)

    async def reserve_many(self, keys: list[str], now: datetime) -> list[Status]:
        """:meth:`reserve` for many keys in one transaction: one multi-row insert-if-absent and
        one read of the states of the keys that existed. Statuses in ``keys`` order; a key given
        twice is "new" once."""
        unique = list(dict.fromkeys(keys))
        states: dict[str, Status] = {}
        async with self._tx() as conn:
            inserted = await insert_all_if_absent(conn, T, [_new_row(k, "in_flight", now) for k in unique], ["dedupe_key"])
            new = {row[0] for row in inserted}
            rest = [k for k in unique if k not in new]
            if rest:
                rows = (await conn.execute(select(T.c.dedupe_key, T.c.state).where(T.c.dedupe_key.in_(rest)))).all()
                states.update({k: cast(Status, st) for k, st in rows})
        out: list[Status] = []
        for k in keys:
            if k in new:
                new.discard(k)
                out.append("new")
            else:
                out.append(states.get(k, "in_flight"))
        return out

    async def mark_sent_many(self, sent: list[tuple[str, str]], now: datetime) -> None:
        """:meth:`mark_sent` for many ``(key, receipt)`` in one statement (executemany). A key whose
        row is gone (a wiped table) is recorded anyway, as :meth:`mark_sent` does."""
        stmt = (
            update(T).where(T.c.dedupe_key == bindparam("k"))
            .values(state="sent", receipt=bindparam("r"), sent_at=now, updated_at=now, payload=None,
                    next_attempt_at=None, attempts=T.c.attempts + 1)
        )
        async with self._tx() as conn:
            result = await conn.execute(stmt, [{"k": k, "r": r[:200]} for k, r in sent])
            if result.rowcount == len(sent):
                return
            # Some rows are gone, or the driver cannot tell (asyncpg counts no executemany): look.
            keys = [k for k, _ in sent]
            found = set((await conn.execute(select(T.c.dedupe_key).where(T.c.dedupe_key.in_(keys)))).scalars())
        for key, receipt in sent:
            if key not in found:
                await self.mark_sent(key, receipt, now)

    async def release(self, key: str) -> None:
        async with self._tx() as conn:
            await conn.execute(delete(T).where(T.c.dedupe_key == key, T.c.state == "in_flight"))

    async def _upsert(self, key: str, now: datetime, values: dict[str, Any]) -> None:
        async with self._tx() as conn:
            result = await conn.execute(update(T).where(T.c.dedupe_key == key).values(**values))
            if result.rowcount == 0:
                # The reservation is gone (a wiped table): record the outcome anyway.
                row = _new_row(key, values["state"], now) | {
                    k: v for k, v in values.items() if k != "attempts"
                }
                row["attempts"] = 1 if "attempts" in values else 0
                await upsert(conn, T, row, ["dedupe_key"], update=values)

    async def mark_sent(self, key: str, receipt: str, now: datetime) -> None:
        await self._upsert(
            key, now,
            {"state": "sent", "receipt": receipt[:200], "sent_at": now, "updated_at": now, "payload": None,
             "next_attempt_at": None, "attempts": T.c.attempts + 1},
        )

    async def mark_failed(
        self,
        key: str,
        reason: str,
        permanent: bool,
        now: datetime,
        *,
        retry_at: datetime | None = None,
        message: OutboundMessage | None = None,
        channel: str | None = None,
    ) -> None:
        if not permanent and retry_at is None:
            raise ValueError("a transient failure needs retry_at")
        values: dict[str, Any] = {
            "state": "failed" if permanent else "retry",
            "last_error": reason[:2000],
            "attempts": T.c.attempts + 1,
            "updated_at": now,
            "next_attempt_at": None if permanent else retry_at,
        }
        if message is not None:
            values["payload"] = encode_message(message)
            values["group_key"] = message.dedupe_key
        if channel is not None:
            values["channel"] = channel[:64]
        await self._upsert(key, now, values)

    async def due_retries(self, now: datetime, limit: int) -> list[RetryItem]:
        due = T.c.state == "retry"
        async with self._tx() as conn:
            groups = (
                await conn.execute(
                    select(T.c.group_key)
                    .where(due, T.c.next_attempt_at <= now)
                    .group_by(T.c.group_key)
                    .order_by(func.min(T.c.next_attempt_at))
                    .limit(limit)
                )
            ).scalars().all()
            if not groups:
                return []
            rows = (
                await conn.execute(select(T).where(due, T.c.group_key.in_(groups)).order_by(T.c.dedupe_key))
            ).all()
        by_group: dict[str, list[Row[Any]]] = {}
        for row in rows:
            by_group.setdefault(row._mapping["group_key"], []).append(row)
        items: list[RetryItem] = []
        for group in groups:
            members = by_group.get(group, [])
            payload = next((r._mapping["payload"] for r in members if r._mapping["payload"]), None)
            if payload is None:
                continue
            items.append(
                RetryItem(
                    group_key=group,
                    channel=members[0]._mapping["channel"],
                    keys=tuple(r._mapping["dedupe_key"] for r in members),
                    message=decode_message(payload),
                    attempts=max(r._mapping["attempts"] for r in members),
                )
            )
        return items

    async def claim(self, group_key: str, now: datetime) -> bool:
        async with self._tx() as conn:
            result = await conn.execute(
                update(T)
                .where(T.c.group_key == group_key, T.c.state == "retry", T.c.next_attempt_at <= now)
                .values(state="in_flight", reserved_at=now, updated_at=now)
            )
        return result.rowcount > 0

    async def takeover(self, key: str, now: datetime, stale_before: datetime) -> bool:
        async with self._tx() as conn:
            result = await conn.execute(
                update(T)
                .where(T.c.dedupe_key == key, T.c.state == "in_flight", T.c.reserved_at < stale_before)
                .values(reserved_at=now, updated_at=now)
            )
        return result.rowcount == 1

    async def stale_in_flight(self, stale_before: datetime, limit: int) -> list[DeliveryRecord]:
        async with self._tx() as conn:
            rows = (
                await conn.execute(
                    select(T).where(T.c.state == "in_flight", T.c.reserved_at < stale_before)
                    .order_by(T.c.reserved_at).limit(limit)
                )
            ).all()
        return [_record(r) for r in rows]

    async def dead_letters(self, limit: int) -> list[DeliveryRecord]:
        async with self._tx() as conn:
            rows = (
                await conn.execute(select(T).where(T.c.state == "failed").order_by(T.c.updated_at.desc()).limit(limit))
            ).all()
        return [_record(r) for r in rows]

    async def get(self, key: str) -> DeliveryRecord | None:
        async with self._tx() as conn:
            row = (await conn.execute(select(T).where(T.c.dedupe_key == key))).first()
        return _record(row) if row is not None else None


async def prune_deliveries(db: Database, before: datetime) -> int:
    """Delete deliveries in a final state (sent, failed) last updated before ``before``; pending,
    retrying and in-flight ones stay. Returns how many went. A message re-planned after its row
    went would be sent again, so keep rows longer than any incident is re-planned or replayed."""
    return await delete_in_batches(db, T, and_(T.c.state.in_(("sent", "failed")), T.c.updated_at < before))
