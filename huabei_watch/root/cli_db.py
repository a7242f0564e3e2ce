"""``huabei-watch db upgrade | check | current | revision``: the schema of the configured database.

Exit codes: 0 done; 1 the database is behind, disagrees with the models, or cannot be reached;
2 the configuration is invalid.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from huabei_watch.db.engine import Database
from huabei_watch.errors import ConfigError, HuabeiWatchError
from huabei_watch.root import schema
from huabei_watch.root.settings import Settings, load_settings

if TYPE_CHECKING:  # Alembic is imported when a db command runs, not by every process that builds the parser
    from huabei_watch.db.migrate import Migrations


def _run(args: argparse.Namespace, body: Callable[[Migrations, Database], Awaitable[int]]) -> int:
    from huabei_watch.db.migrate import SchemaNotCurrent

    try:
        settings: Settings = load_settings(Path(args.config) if args.config else None)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2

    async def main() -> int:
        db = await Database.open(settings.database_url(), retry_for=settings.database.retry_for)
        try:
            return await body(schema.migrations(), db)
        finally:
            await db.close()

    try:
        return asyncio.run(main())
    except SchemaNotCurrent as exc:
        print(f"huabei-watch db {args.action}: {exc}", file=sys.stderr)
        return 1
    except (HuabeiWatchError, SQLAlchemyError, OSError) as exc:
        print(f"huabei-watch db {args.action}: cannot use the database ({type(exc).__name__}: {exc}); "
              "check database.url and that the server is up", file=sys.stderr)
        return 1


async def _upgrade(m: Migrations, db: Database) -> int:
    applied = await m.upgrade(db)
    if applied:
        print(f"upgraded: applied {', '.join(applied)}; now at {m.head()}")
    else:
        print(f"already at {m.head()}; nothing to do")
    return 0


async def _check(m: Migrations, db: Database) -> int:
    diffs = await m.check(db)
    if diffs:
        print(f"the models and the migrations disagree ({len(diffs)} differences; "
              "add a revision with `huabei-watch db revision -m MESSAGE`):", file=sys.stderr)
        for line in diffs:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"ok: at {m.head()}, the models and the migrations agree")
    return 0


async def _current(m: Migrations, db: Database) -> int:
    from huabei_watch.db.migrate import UPGRADE_COMMAND

    status = await m.status(db)
    at = ", ".join(status.current) or "none"
    if status.at_head:
        print(f"{at} (head)")
    elif status.unknown:
        print(f"{at} (newer than this version, whose head is {status.head})")
    else:
        print(f"{at} (behind: head is {status.head}, pending {', '.join(status.pending)}; run `{UPGRADE_COMMAND}`)")
    return 0


def _revision(message: str) -> Callable[[Migrations, Database], Awaitable[int]]:
    async def body(m: Migrations, db: Database) -> int:
        path = await m.new_revision(db, message)
        print(path)
        return 0

    return body


def cmd_db(args: argparse.Namespace) -> int:
    if args.action == "upgrade":
        return _run(args, _upgrade)
    if args.action == "check":
        return _run(args, _check)
    if args.action == "current":
        return _run(args, _current)
    return _run(args, _revision(args.message))


def register(sub: Any) -> None:
    """Add ``db`` to the ``huabei-watch`` parser (``sub`` is argparse's subparsers action)."""
    db = sub.add_parser("db", help="database schema: upgrade, check, current revision")
    dsub = db.add_subparsers(dest="action", required=True)
    dsub.add_parser("upgrade", help="apply every pending migration (keeps data; adopts a pre-Alembic database)")
    dsub.add_parser("check", help="fail unless the database is at the newest revision and matches the models")
    dsub.add_parser("current", help="print the database's revision and whether it is behind")
    rev = dsub.add_parser("revision", help="(development) write a new revision from the models' differences")
    rev.add_argument("-m", "--message", required=True, help="what the revision changes")
    db.set_defaults(fn=cmd_db)
