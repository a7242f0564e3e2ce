"""The schema: every role's tables, registered on the one metadata of :mod:`huabei_watch.db.tables`.

Each module below defines its tables on that metadata when imported; importing them here is what
puts every table under :func:`huabei_watch.db.migrations.upgrade`, which creates the missing ones.
A module that adds a table is listed here (the framework never names a role's module).
"""

from __future__ import annotations

from types import ModuleType

from sqlalchemy import MetaData

from consumers.cashier import store as cashier_store
from consumers.incidents import signal_log
from consumers.incidents import store as incidents_store
from consumers.notify import progress as notify_progress
from consumers.notify import role as notify_role
from consumers.notify import store as notify_store
from consumers.notify.channels import shared_limit as notify_limits
from huabei_watch.db.tables import metadata
from huabei_watch.merchants import registry as merchant_registry
from watcher.compat import store as compat_store
from watcher.sources import probe_store, seen

#: Every module that defines tables, by role (the shared merchant registry first).
TABLE_MODULES: tuple[ModuleType, ...] = (
    merchant_registry,
    seen, probe_store, compat_store,  # watcher
    signal_log, incidents_store,  # incidents
    cashier_store,  # cashier
    notify_store, notify_role, notify_progress, notify_limits,  # notify
)


def load_tables() -> MetaData:
    """The metadata holding every table of every role (importing :data:`TABLE_MODULES` put them there)."""
    return metadata
