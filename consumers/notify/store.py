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
    ARRAY,
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
    text,
    update,
)
from sqlalchemy.engine import Dialect, Row
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.elements import TextClause

from consumers.notify import reservations as rules
from consumers.notify.batching import Coalescer
from consumers.notify.ports import OutboundMessage
from consumers.notify.reservations import DeliveryRecord, RetryItem, Status
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
    return rules.record_of(dict(row._mapping))


def _where(window: rules.Window, bound: datetime | None = None) -> ColumnElement[bool]:
    """A reservation rule's window as a WHERE clause (the same test as :meth:`Window.matches`)."""
    cond: ColumnElement[bool] = T.c.state == window.state
    if window.column is not None:
        col = T.c[window.column]
        cond = and_(cond, col <= bound if window.inclusive else col < bound)
    return cond


def _values(change: rules.Change) -> dict[str, Any]:
    """A reservation change as the values of an UPDATE (the try counted in the database, so two
    marks of one key count two)."""
    values = dict(change.values)
    if change.attempt:
        values["attempts"] = T.c.attempts + 1
    if change.clear_payload:
        values["payload"] = None
    elif change.payload is not None:
        values["payload"] = encode_message(change.payload)
    return values


def _stored(row: dict[str, Any]) -> dict[str, Any]:
    """A row from the rules as inserted: the kept message encoded."""
    payload = row["payload"]
    return row | {"payload": encode_message(payload) if isinstance(payload, OutboundMessage) else payload}


#: Columns of fresh reservations (:func:`rules.new_row`) that differ from key to key; the others
#: are the same for every key reserved at one time.
_PER_KEY = ("dedupe_key", "recipient", "channel", "group_key")
_RESERVE: dict[str, TextClause] = {}


def _reserve_statement(dialect: Dialect) -> TextClause:
    """PostgreSQL: fresh reservations of a batch as ``INSERT ... SELECT ... FROM unnest(arrays)
    ON CONFLICT DO NOTHING RETURNING dedupe_key`` -- one SQL text whatever the batch size, so the
    server prepares it once per connection (a multi-row VALUES list is a new statement for every
    size). Parameters: ``a_<column>`` an array per column of :data:`_PER_KEY`, ``c_<column>`` the
    shared value of each other column."""
    stmt = _RESERVE.get(dialect.name)
    if stmt is None:
        cols = [c.name for c in T.columns]

        def sql_type(col: str) -> str:  # strings as TEXT: a cast to VARCHAR(n) would cut a long key silently
            kind = T.c[col].type
            return "TEXT" if isinstance(kind, String) else str(kind.compile(dialect=dialect))

        arrays = ", ".join(f"CAST(:a_{c} AS {sql_type(c)}[])" for c in _PER_KEY)
        picks = ", ".join(f"v.{c}" if c in _PER_KEY else f"CAST(:c_{c} AS {sql_type(c)})" for c in cols)
        stmt = _RESERVE[dialect.name] = text(
            f"INSERT INTO {T.name} ({', '.join(cols)}) SELECT {picks} FROM unnest({arrays}) AS v({', '.join(_PER_KEY)}) "
            "ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key"
        ).bindparams(*(bindparam(f"c_{c}", type_=T.c[c].type) for c in cols if c not in _PER_KEY))
    return stmt


def _unnested(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The parameters of :func:`_reserve_statement` for ``rows``; None when a column outside
    :data:`_PER_KEY` differs between them (then the generic multi-row insert takes them)."""
    if not rows:
        return None
    first = rows[0]
    shared = {c: v for c, v in first.items() if c not in _PER_KEY}
    if any(r[c] != v for r in rows for c, v in shared.items()):
        return None
    return {f"a_{c}": [r[c] for r in rows] for c in _PER_KEY} | {f"c_{c}": v for c, v in shared.items()}


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
        row = rules.new_row(key, now)
        async with self._tx() as conn:
            if await insert_if_absent(conn, T, row, ["dedupe_key"]):
                return "new"
            state = (await conn.execute(select(T.c.state).where(T.c.dedupe_key == key))).scalar_one()
        return cast(Status, state)

    async def reserve_many(self, keys: list[str], now: datetime) -> list[Status]:
        """:meth:`reserve` for many keys in one transaction: one multi-row insert-if-absent
        (PostgreSQL: :func:`_reserve_statement`) and one read of the states of the keys that
        existed. Statuses in ``keys`` order; a key given twice is "new" once."""
        unique = list(dict.fromkeys(keys))
        states: dict[str, str] = {}
        rows = [rules.new_row(k, now) for k in unique]
        async with self._tx() as conn:
            params = _unnested(rows) if conn.dialect.name == "postgresql" else None
            if params is not None:
                new = set((await conn.execute(_reserve_statement(conn.dialect), params)).scalars())
            else:
                new = {row[0] for row in await insert_all_if_absent(conn, T, rows, ["dedupe_key"])}
            rest = [k for k in unique if k not in new]
            if rest:
                found = (await conn.execute(select(T.c.dedupe_key, T.c.state).where(T.c.dedupe_key.in_(rest)))).all()
                states.update({k: st for k, st in found})
        return rules.reserve_statuses(keys, new, states)

    async def mark_sent_many(self, sent: list[tuple[str, str]], now: datetime) -> None:
        """:meth:`mark_sent` for many ``(key, receipt)`` in one statement. A key whose row is gone (a
        wiped table) is recorded anyway, as :meth:`mark_sent` does. PostgreSQL: one ``UPDATE ... FROM
        unnest(keys, receipts) ... RETURNING`` (the keys it names are the rows it found; asyncpg
        counts no executemany, which would need a second statement to look); SQLite, or a key given
        twice (each mark counts a try): an executemany and its row count."""
        keys = [k for k, _ in sent]
        receipts = [rules.sent(r, now).values["receipt"] for _, r in sent]
        async with self._tx() as conn:
            if conn.dialect.name == "postgresql" and len(set(keys)) == len(keys):
                pairs = func.unnest(bindparam("ks", type_=ARRAY(String)), bindparam("rs", type_=ARRAY(String))
                                    ).table_valued("k", "r").render_derived(name="v")
                returning = update(T).where(T.c.dedupe_key == pairs.c.k).values(
                    _values(rules.sent("", now)) | {"receipt": pairs.c.r}).returning(T.c.dedupe_key)
                found = set((await conn.execute(returning, {"ks": keys, "rs": receipts})).scalars())
                if len(found) == len(keys):
                    return
            else:
                stmt = update(T).where(T.c.dedupe_key == bindparam("k")).values(
                    _values(rules.sent("", now)) | {"receipt": bindparam("r")})
                result = await conn.execute(stmt, [{"k": k, "r": r} for k, r in zip(keys, receipts, strict=True)])
                if result.rowcount == len(sent):
                    return
                # Some rows are gone, or the driver cannot tell (asyncpg counts no executemany): look.
                found = set((await conn.execute(select(T.c.dedupe_key).where(T.c.dedupe_key.in_(keys)))).scalars())
        for key, receipt in sent:
            if key not in found:
                await self.mark_sent(key, receipt, now)

    async def release(self, key: str) -> None:
        async with self._tx() as conn:
            await conn.execute(delete(T).where(T.c.dedupe_key == key, _where(rules.RELEASABLE)))

    async def _upsert(self, key: str, now: datetime, change: rules.Change) -> None:
        values = _values(change)
        async with self._tx() as conn:
            result = await conn.execute(update(T).where(T.c.dedupe_key == key).values(**values))
            if result.rowcount == 0:
                # The reservation is gone (a wiped table): record the outcome anyway.
                row = _stored(rules.recorded_anyway(key, change, now))
                await upsert(conn, T, row, ["dedupe_key"], update=values)

    async def mark_sent(self, key: str, receipt: str, now: datetime) -> None:
        await self._upsert(key, now, rules.sent(receipt, now))

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
        change = rules.failed(reason, permanent, now, retry_at=retry_at, message=message, channel=channel)
        await self._upsert(key, now, change)

    async def due_retries(self, now: datetime, limit: int) -> list[RetryItem]:
        due = _where(rules.DUE, now)
        async with self._tx() as conn:
            groups = (
                await conn.execute(
                    select(T.c.group_key)
                    .where(due)
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
        return rules.retry_items(groups, (dict(r._mapping) for r in rows), decode_message)

    async def claim(self, group_key: str, now: datetime) -> bool:
        async with self._tx() as conn:
            result = await conn.execute(
                update(T)
                .where(T.c.group_key == group_key, _where(rules.DUE, now))
                .values(_values(rules.claimed(now)))
            )
        return result.rowcount > 0

    async def takeover(self, key: str, now: datetime, stale_before: datetime) -> bool:
        async with self._tx() as conn:
            result = await conn.execute(
                update(T)
                .where(T.c.dedupe_key == key, _where(rules.STALE, stale_before))
                .values(_values(rules.taken_over(now)))
            )
        return result.rowcount == 1

    async def stale_in_flight(self, stale_before: datetime, limit: int) -> list[DeliveryRecord]:
        async with self._tx() as conn:
            rows = (
                await conn.execute(
                    select(T).where(_where(rules.STALE, stale_before))
                    .order_by(T.c.reserved_at).limit(limit)
                )
            ).all()
        return [_record(r) for r in rows]

    async def dead_letters(self, limit: int) -> list[DeliveryRecord]:
        async with self._tx() as conn:
            rows = (
                await conn.execute(select(T).where(_where(rules.DEAD)).order_by(T.c.updated_at.desc()).limit(limit))
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
    return await delete_in_batches(db, T, and_(T.c.state.in_((rules.SENT, rules.FAILED)), T.c.updated_at < before))
