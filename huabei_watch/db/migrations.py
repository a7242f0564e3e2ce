"""Schema migrations: numbered steps recorded in ``schema_migrations``, applied in order at start-up.

Step 1 creates every table known to :data:`huabei_watch.db.tables.metadata` that does not exist yet
(``checkfirst``). The framework names no role's table: the composition root registers them all on
that metadata (:mod:`huabei_watch.root.schema`), so a module that adds a table is listed there.
A change to an existing table (new column, index) is a new numbered step with explicit DDL, so an
upgrade keeps data. Never edit a step that has shipped; add one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Column, Integer, MetaData, String, Table, inspect, select
from sqlalchemy.engine import Connection

from huabei_watch.db.tables import metadata
from huabei_watch.db.types import AwareDateTime

log = logging.getLogger(__name__)

_meta = MetaData()
schema_migrations = Table(
    "schema_migrations",
    _meta,
    Column("version", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("applied_at", AwareDateTime(), nullable=False),
)


def _create_known_tables(conn: Connection) -> None:
    metadata.create_all(conn, checkfirst=True)


Step = tuple[int, str, Callable[[Connection], None]]

STEPS: list[Step] = [
    (1, "create tables", _create_known_tables),
]


def upgrade(conn: Connection) -> list[int]:
    """Apply pending steps; returns the versions applied. Also creates tables added since (step 1
    is re-run with checkfirst on every start, which only adds missing tables)."""
    _meta.create_all(conn, checkfirst=True)
    done = {row[0] for row in conn.execute(select(schema_migrations.c.version))}
    applied: list[int] = []
    for version, name, fn in STEPS:
        if version in done:
            continue
        fn(conn)
        conn.execute(schema_migrations.insert().values(version=version, name=name, applied_at=datetime.now(UTC)))
        applied.append(version)
        log.info("db.migrated", extra={"version": version, "step": name})
    _create_known_tables(conn)
    return applied


def current_version(conn: Connection) -> int:
    if not inspect(conn).has_table("schema_migrations"):
        return 0
    versions = [row[0] for row in conn.execute(select(schema_migrations.c.version))]
    return max(versions, default=0)
