"""The schema: every role's tables on the one metadata of :mod:`huabei_watch.db.tables`, and the
Alembic revisions that build them (``huabei_watch/root/migrations/``, shipped inside the package).

Each module of :data:`TABLE_MODULES` defines its tables on that metadata when imported;
:func:`load_tables` imports them all, which puts every table in front of the migrations and their
check (``huabei-watch db check``). A module that adds or changes a
table is listed here and comes with a new revision (the framework never names a role's module).

At start-up (:func:`prepare_database`) a SQLite database upgrades itself (one machine, one file);
any other database must already be at the newest revision: ``huabei-watch db upgrade`` runs as a
step before the roles start (Compose, Kubernetes, systemd), and a process refuses to start on an
older schema, naming that command.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import MetaData, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from huabei_watch.db.migrate import Migrations

from huabei_watch.db.engine import Database
from huabei_watch.db.tables import metadata

#: Every module that defines tables, by role (the shared merchant registry first). Imported by
#: :func:`load_tables`, not by this module: a process whose database is at head loads only the
#: modules of the roles it runs (the others' stores and their imports cost memory).
TABLE_MODULES: tuple[str, ...] = (
    "huabei_watch.merchants.registry", "huabei_watch.lease",
    "watcher.sources.seen", "watcher.sources.probe_store", "watcher.compat.store",  # watcher
    "consumers.incidents.signal_log", "consumers.incidents.store",  # incidents
    "consumers.cashier.store",  # cashier
    "consumers.notify.store", "consumers.notify.role", "consumers.notify.progress",  # notify
    "consumers.notify.shard_board",
    "consumers.notify.channels.shared_limit",
)


#: The Alembic scripts (``env.py``, ``versions/``), package data of ``huabei_watch.root``.
SCRIPT_LOCATION = Path(__file__).resolve().parent / "migrations"


def load_tables() -> MetaData:
    """The metadata holding every table of every role (importing :data:`TABLE_MODULES` puts them there)."""
    for name in TABLE_MODULES:
        importlib.import_module(name)
    return metadata


#: The newest revision under ``migrations/versions`` (a test pins it to Alembic's head): a process
#: whose database is there already starts without loading Alembic (about 7 MB of memory).
HEAD_REVISION = "0011"


def migrations() -> Migrations:
    """The project's migrations: its revisions for every role's tables."""
    from huabei_watch.db.migrate import Migrations

    return Migrations(SCRIPT_LOCATION, load_tables())


async def _at_head(db: Database) -> bool:
    """True when the database says it is at :data:`HEAD_REVISION` (one read, no Alembic)."""
    try:
        async with db.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    except DBAPIError:  # no version table yet: a new or a pre-Alembic database
        return False
    return list(rows) == [HEAD_REVISION]


async def prepare_database(db: Database) -> None:
    """Make ``db`` ready for the roles: SQLite upgrades itself; any other database must be at the
    newest revision already, else :class:`~huabei_watch.db.migrate.SchemaNotCurrent` says to run
    ``huabei-watch db upgrade``."""
    if await _at_head(db):
        return
    if db.engine.dialect.name == "sqlite":
        await migrations().upgrade(db)
    else:
        await migrations().require_current(db)
