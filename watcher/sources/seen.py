"""The seen-store: which notices of which source were already published, and each source's fetch state.

:class:`SeenStore` is the protocol the announcement watcher needs; :class:`SqlSeenStore` keeps it
in the project database (SQLite or PostgreSQL) on the tables ``seen_notices`` and
``source_state`` of :data:`huabei_watch.db.tables.metadata`. Several watcher replicas may share one
store: writes are upserts, and a lost race only repeats an event with the same deterministic id.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Integer,
    RowMapping,
    String,
    Table,
    Text,
    bindparam,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from huabei_watch.db.tables import metadata
from huabei_watch.db.types import AwareDateTime, utc_for_db
from huabei_watch.db.upsert import accumulate_statement, driver_sql, upsert_rows
from huabei_watch.events.common import Window
from watcher.sources.seen_model import PollCounts, SeenNotice, SeenStore, SourceState

__all__ = [
    "PollCounts", "SeenNotice", "SeenStore", "SourceState", "SqlSeenStore", "poll_hour", "seen_notices",
    "source_poll_hours", "source_state",
]


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
    Column("notice_key", String(64), nullable=True),
    Column("windows_end", AwareDateTime(), nullable=True, index=True),
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

#: A source whose poll changed nothing but its time (a 304): one column of one row (cached statement).
_SET_LAST_POLL = (
    update(source_state).where(source_state.c.source_id == bindparam("sid")).values(last_poll_at=bindparam("at"))
)

#: The records of (source id, notice id) pairs, the pairs in one parameter whatever their number:
#: one SQL text per dialect, nothing rendered per call (an expanding ``IN`` of thousands of pairs
#: was rendered anew each time, and each length became a statement the driver kept prepared).
_KNOWN_FROM = {
    "sqlite": "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:pairs)",
    "postgresql": "SELECT * FROM unnest(CAST(:sources AS VARCHAR[]), CAST(:notices AS VARCHAR[]))",
}
_KNOWN = {
    dialect: text(
        f"SELECT {', '.join(c.name for c in seen_notices.c)} FROM seen_notices "
        f"WHERE (source_id, notice_id) IN ({pairs})"
    ).columns(*seen_notices.c)
    for dialect, pairs in _KNOWN_FROM.items()
}

_WINDOWS = TypeAdapter(tuple[Window, ...])
#: SQLite allows 32,766 bound parameters a statement; PostgreSQL 32,767. Stay well under.
_IN_CHUNK = 500
_PAIR_CHUNK = 10_000
_MIN_TIME = datetime.min.replace(tzinfo=UTC)


def poll_hour(at: datetime) -> datetime:
    """The hour of ``source_poll_hours`` a poll at ``at`` counts in (UTC, on the hour)."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _windows_end(notice: SeenNotice) -> datetime | None:
    ends = [w.end or w.start for w in notice.windows]
    return max(ends) if ends else None


def _notice_row(notice: SeenNotice) -> dict[str, Any]:
    return {
        "source_id": notice.source_id,
        "notice_id": notice.notice_id,
        "url": notice.url,
        "title": notice.title,
        "item_hash": notice.item_hash,
        "revision": notice.revision,
        "published": notice.published,
        "kind": notice.kind,
        "maintenance": notice.maintenance,
        "windows_json": _WINDOWS.dump_json(notice.windows).decode() if notice.windows else "[]",
        "channels_json": json.dumps(list(notice.channels), ensure_ascii=False) if notice.channels else "[]",
        "first_seen_at": notice.first_seen_at,
        "updated_at": notice.updated_at,
        "notice_key": notice.notice_key or None,
        "windows_end": _windows_end(notice),
    }


def _notice(row: RowMapping) -> SeenNotice:
    windows = row["windows_json"]
    channels = row["channels_json"]
    return SeenNotice(
        source_id=row["source_id"],
        notice_id=row["notice_id"],
        url=row["url"],
        title=row["title"],
        item_hash=row["item_hash"],
        revision=row["revision"],
        published=row["published"],
        kind=row["kind"],
        first_seen_at=row["first_seen_at"] or _MIN_TIME,
        updated_at=row["updated_at"] or _MIN_TIME,
        maintenance=bool(row["maintenance"]),
        windows=_WINDOWS.validate_json(windows) if windows and windows != "[]" else (),
        channels=tuple(json.loads(channels)) if channels and channels != "[]" else (),
        notice_key=row["notice_key"] or "",
    )


def _state_row(state: SourceState) -> dict[str, Any]:
    return {
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


#: The poll counts' statement: its columns, in the order the rows below are built.
_COUNT_COLS = ("source_id", "hour", "polls", "failures")


def _sqlite_time(at: datetime) -> str:
    """``at`` as :class:`AwareDateTime` stores it on SQLite (UTC, naive, SQLAlchemy's text form)."""
    # an aware time's text is that and "+00:00": cut, rather than a naive copy made first
    return utc_for_db(at).isoformat(" ", "microseconds")[:-6]


def _aware_time(at: datetime) -> datetime:
    """``at`` as asyncpg takes it for ``timestamptz`` (aware, in UTC; naive ones refused as by :class:`AwareDateTime`)."""
    return utc_for_db(at)


async def _write_checked_and_counts(
    conn: AsyncConnection, checked: Mapping[str, datetime], polls: PollCounts,
) -> None:
    """The steady-state part of a flush: every checked source's ``last_poll_at`` and the hourly poll
    counts, one executemany each. Thousands of rows a flush (every source every 30 s), so on SQLite
    and asyncpg the rows go to the driver as tuples through statements compiled once (no
    SQLAlchemy work per row: that was ~17 us a row, more than the database's own); any other
    driver takes the Core path."""
    count_stmt = accumulate_statement(conn, source_poll_hours, _COUNT_COLS, ("source_id", "hour"),
                                      sums=("polls", "failures"))
    dialect = conn.dialect.name
    set_sql = driver_sql(conn, _SET_LAST_POLL) if dialect in ("sqlite", "postgresql") else None
    count_sql = driver_sql(conn, count_stmt) if set_sql is not None else None
    if set_sql is None or count_sql is None:
        if checked:
            await conn.execute(_SET_LAST_POLL, [{"sid": sid, "at": at} for sid, at in checked.items()])
        if polls:
            await conn.execute(count_stmt, [
                {"source_id": source_id, "hour": hour, "polls": n, "failures": failed}
                for (source_id, hour), (n, failed) in polls.items()
            ])
        return
    as_time = _sqlite_time if dialect == "sqlite" else _aware_time
    if checked:
        sql, order = set_sql
        if order == ("at", "sid"):
            rows: list[tuple[Any, ...]] = [(as_time(at), sid) for sid, at in checked.items()]
        else:  # the dialect orders them otherwise: the same rows, permuted
            pick = itemgetter(*(("sid", "at").index(name) for name in order))
            rows = [pick((sid, as_time(at))) for sid, at in checked.items()]
        await conn.exec_driver_sql(sql, rows)
    if polls:
        sql, order = count_sql
        hours: dict[datetime, Any] = {}  # one hour (or two) for thousands of rows: converted once each
        rows = []
        for (source_id, hour), (n, failed) in polls.items():
            bound = hours.get(hour)
            if bound is None:
                bound = hours[hour] = as_time(hour)
            rows.append((source_id, bound, n, failed))
        if order != _COUNT_COLS:
            pick = itemgetter(*(_COUNT_COLS.index(name) for name in order))
            rows = [pick(row) for row in rows]
        await conn.exec_driver_sql(sql, rows)


def _state(row: RowMapping) -> SourceState:
    return SourceState(
        source_id=row["source_id"],
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


class SqlSeenStore:
    """:class:`SeenStore` on an async SQLAlchemy engine. Tables must exist (migrations create them).

    Reads are ``IN`` lists and writes multi-row upserts (:func:`~huabei_watch.db.upsert.upsert_rows`),
    so a list of any length costs one statement each way. ``get``/``put``/``get_state`` are the
    one-row forms (for tools and tests)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get_many(self, source_id: str, notice_ids: Collection[str]) -> dict[str, SeenNotice]:
        ids = list(dict.fromkeys(notice_ids))
        out: dict[str, SeenNotice] = {}
        if not ids:
            return out
        async with self._engine.connect() as conn:
            for i in range(0, len(ids), _IN_CHUNK):
                stmt = select(seen_notices).where(
                    seen_notices.c.source_id == source_id, seen_notices.c.notice_id.in_(ids[i : i + _IN_CHUNK])
                )
                for row in (await conn.execute(stmt)).mappings():
                    out[row["notice_id"]] = _notice(row)
        return out

    async def get_known(self, wanted: Mapping[str, Collection[str]]) -> dict[str, dict[str, SeenNotice]]:
        pairs = list(dict.fromkeys((sid, nid) for sid, ids in wanted.items() for nid in ids))
        out: dict[str, dict[str, SeenNotice]] = {}
        if not pairs:
            return out
        dialect = self._engine.dialect.name
        known = _KNOWN.get(dialect)
        if known is None:
            raise NotImplementedError(f"reading many sources' records on {dialect}: use SQLite or PostgreSQL")
        async with self._engine.connect() as conn:
            for i in range(0, len(pairs), _PAIR_CHUNK):
                chunk = pairs[i : i + _PAIR_CHUNK]
                params = ({"pairs": json.dumps(chunk)} if dialect == "sqlite" else
                          {"sources": [p[0] for p in chunk], "notices": [p[1] for p in chunk]})
                for row in (await conn.execute(known, params)).mappings():
                    out.setdefault(row["source_id"], {})[row["notice_id"]] = _notice(row)
        return out

    async def save(self, notices: Sequence[SeenNotice], state: SourceState | None = None) -> None:
        if not notices and state is None:
            return
        async with self._engine.begin() as conn:
            await upsert_rows(conn, seen_notices, [_notice_row(n) for n in notices], ("source_id", "notice_id"),
                              keep=("first_seen_at",))
            if state is not None:
                await upsert_rows(conn, source_state, [_state_row(state)], ("source_id",))

    async def load_states(self) -> dict[str, SourceState]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(source_state))).mappings().all()
        return {row["source_id"]: _state(row) for row in rows}

    async def save_states(
        self, states: Sequence[SourceState], polls: PollCounts, checked: Mapping[str, datetime] | None = None,
        *, notices: Sequence[SeenNotice] = (),
    ) -> None:
        if not states and not polls and not checked and not notices:
            return
        async with self._engine.begin() as conn:
            await upsert_rows(conn, seen_notices, [_notice_row(n) for n in notices], ("source_id", "notice_id"),
                              keep=("first_seen_at",))
            await upsert_rows(conn, source_state, [_state_row(s) for s in states], ("source_id",))
            await _write_checked_and_counts(conn, checked or {}, polls)

    async def maintenance_notices(self, ending_after: datetime) -> list[SeenNotice]:
        stmt = select(seen_notices).where(
            seen_notices.c.maintenance.is_(True), seen_notices.c.windows_end > ending_after
        )
        async with self._engine.connect() as conn:
            return [_notice(row) for row in (await conn.execute(stmt)).mappings()]

    # ---------------------------------------------------------------- one-row forms

    async def get(self, source_id: str, notice_id: str) -> SeenNotice | None:
        return (await self.get_many(source_id, [notice_id])).get(notice_id)

    async def put(self, notice: SeenNotice) -> None:
        await self.save([notice])

    async def get_state(self, source_id: str) -> SourceState:
        """The source's stored state (an empty state for a source never polled)."""
        stmt = select(source_state).where(source_state.c.source_id == source_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return SourceState(source_id=source_id) if row is None else _state(row)

    async def source_known(self, source_id: str) -> bool:
        """Has the source ever completed a poll (so its existing notices are recorded)?"""
        return (await self.get_state(source_id)).initialized_at is not None
