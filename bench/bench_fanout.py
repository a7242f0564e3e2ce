"""Fan-out to rate-limited providers: ``python -m bench.bench_fanout``.

One platform-wide outage (critical, so no quiet hours) for N merchants, each with a WeCom robot
and a phone number: 2 x N messages. This process runs the notify delivery path as the notify role
does: merchants streamed from a generator (never materialised) through ``plan_for`` into one
:class:`FanOut` lane, a :class:`Deliverer` with a :class:`SqlDeliveryStore` on SQLite (reserve
before, confirm after each send), the real :class:`WeComChannel` and :class:`AliyunSmsChannel`
(signed requests) sharing one :class:`RateLimiter`. Not included: Kafka (no result events
published) and the merchant registry query.

The providers are the loopback test fakes, each in a child process (``bench._provider_fakes``):
WeCom with R robots (merchant i uses robot i % R) at L messages per robot per W seconds, Aliyun
SMS at S per account per W seconds. The limits are the real shape scaled in time (WeCom: 20 a
minute per robot) so the run ends in minutes. The client limiter enforces exactly L (S) per W;
the fakes enforce the same count over 0.8 x W, a margin for loopback jitter, and count every
rejection.

Printed per channel: the achieved rate (accepted at the fake over first-to-last accept), the
allowed rate (keys x limit / window) and the share, computed exactly as the shortest possible
span under the limit over the span achieved (target >= 90 %); duplicates and losses counted at
the fakes (target 0); peak RSS of this process (target <= 400 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import SecretStr

from bench._common import current_rss_mb, header, peak_rss_mb, quiet_logs, verdict
from bench._provider_fakes import ACCESS_KEY_ID, ACCESS_KEY_SECRET, SIGN_NAME, TEMPLATE
from consumers.notify.channels.aliyun_sms import AliyunSmsChannel
from consumers.notify.channels.ratelimit import Rate, RateLimiter
from consumers.notify.channels.wecom import WeComChannel
from consumers.notify.delivery import Deliverer
from consumers.notify.fanout import FanOut, FanOutSettings
from consumers.notify.plan import Endpoint, PlannedMessage, PlanSettings, Recipient, plan_for
from consumers.notify.store import SqlDeliveryStore
from huabei_watch.clock import SystemClock
from huabei_watch.events import Incident, IncidentKind, Phase, Scope
from tests.support import migrated_database

TARGET_SHARE = 0.90
TARGET_RSS_MB = 400.0
FAKE_MARGIN = 0.8


async def start_fake(provider: str, limit: int, window: float, robots: int) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench._provider_fakes", provider, "--limit", str(limit),
        "--window", str(window * FAKE_MARGIN), "--robots", str(robots), "--max-seconds", "1800",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    return proc, str(json.loads(line)["base_url"])


async def stop_fake(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.close()
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    await asyncio.wait_for(proc.wait(), 30)
    return dict(json.loads(line)) if line else {}


def phone(i: int) -> str:
    return f"139{i:08d}"


async def merchants(incident: Incident, n: int, robots: int, now: datetime) -> AsyncIterator[PlannedMessage]:
    """One merchant at a time, as the registry streams them; their planned messages."""
    settings = PlanSettings()
    for i in range(n):
        r = Recipient(f"m{i}", (Endpoint("wecom", f"r{i % robots}"), Endpoint("aliyun_sms", phone(i))))
        for msg in plan_for(incident, None, r, now, settings):
            yield msg


def ideal_span(messages: int, keys: int, limit: int, window: float) -> float:
    """Shortest first-to-last span for ``messages`` spread evenly over ``keys`` at ``limit`` per
    ``window`` each (sliding window: ``limit`` at once, the next ``limit`` a window later)."""
    per_key = math.ceil(messages / keys)
    return (per_key - 1) // limit * window


async def deliver_all(
    args: argparse.Namespace, n: int, robot_limit: int, sms_limit: int, tmp: Path
) -> tuple[dict[str, dict[str, Any]], dict[str, int], float, float]:
    """One fan-out of ``n`` merchants to a fresh pair of fakes and a fresh SQLite store.
    Returns (fake stats per channel, fan-out counters, wall seconds, RSS before in MB)."""
    robots, window = args.robots, args.window
    wecom_proc, wecom_url = await start_fake("wecom", robot_limit, window, robots)
    sms_proc, sms_url = await start_fake("aliyun_sms", sms_limit, window, 1)
    results: dict[str, dict[str, Any]] = {}
    try:
        db = await migrated_database(f"sqlite+aiosqlite:///{tmp / 'notify.db'}")
        clock = SystemClock()
        limiter = RateLimiter(clock, {"wecom": (Rate(robot_limit, window),), "aliyun_sms": (Rate(sms_limit, window),)})
        connector = aiohttp.TCPConnector(limit=2 * args.concurrency + 10)
        async with aiohttp.ClientSession(connector=connector) as session:
            channels = {
                "wecom": WeComChannel(session, clock, base_url=wecom_url, limiter=limiter),
                "aliyun_sms": AliyunSmsChannel(
                    session, clock, access_key_id=ACCESS_KEY_ID, access_key_secret=SecretStr(ACCESS_KEY_SECRET),
                    sign_name=SIGN_NAME, default_template_code=TEMPLATE, base_url=sms_url, limiter=limiter,
                ),
            }
            deliverer = Deliverer(channels, SqlDeliveryStore(db.engine), None, clock)
            fan = FanOut(deliverer, FanOutSettings(default_concurrency=args.concurrency))
            now = datetime.now(UTC)
            incident = Incident(
                incident_id="outage:bench", kind=IncidentKind.OUTAGE, scope=Scope.platform(), phase=Phase.ACTIVE,
                opened_at=now, updated_at=now, revision=1,
            )
            rss_before = current_rss_mb()
            fan.submit(incident.incident_id, merchants(incident, n, robots, now))
            started = time.perf_counter()
            await asyncio.wait_for(fan.run(burst=True), args.max_seconds)
            elapsed = time.perf_counter() - started
            counters = dict(fan.counters())
        await db.close()
    finally:
        results["wecom"] = await stop_fake(wecom_proc)
        results["aliyun_sms"] = await stop_fake(sms_proc)
    return results, counters, elapsed, rss_before


async def run(args: argparse.Namespace) -> None:
    header("bench_fanout: notify fan-out to rate-limited provider fakes", args.quick)
    n, robots, window = args.merchants, args.robots, args.window
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        (Path(tmp) / "capacity").mkdir()
        (Path(tmp) / "limited").mkdir()
        # Baseline: the same path with limits far above what it can do: its own capacity.
        cap, _, cap_wall, _ = await deliver_all(args, args.capacity_merchants, 1_000_000, 1_000_000, Path(tmp) / "capacity")
        results, counters, elapsed, rss_before = await deliver_all(
            args, n, args.robot_limit, args.sms_limit, Path(tmp) / "limited"
        )
    peak = peak_rss_mb()
    cap_rate = sum(r["accepted"] for r in cap.values()) / cap_wall
    print(f"merchants: {n:,} (streamed) x (WeCom + Aliyun SMS) = {2 * n:,} messages; fan-out concurrency "
          f"{args.concurrency} per channel; SQLite delivery store")
    print(f"baseline capacity without limits ({args.capacity_merchants:,} merchants): {cap_rate:,.0f} messages/s "
          f"(both channels)")
    print(f"fan-out counters: {counters}; wall {elapsed:.1f} s")
    shares = []
    lost_total = dup_total = 0
    for name, keys, limit in (("wecom", robots, args.robot_limit), ("aliyun_sms", 1, args.sms_limit)):
        r = results[name]
        span = (r["last"] - r["first"]) if r.get("first") is not None else 0.0
        allowed = keys * limit / window
        achieved = (r["accepted"] - 1) / span if span > 0 else 0.0
        best = ideal_span(n, keys, limit, window)
        share = best / span if span > 0 else 0.0
        lost = n - r["distinct"]
        lost_total += lost
        dup_total += r["duplicates"]
        shares.append(share)
        print(f"{name}: {keys} key(s) x {limit}/{window:g} s = allowed {allowed:,.1f}/s; achieved {achieved:,.1f}/s "
              f"over {span:.1f} s (shortest possible {best:.1f} s): share {share:.1%}; accepted {r['accepted']:,}, "
              f"duplicates {r['duplicates']}, lost {lost}, rejected {r['rejected'] or 0}")
    print(f"peak RSS {peak:.0f} MB (before the fan-out {rss_before:.0f} MB)")
    print(f"target share >= {TARGET_SHARE:.0%}: {verdict(min(shares) >= TARGET_SHARE)}; "
          f"target peak RSS <= {TARGET_RSS_MB:.0f} MB: {verdict(peak <= TARGET_RSS_MB)}; "
          f"zero duplicates and losses: {verdict(lost_total == 0 and dup_total == 0)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="5,000 merchants instead of 100,000")
    ap.add_argument("--merchants", type=int, default=None)
    ap.add_argument("--robots", type=int, default=100, help="WeCom robots shared by the merchants")
    ap.add_argument("--robot-limit", type=int, default=2, help="messages per robot per window")
    ap.add_argument("--sms-limit", type=int, default=200, help="SendSms per account per window")
    ap.add_argument("--window", type=float, default=2.0, help="rate window in seconds")
    ap.add_argument("--concurrency", type=int, default=4, help="deliveries at once per channel (notify default 4)")
    ap.add_argument("--capacity-merchants", type=int, default=1_000, help="merchants in the unlimited baseline pass")
    ap.add_argument("--max-seconds", type=float, default=1500.0)
    args = ap.parse_args(argv)
    args.merchants = args.merchants or (5_000 if args.quick else 100_000)
    quiet_logs()
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
