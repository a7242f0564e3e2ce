"""Housekeeping on a year of history: start-up restore and database size, before and after.

Writes a year of synthetic history (``tests/ops/history.py``: a few incidents a day with their
ledgers, hourly signals, switch changes, deliveries, seen notices, probe and poll hours) into a
SQLite file, then measures the incidents role's restore (``IncidentStore.load_recent``) reading
everything (the baseline: what start-up read before housekeeping) and reading what start-up
reads now, runs one housekeeping pass of every role, and prints rows and file size (after VACUUM)
before and after. ``--quick``: 120 days instead of 365. Figures only: nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bench._common import quiet_logs, verdict
from consumers.cashier.store import CashierStore
from consumers.incidents.signal_log import prune_signals
from consumers.incidents.store import IncidentStore
from consumers.notify.role import IncidentMemory
from consumers.notify.store import prune_deliveries
from huabei_watch.config.retention import DEFAULT_RETENTION as R
from huabei_watch.db.engine import Database
from huabei_watch.db.tables import metadata
from huabei_watch.root import schema
from tests.ops.history import END, write_history
from tests.support import migrated_database
from watcher.sources.housekeeping import prune_watcher

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


async def _rows(db: Database) -> int:
    total = 0
    async with db.engine.connect() as conn:
        for table in metadata.sorted_tables:
            total += int((await conn.execute(select(func.count()).select_from(table))).scalar_one())
    return total


def _vacuumed_size(path: Path) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # in WAL mode VACUUM's pages land in the -wal file first
    finally:
        conn.close()
    return path.stat().st_size / 1e6


async def _timed_restore(store: IncidentStore, since: datetime) -> tuple[int, float]:
    best = float("inf")
    n = 0
    for _ in range(3):
        t = time.perf_counter()
        n = len(await store.load_recent(since))
        best = min(best, time.perf_counter() - t)
    return n, best


async def main(days: int) -> None:
    quiet_logs()
    schema.load_tables()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.db"
        db = await migrated_database(f"sqlite+aiosqlite:///{path}")
        await write_history(db, days=days)
        store = IncidentStore(db)
        rows_before = await _rows(db)
        await db.engine.dispose()  # no pooled connection while VACUUM rewrites the file
        size_before = _vacuumed_size(path)
        all_n, all_s = await _timed_restore(store, EPOCH)
        now_n, now_s = await _timed_restore(store, END - timedelta(seconds=R.incidents_in_memory))
        t = time.perf_counter()
        await store.delete_closed_before(END - timedelta(seconds=R.incidents))
        await prune_signals(db, END - timedelta(seconds=R.signals))
        await CashierStore(db).prune(audit_before=END - timedelta(seconds=R.cashier_audit),
                                     heard_before=END - timedelta(seconds=R.incidents))
        await prune_deliveries(db, END - timedelta(seconds=R.deliveries))
        await IncidentMemory(db).prune(END - timedelta(seconds=R.incidents))
        await prune_watcher(db, R, END)
        prune_s = time.perf_counter() - t
        rows_after = await _rows(db)
        await db.close()
        size_after = _vacuumed_size(path)
    print(f"history: {days} days, {rows_before:,} rows, {size_before:.1f} MB (SQLite, after VACUUM)")
    print(f"restore at start, baseline (every incident):      {all_n:5d} incidents in {all_s * 1000:7.1f} ms")
    print(f"restore at start, now (open + closed in {R.incidents_in_memory / 86400:g} days): "
          f"{now_n:5d} incidents in {now_s * 1000:7.1f} ms  (ratio {now_s / all_s:.2f} of baseline)")
    print(f"one housekeeping pass of every role: {prune_s:.1f} s")
    print(f"after: {rows_after:,} rows, {size_after:.1f} MB ({rows_after / rows_before:.0%} of the rows)")
    print(f"start-up reads at most the retention window: {verdict(now_n < all_n or days <= R.incidents_in_memory / 86400)}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="120 days instead of 365")
    args = ap.parse_args()
    asyncio.run(main(120 if args.quick else 365))
