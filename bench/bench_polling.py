"""Polling scale: many announcement sources, most answering 304: ``python -m bench.bench_polling``.

Sites: a child process (``bench._list_servers``, its CPU not counted) runs 4 aiohttp servers on
127.0.0.1 serving one HTML list page per source with an ``ETag``; each interval 5 % of the sources
get a new notice (new ETag, the rest answer 304 to ``If-None-Match``).

This process runs what the watcher role runs for announcements: one :class:`Fetcher` (per-host
limit 2) over one ``aiohttp.ClientSession``, one :class:`AnnouncementWatcher` per source
(``HtmlSource``, interval 30 s, ``politeness_delay`` 0 because 2,000 sources share 4 loopback
hosts here), :class:`SqlSeenStore` on SQLite, ``watcher.notices.understand`` for new notices, an
APScheduler ``AsyncIOScheduler`` with ``add_poll_job``, and a ``RecordingPublisher`` instead of
Kafka (publishing is not measured). Logging is at WARNING (the daemon logs each poll at INFO).

Measured: CPU share of one core (process CPU time / wall time) over two intervals after every
source had its first poll, and peak RSS (``ru_maxrss``, whole process). Baseline in the same run:
the same process idle (after set-up, before polling) for the same wall time, and its RSS then.
Targets: <= 25 % of a core, <= 200 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bench._common import cpu_seconds, current_rss_mb, header, peak_rss_mb, quiet_logs, verdict
from huabei_watch.clock import SystemClock
from tests.fakes.bus import RecordingPublisher
from tests.support import migrated_database
from watcher.notices import understand
from watcher.sources.announce_config import HtmlSource
from watcher.sources.announcements import AnnouncementWatcher, add_poll_job
from watcher.sources.fetch import Fetcher
from watcher.sources.seen import SqlSeenStore

TARGET_CPU = 0.25
TARGET_RSS_MB = 200.0
SERVERS = 4
CHANGE_SHARE = 0.05


async def start_sites(sources: int, interval: float) -> tuple[asyncio.subprocess.Process, list[int]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench._list_servers", "--sources", str(sources), "--servers", str(SERVERS),
        "--interval", str(interval), "--change-share", str(CHANGE_SHARE), "--max-seconds", "900",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    return proc, list(json.loads(line)["ports"])


async def stop_sites(proc: asyncio.subprocess.Process) -> dict[str, int]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.close()
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    await asyncio.wait_for(proc.wait(), 30)
    return dict(json.loads(line)) if line else {}


async def measure(seconds: float) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of this process over ``seconds`` of whatever the loop runs."""
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    await asyncio.sleep(seconds)  # the scheduler's jobs (or nothing) run meanwhile
    return cpu_seconds() - cpu0, time.perf_counter() - wall0


async def run(sources: int, interval: float, intervals: int, quick: bool) -> None:
    header("bench_polling: announcement sources polled, most 304", quick)
    window = interval * intervals
    proc, ports = await start_sites(sources, interval)
    stats: dict[str, int] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-polling-") as tmp:
            db = await migrated_database(f"sqlite+aiosqlite:///{Path(tmp) / 'seen.db'}")
            clock = SystemClock()
            publisher = RecordingPublisher()
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
                fetcher = Fetcher(session, clock)
                store = SqlSeenStore(db.engine)
                watchers = [
                    AnnouncementWatcher(
                        HtmlSource(
                            id=f"s{i}", list_url=f"http://127.0.0.1:{ports[i % SERVERS]}/list/{i}", item_selector="li",
                            link_selector="a", date_selector="span.date", date_format="%Y-%m-%d",
                            body_selector="div.notice-body", interval=interval, politeness_delay=0.0,
                            first_poll_details=0,
                        ),
                        fetcher, store, publisher, clock, understand,
                    )
                    for i in range(sources)
                ]
                rss_before = current_rss_mb()
                idle_cpu, idle_wall = await measure(window)

                # First poll of every source (lists read, notices recorded): not in the window.
                t0, c0 = time.perf_counter(), cpu_seconds()
                sem = asyncio.Semaphore(64)

                async def first(w: AnnouncementWatcher) -> bool:
                    async with sem:
                        return (await w.poll_once()).ok

                oks = await asyncio.gather(*(first(w) for w in watchers))
                init_wall, init_cpu = time.perf_counter() - t0, cpu_seconds() - c0
                if not all(oks):
                    raise SystemExit(f"{oks.count(False)} sources failed their first poll")

                scheduler = AsyncIOScheduler(timezone="Asia/Shanghai")
                for w in watchers:
                    add_poll_job(scheduler, w)
                events_before = len(publisher.events)
                scheduler.start()
                try:
                    # Ticks at 0, interval, ...: stop just before the tick that would start the next interval.
                    busy_cpu, busy_wall = await measure(window - 0.5)
                finally:
                    scheduler.shutdown(wait=False)
                    # Let polls already started finish (bounded) before the store closes.
                    running = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                    if running:
                        await asyncio.wait(running, timeout=120)
                events = len(publisher.events) - events_before
            await db.close()
    finally:
        stats = await stop_sites(proc)
    peak = peak_rss_mb()
    share, idle_share = busy_cpu / busy_wall, idle_cpu / idle_wall
    print(f"sources: {sources:,} on {SERVERS} loopback servers, interval {interval:g} s, "
          f"{CHANGE_SHARE:.0%} changed per interval; window {window:g} s ({intervals} intervals)")
    print(f"first poll of all sources (not in the window): {init_wall:.1f} s wall, {init_cpu:.1f} s CPU")
    print(f"site requests in total: {stats.get('requests', 0):,}, of which 304: {stats.get('not_modified', 0):,}; "
          f"events published in the window: {events}")
    print(f"baseline idle: CPU {idle_share:.1%} of a core over {idle_wall:.1f} s; RSS before polling {rss_before:.0f} MB")
    print(f"polling: CPU {share:.1%} of a core over {busy_wall:.1f} s ({busy_cpu:.1f} s CPU, "
          f"{busy_cpu / max(1, sources * intervals) * 1000:.2f} ms per poll); peak RSS {peak:.0f} MB "
          f"(+{peak - rss_before:.0f} MB over the baseline)")
    print(f"target CPU <= {TARGET_CPU:.0%}: {verdict(share <= TARGET_CPU)}; "
          f"target peak RSS <= {TARGET_RSS_MB:.0f} MB: {verdict(peak <= TARGET_RSS_MB)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="200 sources at a 10 s interval instead of 2,000 at 30 s")
    ap.add_argument("--sources", type=int, default=None)
    ap.add_argument("--interval", type=float, default=None)
    ap.add_argument("--intervals", type=int, default=2)
    args = ap.parse_args(argv)
    quiet_logs()
    sources = args.sources or (200 if args.quick else 2_000)
    interval = args.interval or (10.0 if args.quick else 30.0)
    asyncio.run(run(sources, interval, args.intervals, args.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
