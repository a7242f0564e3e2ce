"""The database adapter: engine, and retries for a locked or unreachable database (only those:
every other database error is permanent, see :func:`is_transient_db_error`).

SQLite (a file in ``daemon.state_dir``) by default; PostgreSQL when several processes share state.
Only adapters import this module; the pure core never sees SQLAlchemy. The schema is made by
migrations (:mod:`huabei_watch.db.migrate`), never by opening a database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from huabei_watch.backoff import backoff_delay
from huabei_watch.db import probe
from huabei_watch.errors import HuabeiWatchError, PermanentError, TransientError

log = logging.getLogger(__name__)

#: Waits between retries of a locked or unreachable database: 50 ms doubling to 5 s.
RETRY_INITIAL, RETRY_MAX = 0.05, 5.0
T = TypeVar("T")
#: SQLite's default lock wait per statement.
SQLITE_BUSY_MS = 30_000


def make_engine(url: str, *, pool_size: int = 5, sqlite_cache_kb: int | None = None) -> AsyncEngine:
    """Create the engine. SQLite gets WAL and a busy timeout so readers never block the writer, and
    ``sqlite_cache_kb`` KiB of page cache per connection (None: SQLite's own default, 2,000 KiB)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin and end: the
            # module's legacy mode leaves a read snapshot open on a pooled connection, which then
            # reads stale rows (seen: a policy read missing a change another task had committed).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
            cur.execute("PRAGMA synchronous=NORMAL")
            if sqlite_cache_kb is not None:
                cur.execute(f"PRAGMA cache_size=-{int(sqlite_cache_kb)}")  # negative: KiB, not pages
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

        return engine
    return create_async_engine(url, pool_size=pool_size, pool_pre_ping=True)


#: SQLite primary result codes that mean "another connection holds the lock": SQLITE_BUSY, SQLITE_LOCKED.
_SQLITE_BUSY_CODES = frozenset({5, 6})
#: PostgreSQL SQLSTATE classes worth retrying: connection exceptions (08), transaction rollback --
#: serialization failure, deadlock (40), operator intervention -- shutdown, cannot connect now (57P).
_PG_TRANSIENT_PREFIXES = ("08", "40", "57P")
#: PostgreSQL's answers to the lock and statement timeouts :meth:`Database.begin` sets with ``wait``:
#: lock_not_available, query_canceled. They are its "database is locked", so transient too.
_PG_TRANSIENT_CODES = frozenset({"55P03", "57014"})


def _driver_error(exc: BaseException) -> BaseException:
    """The driver's exception under SQLAlchemy's wrapper (``exc`` itself if not wrapped)."""
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    return orig if isinstance(orig, BaseException) else exc


def sqlstate(exc: BaseException) -> str | None:
    """The PostgreSQL SQLSTATE of ``exc`` (asyncpg, psycopg), or None."""
    orig = _driver_error(exc)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code if isinstance(code, str) else None


def is_sqlite_busy(exc: BaseException) -> bool:
    """SQLite said busy or locked (another connection holds the lock; the work can run again)."""
    orig = _driver_error(exc)
    code = getattr(orig, "sqlite_errorcode", None)
    return isinstance(orig, sqlite3.Error) and isinstance(code, int) and code & 0xFF in _SQLITE_BUSY_CODES


def is_transient_db_error(exc: BaseException) -> bool:
    """Worth retrying: SQLite busy/locked; PostgreSQL SQLSTATE classes 08, 40 and 57P (and the
    lock/statement timeouts of :meth:`Database.begin`); a connection lost or refused; no pooled
    connection free in time (every one busy). Anything else (a missing table, a constraint, bad
    SQL, a type mismatch) fails the same way every time."""
    if is_sqlite_busy(exc) or isinstance(exc, PoolTimeout):
        return True
    code = sqlstate(exc)
    if code is not None:
        return code.startswith(_PG_TRANSIENT_PREFIXES) or code in _PG_TRANSIENT_CODES
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(_driver_error(exc), (ConnectionError, OSError, TimeoutError))


def describe_db_error(exc: BaseException) -> str:
    """``Class: message`` of the driver's error (the statement and parameters left out), with the
    SQLSTATE when there is one: what logs and error reasons say."""
    orig = _driver_error(exc)
    cause = orig.__cause__
    if cause is not None and getattr(cause, "sqlstate", None):
        orig = cause  # SQLAlchemy's asyncpg adapter wraps asyncpg's own error: name that one
    text = " ".join(str(orig).split())[:300]
    code = sqlstate(exc)
    return f"{type(orig).__name__}{f' [{code}]' if code else ''}: {text}"


class Database:
    def __init__(self, engine: AsyncEngine, *, retry_for: float = 60.0) -> None:
        self.engine = engine
        self.retry_for = retry_for

    @classmethod
    async def open(cls, url: str, *, pool_size: int = 5, retry_for: float = 60.0,
                   sqlite_cache_kb: int | None = None) -> Database:
        """An engine on ``url``; no connection is made yet and no table is created."""
        return cls(make_engine(url, pool_size=pool_size, sqlite_cache_kb=sqlite_cache_kb), retry_for=retry_for)

    async def run(self, fn: Callable[[], Awaitable[T]], *, retry_for: float | None = None) -> T:
        """Run ``fn`` (one unit of work, its own transaction), retrying transient database errors
        (:func:`is_transient_db_error`) with backoff for up to ``retry_for`` seconds, then raise
        :class:`TransientError` naming the last one. Any other database error raises
        :class:`PermanentError` at once with the driver's message (the SQLAlchemy error chained);
        the project's own errors and other exceptions pass through unchanged."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.retry_for if retry_for is None else retry_for)
        attempt = 0
        while True:
            try:
                return await fn()
            except HuabeiWatchError:
                raise
            except Exception as exc:
                if not is_transient_db_error(exc):
                    if isinstance(exc, DBAPIError):
                        raise PermanentError(f"database error: {describe_db_error(exc)}") from exc
                    raise
                attempt += 1
                delay = backoff_delay(attempt, RETRY_INITIAL, RETRY_MAX)
                reason = describe_db_error(exc)
                if loop.time() + delay > deadline:
                    raise TransientError(f"database unavailable: {reason}") from None
                # SQLite busy is lock contention between this process's own tasks (WAL: a read
                # snapshot that must be upgraded to a write after another writer committed fails
                # at once, whatever the busy timeout): the unit of work runs again from the start,
                # so it is routine and logged at debug. Anything else is worth an operator's eye.
                level = logging.DEBUG if is_sqlite_busy(exc) else logging.WARNING
                log.log(level, "db.retry", extra={"delay_s": round(delay, 3), "attempt": attempt, "reason": reason})
                await asyncio.sleep(delay)

    def begin(self, *, wait: float | None = None) -> Any:
        """``async with db.begin() as conn`` -- a transaction. With ``wait`` (seconds), a statement
        that waits longer than that for a lock fails (and the transaction rolls back) instead of
        waiting for the engine's default (SQLite's busy timeout is 30 s): what a request that must
        answer in time uses, inside :meth:`run` with a short ``retry_for``."""
        if wait is None:
            return self.engine.begin()
        return self._begin_bounded(wait)

    @contextlib.asynccontextmanager
    async def _begin_bounded(self, wait: float) -> AsyncIterator[AsyncConnection]:
        ms = max(1, int(wait * 1000))
        async with self.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                await conn.exec_driver_sql(f"PRAGMA busy_timeout={ms}")
                try:
                    yield conn
                finally:  # back to the default before the pooled connection is reused
                    await conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
            else:
                await conn.exec_driver_sql(f"SET LOCAL lock_timeout = {ms}")
                await conn.exec_driver_sql(f"SET LOCAL statement_timeout = {ms}")
                yield conn

    async def write_probe(self, now: datetime, timeout: float = 2.0) -> bool:
        """Whether a small write commits within ``timeout`` s (``/readyz``): upserts this process's
        row of ``runtime_probe``. Never raises."""
        try:
            async with asyncio.timeout(timeout + 1.0):
                async with self.begin(wait=timeout) as conn:
                    await probe.touch(conn, now)
            return True
        except Exception as exc:
            log.warning("db.write_probe_failed", extra={"reason": f"{type(exc).__name__}: {str(exc)[:200]}"})
            return False

    async def close(self) -> None:
        await self.engine.dispose()


def dialect(conn: AsyncConnection | Connection | AsyncEngine) -> str:
    return str(conn.dialect.name)
