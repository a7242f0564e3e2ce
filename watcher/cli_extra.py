"""Subcommands contributed by the capability modules (merchants, parse-notice, diagnose, incident)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from watcher.config import load_settings
from watcher.errors import ConfigError


def _settings(args: argparse.Namespace) -> Any:
    return load_settings(Path(args.config) if args.config else None)


def cmd_merchants(args: argparse.Namespace) -> int:
    from watcher.state.db import Database
    from watcher.state.merchants import MerchantRegistry, dump_json

    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2

    text = ""
    if args.action == "import":
        try:
            text = Path(args.file).read_text("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"cannot read {args.file}: {exc}", file=sys.stderr)
            return 2

    async def main() -> int:
        db = await Database.open(settings.database_url())
        try:
            reg = MerchantRegistry(db)
            if args.action == "import":
                report = await reg.import_csv(text)
                for p in report.problems:
                    print(f"{args.file}: {p}", file=sys.stderr)
                print(f"imported {report.imported} merchants, {len(report.problems)} problems")
                return 1 if report.problems else 0
            async for m in reg.iter_all():
                print(dump_json(m))
            return 0
        finally:
            await db.close()

    settings.daemon.state_dir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(main())


def register(sub: Any) -> None:
    """Add subcommands to the ``huabei-watch`` parser. ``sub`` is argparse's subparsers action."""
    mer = sub.add_parser("merchants", help="merchant registry: import a CSV, list")
    msub = mer.add_subparsers(dest="action", required=True)
    imp = msub.add_parser("import", help="import or update merchants from a CSV file (header row required)")
    imp.add_argument("file")
    msub.add_parser("list", help="print every merchant as a JSON line")
    mer.set_defaults(fn=cmd_merchants)
