"""Dialect-aware "insert if absent" and "upsert" for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def _insert(conn: AsyncConnection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"database dialect {conn.dialect.name!r} is not supported (use SQLite or PostgreSQL)")


async def insert_if_absent(
    conn: AsyncConnection, table: Table, values: Mapping[str, Any], keys: Sequence[str]
) -> bool:
    """Insert a row unless one with the same ``keys`` exists. True if this call inserted it.

    Atomic in both databases, so two processes racing on the same key never both "win".
    """
    stmt = _insert(conn, table).values(**values).on_conflict_do_nothing(index_elements=list(keys))
    result = await conn.execute(stmt)
    return bool(result.rowcount)


async def upsert(
    conn: AsyncConnection, table: Table, values: Mapping[str, Any], keys: Sequence[str]
) -> None:
    """Insert or update every non-key column of the row with the same ``keys``."""
    ins = _insert(conn, table).values(**values)
    update = {k: ins.excluded[k] for k in values if k not in keys}
    stmt = ins.on_conflict_do_update(index_elements=list(keys), set_=update) if update else ins.on_conflict_do_nothing(
        index_elements=list(keys)
    )
    await conn.execute(stmt)
