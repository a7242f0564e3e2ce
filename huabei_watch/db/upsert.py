"""Dialect-aware "insert if absent" and "upsert" for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, func
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


async def upsert_rows(
    conn: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str]
) -> None:
    """:func:`upsert` for many rows with the same columns, as one executemany (batched by the
    driver): thousands of rows per round trip instead of one statement each."""
    if not rows:
        return
    ins = _insert(conn, table)
    update = {k: ins.excluded[k] for k in rows[0] if k not in keys}
    await conn.execute(ins.on_conflict_do_update(index_elements=list(keys), set_=update), list(rows))


async def accumulate(
    conn: AsyncConnection,
    table: Table,
    values: Mapping[str, Any],
    keys: Sequence[str],
    *,
    sums: Sequence[str] = (),
    maxes: Sequence[str] = (),
) -> None:
    """Insert the row, or fold it into the row with the same ``keys``: columns in ``sums`` are
    added, columns in ``maxes`` keep the larger value, the others are replaced. One statement, so
    concurrent writers never lose a count (a summary row per interval, e.g. checks per hour)."""
    ins = _insert(conn, table).values(**values)
    greatest = func.greatest if conn.dialect.name == "postgresql" else func.max
    update: dict[str, Any] = {}
    for k in values:
        if k in keys:
            continue
        if k in sums:
            update[k] = table.c[k] + ins.excluded[k]
        elif k in maxes:
            update[k] = greatest(table.c[k], ins.excluded[k])
        else:
            update[k] = ins.excluded[k]
    await conn.execute(ins.on_conflict_do_update(index_elements=list(keys), set_=update))
