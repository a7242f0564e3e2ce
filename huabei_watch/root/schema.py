"""The schema: every role's tables on the one metadata of :mod:`huabei_watch.db.tables`, and the
Alembic revisions that build them (``huabei_watch/root/migrations/``, shipped inside the package).

Each module below defines its tables on that metadata when imported; importing them here puts every
table in front of the migrations' check (``huabei-watch db check``). A module that adds or changes a
table is listed here and comes with a new revision (the framework never names a role's module).

At start-up (:func:`prepare_database`) a SQLite database upgrades itself (one machine, one file);
any other database must already be at the newest revision: ``huabei-watch db upgrade`` runs as a
step before the roles start (Compose, Kubernetes, systemd), and a process refuses to start on an
older schema, naming that command.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from sqlalchemy import MetaData

from consumers.cashier import store as cashier_store
from consumers.incidents import signal_log
from consumers.incidents import store as incidents_store
from consumers.notify import progress as notify_progress
from consumers.notify import role as notify_role
from consumers.notify import store as notify_store
from consumers.notify.channels import shared_limit as notify_limits
from huabei_watch import lease
from huabei_watch.db.engine import Database
from huabei_watch.db.migrate import Migrations
from huabei_watch.db.tables import metadata
from huabei_watch.merchants import registry as merchant_registry
from watcher.compat import store as compat_store
from watcher.sources import probe_store, seen

#: Every module that defines tables, by role (the shared merchant registry first).
TABLE_MODULES: tuple[ModuleType, ...] = (
    merchant_registry, lease,
    seen, probe_store, compat_store,  # watcher
    signal_log, incidents_store,  # incidents
    cashier_store,  # cashier
    notify_store, notify_role, notify_progress, notify_limits,  # notify
)

#: The Alembic scripts (``env.py``, ``versions/``), package data of ``huabei_watch.root``.
SCRIPT_LOCATION = Path(__file__).resolve().parent / "migrations"


def load_tables() -> MetaData:
    """The metadata holding every table of every role (importing :data:`TABLE_MODULES` put them there)."""
    return metadata


def migrations() -> Migrations:
    """The project's migrations: its revisions for every role's tables."""
    return Migrations(SCRIPT_LOCATION, load_tables())


async def prepare_database(db: Database) -> None:
    """Make ``db`` ready for the roles: SQLite upgrades itself; any other database must be at the
    newest revision already, else :class:`~huabei_watch.db.migrate.SchemaNotCurrent` says to run
    ``huabei-watch db upgrade``."""
    if db.engine.dialect.name == "sqlite":
        await migrations().upgrade(db)
    else:
        await migrations().require_current(db)
