"""Schema migrations through Alembic: upgrade, status, and the check that models and migrations agree.

The framework names no table and no revision: :class:`Migrations` gets the folder of Alembic
scripts (``env.py`` and ``versions/``) and the metadata of every table from the composition root
(:mod:`huabei_watch.root.schema`). Its ``env.py`` reads the connection and the metadata from
``config.attributes``, so every command runs on a connection this module opened.

* :meth:`Migrations.upgrade` applies every pending revision in one transaction (SQLite and
  PostgreSQL both have transactional DDL: a failed upgrade leaves the database as it was). On
  PostgreSQL it first takes an advisory lock, so several processes upgrading at once (an init
  container per pod) apply each revision once.
* :meth:`Migrations.status` reads the revision a database is at; :meth:`Migrations.require_current`
  raises :class:`SchemaNotCurrent`, naming the command to run, when revisions are pending.
* :meth:`Migrations.check` lists the differences between the models and a database at head.

The pre-Alembic runner's bookkeeping table (:data:`LEGACY_VERSION_TABLE`) is left in place and
ignored by the check.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator

from huabei_watch.db.engine import Database
from huabei_watch.errors import HuabeiWatchError

log = logging.getLogger(__name__)

#: Where the old home-made runner recorded its steps; databases it created still have it.
LEGACY_VERSION_TABLE = "schema_migrations"
#: Alembic's own table.
VERSION_TABLE = "alembic_version"
#: Key of the PostgreSQL advisory lock held while an upgrade runs (any constant, same in every process).
_PG_LOCK_KEY = 0x68627721  # "hbw!"

UPGRADE_COMMAND = "huabei-watch db upgrade"


#: Alembic's commands run ``env.py`` through module-level proxies (``alembic.context``, ``alembic.op``),
#: so two commands in one process must not interleave (they would, across awaits on an async
#: driver). One lock per event loop; other processes are kept apart by the database's own locks.
_COMMAND_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _command_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _COMMAND_LOCKS.get(loop)
    if lock is None:
        lock = _COMMAND_LOCKS[loop] = asyncio.Lock()
    return lock


class SchemaNotCurrent(HuabeiWatchError):
    """The database lacks revisions this version needs. The message names the command to run."""


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """Where a database stands. ``current`` is empty for a database Alembic never touched."""

    current: tuple[str, ...]
    head: str
    #: revisions between ``current`` and ``head``, oldest first
    pending: tuple[str, ...]
    #: revisions in the database that these scripts do not know (a newer version upgraded it)
    unknown: tuple[str, ...]

    @property
    def at_head(self) -> bool:
        return self.current == (self.head,)


def include_name(name: str | None, type_: str, _parents: dict[str, str | None]) -> bool:
    """Autogenerate filter: every table but the bookkeeping ones."""
    return not (type_ == "table" and name in (LEGACY_VERSION_TABLE, VERSION_TABLE))


def render_item(type_: str, obj: Any, _autogen_context: Any) -> str | Literal[False]:
    """Autogenerate renders a column type of ours as the plain type it stores (a revision stays
    frozen when the Python type changes later)."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def expression_indexes(metadata: MetaData) -> frozenset[str]:
    """Names of the indexes on ``metadata`` built on an expression (e.g. ``id COLLATE "C"``), not
    plain columns. Alembic cannot compare them (SQLite cannot reflect them; on PostgreSQL the
    reflected expression does not match the model's), so autogenerate and :meth:`Migrations.check`
    leave them out; their revision creates them."""
    return frozenset(
        str(ix.name) for t in metadata.tables.values() for ix in t.indexes
        if ix.name is not None and any(not isinstance(e, Column) for e in ix.expressions)
    )


def context_options(metadata: MetaData) -> dict[str, Any]:
    """The options every migration context uses (``env.py`` passes them to ``context.configure``)."""
    skipped = expression_indexes(metadata)

    def include_object(_obj: Any, name: str | None, type_: str, _reflected: bool, _compare_to: Any) -> bool:
        return not (type_ == "index" and name in skipped)

    return {"target_metadata": metadata, "include_name": include_name, "include_object": include_object,
            "compare_type": True, "render_item": render_item}


class Migrations:
    """The Alembic scripts in ``script_location`` for the tables on ``metadata``."""

    def __init__(self, script_location: Path, metadata: MetaData) -> None:
        self.script_location = script_location
        self.metadata = metadata
        self.script = ScriptDirectory(str(script_location))

    def head(self) -> str:
        """The newest revision (the scripts have one line of history)."""
        head = self.script.get_current_head()
        if head is None:
            raise RuntimeError(f"no revisions under {self.script_location}")
        return head

    def _config(self, conn: Connection) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(self.script_location))
        cfg.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
        cfg.attributes["connection"] = conn
        cfg.attributes["metadata"] = self.metadata
        return cfg

    # -- commands --------------------------------------------------------------------------------
    async def upgrade(self, db: Database, target: str = "head") -> tuple[str, ...]:
        """Apply pending revisions up to ``target``; returns those applied, oldest first."""

        async def work() -> tuple[str, ...]:
            async with _command_lock(), db.begin() as conn:
                applied: tuple[str, ...] = await conn.run_sync(self._upgrade_sync, target)
                return applied

        return await db.run(work)

    def _upgrade_sync(self, conn: Connection, target: str) -> tuple[str, ...]:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        before = self._status_sync(conn)
        if before.unknown:
            raise SchemaNotCurrent(
                f"the database is at revision {', '.join(before.unknown)}, which this version does not know "
                "(a newer huabei-watch upgraded it): run that version, or restore the backup taken before it"
            )
        command.upgrade(self._config(conn), target)
        applied = self._status_sync(conn)
        done = tuple(r for r in before.pending if r not in applied.pending)
        for revision in done:
            log.info("db.migrated", extra={"revision": revision})
        return done

    async def status(self, db: Database) -> SchemaStatus:
        async def work() -> SchemaStatus:
            async with db.engine.connect() as conn:
                return await conn.run_sync(self._status_sync)

        return await db.run(work)

    def _status_sync(self, conn: Connection) -> SchemaStatus:
        current = tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
        known = {s.revision for s in self.script.walk_revisions()}
        unknown = tuple(r for r in current if r not in known)
        head = self.head()
        if unknown:
            pending: tuple[str, ...] = ()
        else:
            lower = current[0] if current else "base"
            pending = tuple(reversed([s.revision for s in self.script.iterate_revisions(head, lower)]))
        return SchemaStatus(current=current, head=head, pending=pending, unknown=unknown)

    async def require_current(self, db: Database) -> SchemaStatus:
        """Raise :class:`SchemaNotCurrent` when revisions are pending. A database newer than these
        scripts is accepted with a warning: revisions only add tables and columns, so a process of
        the previous version keeps working during a rolling update."""
        status = await self.status(db)
        if status.pending:
            at = ", ".join(status.current) or "none (never migrated)"
            raise SchemaNotCurrent(
                f"the database schema is behind this version (revision {at}, needs {status.head}): "
                f"run `{UPGRADE_COMMAND}` with the same configuration, then start again"
            )
        if status.unknown:
            log.warning("db.schema_newer", extra={"revision": ",".join(status.unknown), "known_head": status.head})
        return status

    async def check(self, db: Database) -> list[str]:
        """Differences between the models and the database, one line each; [] when they agree.
        Raises :class:`SchemaNotCurrent` unless the database is at head (compare after upgrading)."""
        status = await self.status(db)
        if not status.at_head:
            at = ", ".join(status.current) or "none"
            raise SchemaNotCurrent(
                f"the database is at revision {at}, not {status.head}: run `{UPGRADE_COMMAND}` first, then check"
            )

        async def work() -> list[str]:
            async with db.engine.connect() as conn:
                return await conn.run_sync(self._diff_sync)

        return await db.run(work)

    def _diff_sync(self, conn: Connection) -> list[str]:
        context = MigrationContext.configure(conn, opts=context_options(self.metadata))
        with warnings.catch_warnings():
            # The expression indexes are left out on purpose (``include_object``); Alembic still warns
            # that SQLite cannot reflect them before that filter runs.
            warnings.filterwarnings("ignore", message="autogenerate skipping metadata-specified expression-based index")
            return [_describe(d) for d in compare_metadata(context, self.metadata)]


    async def new_revision(self, db: Database, message: str) -> Path:
        """(Development) write the next revision, numbered after the head, holding the differences
        between the models and ``db`` (which must be at head). Returns the file written; review
        it before committing."""
        await self.check(db)
        number = f"{int(self.head()) + 1:04d}"

        async def work() -> Path:
            async with _command_lock(), db.begin() as conn:
                path: Path = await conn.run_sync(self._revision_sync, message, number)
                return path

        return await db.run(work)

    def _revision_sync(self, conn: Connection, message: str, number: str) -> Path:
        script = command.revision(self._config(conn), message=message, autogenerate=True, rev_id=number)
        if script is None or isinstance(script, list):
            raise RuntimeError("alembic wrote no single revision")
        return Path(script.path)


def _describe(diff: Any) -> str:
    """One line for an autogenerate diff (a tuple, or a list of tuples for column changes)."""
    if isinstance(diff, list):
        return "; ".join(_describe(d) for d in diff)
    kind, *rest = diff
    return f"{kind}: " + ", ".join(_short(x) for x in rest if x is not None and x != {})


def _short(x: Any) -> str:
    name = getattr(x, "name", None)
    if name is not None:
        table = getattr(getattr(x, "table", None), "name", None)
        return f"{table}.{name}" if table else str(name)
    if isinstance(x, Iterable) and not isinstance(x, str):
        return "(" + ", ".join(_short(i) for i in x) + ")"
    return str(x)
