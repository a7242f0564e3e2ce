"""The write-behind flush of the sources' states alone: CPU of one flush of N unchanged sources.

What a steady-state flush of the watcher writes every 30 s when every poll was a 304: each
source's ``last_poll_at`` (one column of a stored row) and its hourly poll count, in one
transaction (:meth:`SqlSeenStore.save_states`). Only the store's public API is used, so the same
script measures any revision of the code. CPU is this process's (``time.process_time``, the
driver's threads included); on PostgreSQL the server's own CPU is not counted.

    python -m bench.bench_state_flush [--sources 2000] [--rounds 20] [--db postgresql+asyncpg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench._common import quiet_logs
from tests.support import drop_created_pg_databases, fresh_pg_database, migrated_database
from watcher.sources.seen import SourceState, SqlSeenStore


async def measure(url: str, sources: int, rounds: int) -> list[float]:
    db = await migrated_database(url)
    try:
        store = SqlSeenStore(db.engine)
        start = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
        ids = [f"src-{i:05d}" for i in range(sources)]
        states = [SourceState(source_id=s, etag=f'"e{s}"', last_poll_at=start, initialized_at=start) for s in ids]
        await store.save_states(states, {})
        per_flush: list[float] = []
        for r in range(rounds + 2):  # two warm-up rounds (statements compiled, pages cached)
            at = start + timedelta(seconds=30 * (r + 1))
            checked = {s: at + timedelta(milliseconds=i) for i, s in enumerate(ids)}
            polls = {(s, at.replace(minute=0, second=0, microsecond=0)): (1, 0) for s in ids}
            began = time.process_time()
            await store.save_states([], polls, checked)
            if r >= 2:
                per_flush.append(time.process_time() - began)
        got = await store.load_states()
        last = start + timedelta(seconds=30 * (rounds + 2))
        assert got[ids[-1]].last_poll_at == last + timedelta(milliseconds=sources - 1), "flush not written"
        return per_flush
    finally:
        await db.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--db", default="", help="PostgreSQL server URL (a fresh database is made); SQLite if empty")
    args = parser.parse_args()
    quiet_logs()
    with tempfile.TemporaryDirectory() as tmp:
        url = await fresh_pg_database(args.db) if args.db else f"sqlite+aiosqlite:///{Path(tmp) / 'state.db'}"
        try:
            times = await measure(url, args.sources, args.rounds)
        finally:
            await drop_created_pg_databases()
    ms = sorted(t * 1000 for t in times)
    print(f"flush of {args.sources} unchanged sources on {url.split(':', 1)[0]}: median {statistics.median(ms):.1f} ms "
          f"CPU (min {ms[0]:.1f}, max {ms[-1]:.1f}; {len(ms)} flushes), "
          f"{statistics.median(ms) * 1000 / args.sources:.1f} us a source")


if __name__ == "__main__":
    asyncio.run(main())
