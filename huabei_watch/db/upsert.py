"""The one upsert helper: "insert if absent" and "insert or update", for SQLite and PostgreSQL.

Both databases speak ``INSERT ... ON CONFLICT``, so each operation is one atomic statement: of two
processes racing on the same key exactly one inserts. Any other dialect raises
:class:`NotImplementedError` with what to use instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Row, Table, func
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
    """Insert a row unless one with the same ``keys`` exists. True if this call inserted it."""
    stmt = _insert(conn, table).values(**values).on_conflict_do_nothing(index_elements=list(keys))
    result = await conn.execute(stmt)
    return bool(result.rowcount)


async def insert_all_if_absent(
    conn: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str], *, chunk: int = 500
) -> list[Row[Any]]:
    """Insert every row whose ``keys`` are not taken yet (in chunks of ``chunk`` rows); returns the
    ``keys`` columns of the rows this call inserted."""
    inserted: list[Row[Any]] = []
    returning = [table.c[k] for k in keys]
    for i in range(0, len(rows), chunk):
        stmt = _insert(conn, table).values(list(rows[i : i + chunk])).on_conflict_do_nothing(index_elements=list(keys))
        inserted.extend((await conn.execute(stmt.returning(*returning))).all())
    return inserted


async def upsert(
    conn: AsyncConnection,
    table: Table,
    values: Mapping[str, Any],
    keys: Sequence[str],
    *,
    keep: Sequence[str] = (),
    update: Mapping[str, Any] | None = None,
) -> None:
    """Insert ``values``, or update the row with the same ``keys``: by default every other column
    but those in ``keep`` (e.g. a first-seen time) takes the new value; ``update`` sets exactly
    these columns instead (values or SQL expressions on the existing row, e.g. ``attempts + 1``)."""
    ins = _insert(conn, table).values(**values)
    if update is None:
        update = {k: ins.excluded[k] for k in values if k not in keys and k not in keep}
    stmt = (
        ins.on_conflict_do_update(index_elements=list(keys), set_=dict(update))
        if update
        else ins.on_conflict_do_nothing(index_elements=list(keys))
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
