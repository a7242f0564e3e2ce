"""The seen-store: which notices of which source were already published, and each source's fetch state.

:class:`SeenStore` is the protocol the announcement watcher needs; :class:`SqlSeenStore` keeps it
in the project database (SQLite or PostgreSQL) on the tables ``seen_notices`` and
``source_state`` of :data:`huabei_watch.db.tables.metadata`. Several watcher replicas may share one
store: writes are upserts, and a lost race only repeats an event with the same deterministic id.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Boolean, Column, Date, Integer, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncEngine

from huabei_watch.db.tables import metadata
from huabei_watch.db.types import AwareDateTime
from huabei_watch.db.upsert import accumulate, upsert
from huabei_watch.events.common import Window
from watcher.sources.seen_model import SeenNotice, SeenStore, SourceState

__all__ = ["SeenNotice", "SeenStore", "SourceState", "SqlSeenStore", "seen_notices", "source_poll_hours", "source_state"]


seen_notices = Table(
    "seen_notices",
    metadata,
    Column("source_id", String(64), primary_key=True),
    Column("notice_id", String(64), primary_key=True),
    Column("url", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("item_hash", String(64), nullable=False),
    Column("revision", String(64), nullable=False),
    Column("published", Date, nullable=True),
    Column("kind", String(32), nullable=False),
    Column("maintenance", Boolean, nullable=False, default=False),
    Column("windows_json", Text, nullable=False, default="[]"),
    Column("channels_json", Text, nullable=False, default="[]"),
    Column("first_seen_at", AwareDateTime(), nullable=False),
    Column("updated_at", AwareDateTime(), nullable=False),
)

source_state = Table(
    "source_state",
    metadata,
    Column("source_id", String(64), primary_key=True),
    Column("etag", Text, nullable=True),
    Column("last_modified", Text, nullable=True),
    Column("content_hash", String(64), nullable=True),
    Column("last_poll_at", AwareDateTime(), nullable=True),
    Column("initialized_at", AwareDateTime(), nullable=True),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("failing_since", AwareDateTime(), nullable=True),
    Column("degraded", Boolean, nullable=False, default=False),
    Column("last_error", Text, nullable=False, default=""),
)

#: Polls per source per hour (for the status page's poll-health strip): one row per source per hour.
source_poll_hours = Table(
    "source_poll_hours",
    metadata,
    Column("source_id", String(64), primary_key=True),
    Column("hour", AwareDateTime(), primary_key=True),
    Column("polls", Integer, nullable=False),
    Column("failures", Integer, nullable=False),
)

_WINDOWS = TypeAdapter(tuple[Window, ...])


class SqlSeenStore:
    """:class:`SeenStore` on an async SQLAlchemy engine. Tables must exist (migrations create them)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, source_id: str, notice_id: str) -> SeenNotice | None:
        stmt = select(seen_notices).where(
            seen_notices.c.source_id == source_id, seen_notices.c.notice_id == notice_id
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        if row is None:
            return None
        return SeenNotice(
            source_id=row["source_id"],
            notice_id=row["notice_id"],
            url=row["url"],
            title=row["title"],
            item_hash=row["item_hash"],
            revision=row["revision"],
            published=row["published"],
            kind=row["kind"],
            first_seen_at=row["first_seen_at"] or datetime.min.replace(tzinfo=UTC),
            updated_at=row["updated_at"] or datetime.min.replace(tzinfo=UTC),
            maintenance=bool(row["maintenance"]),
            windows=_WINDOWS.validate_json(row["windows_json"]),
            channels=tuple(json.loads(row["channels_json"])),
        )

    async def put(self, notice: SeenNotice) -> None:
        values: dict[str, Any] = {
            "source_id": notice.source_id,
            "notice_id": notice.notice_id,
            "url": notice.url,
            "title": notice.title,
            "item_hash": notice.item_hash,
            "revision": notice.revision,
            "published": notice.published,
            "kind": notice.kind,
            "maintenance": notice.maintenance,
            "windows_json": _WINDOWS.dump_json(notice.windows).decode(),
            "channels_json": json.dumps(list(notice.channels), ensure_ascii=False),
            "first_seen_at": notice.first_seen_at,
            "updated_at": notice.updated_at,
        }
        async with self._engine.begin() as conn:
            await upsert(conn, seen_notices, values, ("source_id", "notice_id"), keep=("first_seen_at",))

    async def source_known(self, source_id: str) -> bool:
        return (await self.get_state(source_id)).initialized_at is not None

    async def get_state(self, source_id: str) -> SourceState:
        stmt = select(source_state).where(source_state.c.source_id == source_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        if row is None:
            return SourceState(source_id=source_id)
        return SourceState(
            source_id=source_id,
            etag=row["etag"],
            last_modified=row["last_modified"],
            content_hash=row["content_hash"],
            last_poll_at=row["last_poll_at"],
            initialized_at=row["initialized_at"],
            consecutive_failures=row["consecutive_failures"],
            failing_since=row["failing_since"],
            degraded=bool(row["degraded"]),
            last_error=row["last_error"],
        )

    async def put_state(self, state: SourceState) -> None:
        """Save the source's state after a poll; the poll (ok when ``consecutive_failures`` is 0)
        is also counted in its hour of ``source_poll_hours``, in the same transaction."""
        values: dict[str, Any] = {
            "source_id": state.source_id,
            "etag": state.etag,
            "last_modified": state.last_modified,
            "content_hash": state.content_hash,
            "last_poll_at": state.last_poll_at,
            "initialized_at": state.initialized_at,
            "consecutive_failures": state.consecutive_failures,
            "failing_since": state.failing_since,
            "degraded": state.degraded,
            "last_error": state.last_error[:2000],
        }
        async with self._engine.begin() as conn:
            await upsert(conn, source_state, values, ("source_id",))
            if state.last_poll_at is not None:
                hour = state.last_poll_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
                failed = 1 if state.consecutive_failures else 0
                await accumulate(
                    conn, source_poll_hours,
                    {"source_id": state.source_id, "hour": hour, "polls": 1, "failures": failed},
                    ["source_id", "hour"], sums=["polls", "failures"],
                )

