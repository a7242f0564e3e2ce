"""Reads the root's pages share (SQLAlchemy Core selects only): incidents of every phase.

A table that does not exist yet (a process that never ran the role owning it) reads as empty, so
the pages always render.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Table, inspect, select
from sqlalchemy.ext.asyncio import AsyncConnection

from consumers.incidents.store import incidents_table
from huabei_watch.events import Incident


async def present(conn: AsyncConnection, tables: Sequence[Table]) -> set[str]:
    """Names of ``tables`` that exist in the database."""

    def names(sync: Any) -> set[str]:
        insp = inspect(sync)
        return {t.name for t in tables if insp.has_table(t.name)}

    return await conn.run_sync(names)


async def incidents(conn: AsyncConnection, *, kinds: Sequence[str] = (), ids: Sequence[str] = ()) -> list[Incident]:
    """Every stored incident (of ``kinds`` / with ``ids`` when given). Rows from another version of
    the contract are skipped, never raised."""
    if not await present(conn, [incidents_table]):
        return []
    q = select(incidents_table.c.data)
    if kinds:
        q = q.where(incidents_table.c.kind.in_(list(kinds)))
    if ids:
        q = q.where(incidents_table.c.incident_id.in_(list(ids)))
    out: list[Incident] = []
    for (data,) in (await conn.execute(q)).all():
        try:
            out.append(Incident.model_validate(data))
        except ValidationError:
            continue
    return out
