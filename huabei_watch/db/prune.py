"""Delete old rows in small transactions: the one mechanism every role's housekeeping uses.

A large delete in one transaction would hold SQLite's single write lock (and a PostgreSQL
transaction) for as long as it takes; deleting a bounded batch per transaction lets the roles'
own writes go in between.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Table, delete, select, tuple_

from huabei_watch.db.engine import Database

#: Rows deleted per transaction.
BATCH = 1000


async def delete_in_batches(
    db: Database, table: Table, where: ColumnElement[bool], *, batch: int = BATCH, keys: Sequence[str] | None = None
) -> int:
    """Delete every row of ``table`` matching ``where``, ``batch`` rows per transaction (each one
    retried by :meth:`Database.run`); returns how many were deleted. ``keys``: the columns that
    identify a row (default: the primary key)."""
    cols = [table.c[k] for k in keys] if keys else list(table.primary_key.columns)
    total = 0
    while True:

        async def one_batch() -> int:
            async with db.begin() as conn:
                rows = (await conn.execute(select(*cols).where(where).limit(batch))).all()
                if not rows:
                    return 0
                if len(cols) == 1:
                    await conn.execute(delete(table).where(cols[0].in_([r[0] for r in rows])))
                else:
                    await conn.execute(delete(table).where(tuple_(*cols).in_([tuple(r) for r in rows])))
                return len(rows)

        n = await db.run(one_batch)
        total += n
        if n < batch:
            return total
