"""Fan-out: ``python -m bench.bench_fanout [--quick] [--db URL] [--reassert S] [--unbatched] [--processes N]``.

**Capacity** (limits out of the way): the real notify role in an ``App`` -- embedded Kafka broker,
the database at ``--db`` (a fresh SQLite file by default; a PostgreSQL URL gets a fresh database
on that server), N merchants in the merchant registry, each with its own WeCom member userid (the
application channel, ``--wecom wecom_app``, the default; ``--wecom wecom`` gives each its own
group robot instead) and phone number. One platform-wide outage (critical: no quiet hours) is published on the incidents topic;
the clock runs until the role has delivered all 2 x N messages (registry streamed in pages,
planning, reservations, provider calls, confirmations, a result event on Kafka per message).
Printed: messages/s, CPU of this process per message, CPU of the PostgreSQL server per message
(all ``postgres`` processes of the machine), the garbage collector's collections and CPU during
the run, reservations vs messages, statements and SMS calls.
With ``--reassert S`` the incident is published again every S seconds during the fan-out.
``--unbatched`` runs the same role with ``notify.fanout.batching = false`` (one statement and one
provider call per message, concurrency 4 per channel: the product before issue 17) as baseline.

**Share of limits** (realistic limits, scaled in time so the run takes a minute): the same
delivery path (coalescing store, batched SMS, the product's limiter) without Kafka, N merchants
sharing R WeCom robots (merchant i uses robot i % R) at L messages per robot per W seconds, and
the SMS account at S calls per W seconds. The fakes enforce the same counts over 0.8 x W and count
every rejection. Share = shortest span possible under the limit / span achieved.

**Several processes** (``--processes N``): see :mod:`bench._fanout_processes`.

The providers are the loopback test fakes (``tests/fakes``), each in a child process
(``bench._provider_fakes``), counting every message they accept: lost and duplicate messages are
counted there (target 0 and 0).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import SecretStr

from bench._common import cpu_seconds, embedded_broker, header, peak_rss_mb, quiet_logs, verdict
from bench._provider_fakes import (
    ACCESS_KEY_ID,
    ACCESS_KEY_SECRET,
    AGENT_ID,
    CORP_ID,
    CORP_SECRET,
    SIGN_NAME,
    TEMPLATE,
)
from consumers.notify.channels.aliyun_sms import AliyunSmsChannel
from consumers.notify.channels.ratelimit import Rate, RateLimiter
from consumers.notify.channels.sms_batch import BatchingSms
from consumers.notify.channels.wecom import WeComChannel
from consumers.notify.delivery import Deliverer
from consumers.notify.fanout import FanOut
from consumers.notify.plan import Endpoint, Recipient, plan_for
from consumers.notify.ports import Channel
from consumers.notify.store import CoalescingStore, SqlDeliveryStore
from consumers.notify.subsettings import PlanSettings
from huabei_watch.clock import SystemClock
from huabei_watch.config.settings import MerchantConfig
from huabei_watch.events import INCIDENT_OPENED, Event, Incident, IncidentKind, Phase, Scope
from huabei_watch.merchants.registry import MerchantRegistry
from huabei_watch.root.daemon import start_app
from huabei_watch.root.settings import parse_settings
from tests.support import drop_created_pg_databases, eventually, fresh_pg_database, migrated_database

TARGET_RATE = 3000.0
TARGET_SHARE = 0.90
FAKE_MARGIN = 0.8
UNLIMITED = 1_000_000_000


async def start_fake(provider: str, limit: int, window: float, robots: int) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench._provider_fakes", provider, "--limit", str(limit),
        "--window", str(window), "--robots", str(robots), "--max-seconds", "1800",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    return proc, str(json.loads(line)["base_url"])


async def stop_fake(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.close()
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    await asyncio.wait_for(proc.wait(), 30)
    return dict(json.loads(line)) if line else {}


def phone(i: int) -> str:
    return f"139{i:08d}"


def postgres_cpu() -> float:
    """CPU seconds of every ``postgres`` process on this machine (the server's share of the work)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)
            if not fields[0].endswith("(postgres"):
                continue
            rest = fields[1].split()
            total += (int(rest[11]) + int(rest[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return total


class GcTime:
    """Collections of Python's cyclic garbage collector and their CPU seconds while counting."""

    def __init__(self) -> None:
        self.collections = 0
        self.seconds = 0.0
        self._began = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.process_time()
        else:
            self.collections += 1
            self.seconds += time.process_time() - self._began

    def __enter__(self) -> GcTime:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)


async def fresh_database(url: str | None, tmp: Path) -> str:
    if url is None:
        return f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    if not url.startswith("postgresql"):
        return url
    return await fresh_pg_database(url)


def outage(now: datetime) -> Incident:
    return Incident(incident_id="outage:bench", kind=IncidentKind.OUTAGE, scope=Scope.platform(), phase=Phase.ACTIVE,
                    channels=("pcredit",), title="花呗异常", opened_at=now, updated_at=now, revision=1)


async def prepare(args: argparse.Namespace, n: int, tmp: Path) -> str:
    """A fresh, migrated database (see ``--db``) with ``n`` merchants, each with a WeCom contact of
    kind ``--wecom`` and a phone number; returns its URL."""
    url = await fresh_database(args.db, tmp)
    db = await migrated_database(url)
    for start in range(0, n, 5000):
        await MerchantRegistry(db).upsert_many(
            [MerchantConfig.model_validate({"id": f"m{i:06d}", "channels": [args.wecom, "sms"],
                                            "contacts": {"wecom_robot_key": f"r{i}", "wecom_userid": f"u{i}",
                                                         "phone": phone(i)}})
             for i in range(start, min(n, start + 5000))], origin="import")
    await db.close()
    return url


async def capacity(args: argparse.Namespace, n: int, tmp: Path, *, batching: bool) -> dict[str, Any]:
    """The whole role, limits out of the way. Returns the figures."""
    url = await prepare(args, n, tmp)
    wecom = args.wecom
    wecom_proc, wecom_url = await start_fake(wecom, UNLIMITED, 60.0, n)
    sms_proc, sms_url = await start_fake("aliyun_sms", UNLIMITED, 60.0, 1)
    fakes: dict[str, dict[str, Any]] = {}
    try:
        async with embedded_broker() as broker:
            prefix = f"bf{uuid.uuid4().hex[:6]}"
            settings = parse_settings({
                "daemon": {"state_dir": str(tmp / "state"), "log_level": "warning"},
                "admin": {"listen": "127.0.0.1:0"},
                "kafka": {"topic_prefix": prefix, "group_prefix": prefix, "partitions": 2},
                "database": {"url": url, "pool_size": 10},
                "sandbox": {"enabled": False},
                "notify": {
                    wecom: {"base_url": wecom_url, "rate_per_minute": UNLIMITED}
                    | ({"corp_id": CORP_ID, "corp_secret": CORP_SECRET, "agent_id": AGENT_ID} if wecom == "wecom_app"
                       else {}),
                    "aliyun_sms": {"base_url": sms_url, "access_key_id": ACCESS_KEY_ID,
                                   "access_key_secret": ACCESS_KEY_SECRET, "sign_name": SIGN_NAME,
                                   "default_template_code": TEMPLATE, "rate_per_minute": UNLIMITED},
                    "fanout": {"batching": batching} | ({} if batching else {"default_concurrency": 4}),
                },
            })
            app = await start_app(settings, ["notify"], bootstrap=broker.bootstrap_servers)
            try:
                role: Any = next(r for r in app.roles if r.name == "notify")
                bus = app.bus
                joined = [check for name, check in app.ready_checks.items() if name.startswith("consumer:")]

                async def group_joined() -> bool:  # as in a running daemon: the clock measures the fan-out
                    return all([await check() for check in joined])

                await eventually(group_joined, timeout=120, what="the notify consumer group joined")
                now = datetime.now(UTC)
                event = Event.build(INCIDENT_OPENED, outage(now), time=now)
                with GcTime() as collector:
                    pg0, cpu0, t0 = postgres_cpu(), cpu_seconds(), time.perf_counter()
                    await bus.publish(event)
                    reasserted = 0
                    next_reassert = t0 + (args.reassert or math.inf)
                    deadline = t0 + args.max_seconds
                    while time.perf_counter() < deadline:
                        await asyncio.sleep(0.05)
                        if time.perf_counter() >= next_reassert:
                            await bus.publish(Event.build(INCIDENT_OPENED, outage(now), time=now))
                            reasserted += 1
                            next_reassert += args.reassert
                        f = role.fanout
                        if f.sent + f.failed + f.duplicates >= 2 * n and not f.in_progress and not f.lanes:
                            break
                    elapsed = time.perf_counter() - t0
                    cpu, pg = cpu_seconds() - cpu0, postgres_cpu() - pg0
                counters = dict(role.fanout.counters())
                reservations = role.deliverer.reservations
                store = role.deliverer.store
                statements = store.batches if isinstance(store, CoalescingStore) else 2 * reservations
                sms_calls = getattr(role.deliverer._channels["aliyun_sms"], "calls", None)
            finally:
                await app.stop()
    finally:
        fakes[wecom] = await stop_fake(wecom_proc)
        fakes["aliyun_sms"] = await stop_fake(sms_proc)
    sent = counters["sent"]
    return {"n": n, "elapsed": elapsed, "rate": sent / elapsed, "cpu_ms": 1000 * cpu / max(sent, 1),
            "pg_ms": 1000 * pg / max(sent, 1), "counters": counters, "reservations": reservations,
            "gc": (collector.collections, collector.seconds), "statements": statements, "sms_calls": sms_calls, "reasserted": reasserted, "fakes": fakes,
            "wecom": wecom, "wecom_calls": fakes[wecom].get("requests"),
            "postgres": url.startswith("postgresql")}


def print_capacity(label: str, r: dict[str, Any]) -> int:
    n = r["n"]
    # The fakes' counters are their JSON stats: whole numbers.
    lost: int = sum(n - f.get("distinct_recipients", 0) for f in r["fakes"].values())
    dups: int = sum(f.get("recipient_duplicates", 0) for f in r["fakes"].values())
    db = "PostgreSQL" if r["postgres"] else "SQLite"
    kind = "WeCom application" if r["wecom"] == "wecom_app" else "WeCom robot"
    print(f"{label}: {n:,} merchants x ({kind} + Aliyun SMS) = {2 * n:,} messages on {db} in {r['elapsed']:.1f} s: "
          f"{r['rate']:,.0f} messages/s; CPU {r['cpu_ms']:.2f} ms/message in the notify process"
          + (f", {r['pg_ms']:.2f} ms/message in the PostgreSQL server" if r["postgres"] else ""))
    print(f"  garbage collector: {r['gc'][0]:,} collections, {r['gc'][1]:.2f} s of CPU during the run")
    print(f"  reservations {r['reservations']:,} for {r['counters']['sent']:,} messages sent"
          f" (re-asserted {r['reasserted']} times); store statements for reserve+confirm {r['statements']:,}; "
          f"SMS provider calls {r['sms_calls'] if r['sms_calls'] is not None else r['counters']['sent'] // 2:,}; "
          f"WeCom calls {r['wecom_calls']:,}; "
          f"lost {lost}, duplicates {dups} (counted at the fakes)")
    return lost + dups


async def limited(args: argparse.Namespace, tmp: Path) -> tuple[list[float], int]:
    """Share of scaled realistic limits through the product's delivery path (no Kafka)."""
    n, robots, window = args.limited_merchants, args.robots, args.window
    wecom_proc, wecom_url = await start_fake("wecom", args.robot_limit, window * FAKE_MARGIN, robots)
    sms_proc, sms_url = await start_fake("aliyun_sms", args.sms_limit, window * FAKE_MARGIN, 1)
    results: dict[str, dict[str, Any]] = {}
    try:
        db = await migrated_database(await fresh_database(args.db, tmp))
        clock = SystemClock()
        limiter = RateLimiter(clock, {"wecom": (Rate(args.robot_limit, window),),
                                      "aliyun_sms": (Rate(args.sms_limit, window),)})
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=300)) as session:
            channels: dict[str, Channel] = {
                "wecom": WeComChannel(session, clock, base_url=wecom_url, limiter=limiter),
                "aliyun_sms": BatchingSms(AliyunSmsChannel(
                    session, clock, access_key_id=ACCESS_KEY_ID, access_key_secret=SecretStr(ACCESS_KEY_SECRET),
                    sign_name=SIGN_NAME, default_template_code=TEMPLATE, base_url=sms_url, limiter=limiter), limiter=limiter),
            }
            deliverer = Deliverer(channels, CoalescingStore(SqlDeliveryStore(db.engine)), None, clock)
            fan = FanOut(deliverer)
            now = datetime.now(UTC)
            inc = outage(now)

            async def planned() -> Any:
                settings = PlanSettings()
                for i in range(n):
                    r = Recipient(f"m{i}", (Endpoint("wecom", f"r{i % robots}"), Endpoint("aliyun_sms", phone(i))))
                    for msg in plan_for(inc, None, r, now, settings):
                        yield msg

            fan.submit(inc.incident_id, planned())
            await asyncio.wait_for(fan.run(burst=True), args.max_seconds)
        await db.close()
    finally:
        results["wecom"] = await stop_fake(wecom_proc)
        results["aliyun_sms"] = await stop_fake(sms_proc)
    shares, bad = [], 0
    for name, keys, limit, per_key_msgs in (("wecom", robots, args.robot_limit, n),
                                            ("aliyun_sms", 1, args.sms_limit, math.ceil(n / 100))):
        r = results[name]
        span = (r["last"] - r["first"]) if r.get("first") is not None else 0.0
        best = (math.ceil(per_key_msgs / keys) - 1) // limit * window
        share = best / span if span > 0 else 1.0
        lost = n - (r["distinct"] if name == "wecom" else r["distinct_recipients"])
        dups = r["duplicates"] if name == "wecom" else r["recipient_duplicates"]
        bad += lost + dups
        shares.append(share)
        unit = "messages" if name == "wecom" else "calls (100 numbers each)"
        print(f"limited {name}: {keys} key(s) x {limit}/{window:g} s; {per_key_msgs:,} {unit} over {span:.1f} s "
              f"(shortest possible {best:.1f} s): share {share:.1%}; accepted {r['accepted']:,}, lost {lost}, "
              f"duplicates {dups}, rejected {r['rejected'] or 0}; provider requests {r['requests']:,}")
    return shares, bad


async def run(args: argparse.Namespace) -> None:
    header("bench_fanout: notify fan-out, capacity and share of provider limits", args.quick)
    bad = 0
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        if args.processes:
            from bench._fanout_processes import compare  # it builds on this module's helpers

            bad = await compare(args, Path(tmp))
            print(f"zero lost and duplicate messages at the fakes: {verdict(bad == 0)}")
            return
        if args.unbatched:
            base = await capacity(args, args.baseline_merchants, Path(tmp) / "base", batching=False)
            bad += print_capacity("baseline (batching off, concurrency 4)", base)
        prod = await capacity(args, args.merchants, Path(tmp) / "prod", batching=True)
        bad += print_capacity("product", prod)
        if args.unbatched:
            print(f"ratio product / baseline messages/s: {prod['rate'] / base['rate']:.1f}x")
        print(f"target >= {TARGET_RATE:,.0f} messages/s with one process: {verdict(prod['rate'] >= TARGET_RATE)}; "
              f"reservations <= messages: {verdict(prod['reservations'] <= prod['counters']['sent'])}")
        shares: list[float] = []
        if not args.skip_limited:
            shares, lim_bad = await limited(args, Path(tmp) / "lim")
            bad += lim_bad
            print(f"target share >= {TARGET_SHARE:.0%}: {verdict(min(shares) >= TARGET_SHARE)}")
    print(f"peak RSS {peak_rss_mb():.0f} MB; zero lost and duplicate messages at the fakes: {verdict(bad == 0)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="5,000 merchants instead of 100,000")
    ap.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file); PostgreSQL gets a "
                    "fresh database on that server")
    ap.add_argument("--merchants", type=int, default=None)
    ap.add_argument("--reassert", type=float, default=0.0, help="re-publish the incident every S seconds")
    ap.add_argument("--unbatched", action="store_true", help="also run the baseline with batching off")
    ap.add_argument("--wecom", choices=["wecom_app", "wecom"], default="wecom_app",
                    help="the merchants' WeCom channel in the capacity runs: the application (member userids, "
                    "1,000 a call) or group robots (one robot each, a call per message)")
    ap.add_argument("--baseline-merchants", type=int, default=None, help="merchants in the baseline run")
    ap.add_argument("--skip-limited", action="store_true", help="only the capacity run")
    ap.add_argument("--limited-merchants", type=int, default=None)
    ap.add_argument("--robots", type=int, default=100, help="WeCom robots shared by the merchants (limited run)")
    ap.add_argument("--robot-limit", type=int, default=5, help="messages per robot per window")
    ap.add_argument("--sms-limit", type=int, default=5, help="SMS calls (100 numbers each) per account per window: "
                    "the same 250 numbers/s as the robots allow, so neither channel waits for the other")
    ap.add_argument("--window", type=float, default=2.0, help="rate window in seconds (limited run)")
    ap.add_argument("--max-seconds", type=float, default=1500.0)
    ap.add_argument("--processes", type=int, default=0, help="run N real notify processes (huabei-watch run --role "
                    "notify) on one incident of --merchants merchants, after 1 process of the same size as baseline; "
                    "only this comparison runs")
    ap.add_argument("--shards", type=int, default=0, help="notify.fanout.shards with --processes N > 1 (default 8 x N)")
    ap.add_argument("--shards-per-process", type=int, default=2, help="notify.fanout.shards_per_process")
    args = ap.parse_args(argv)
    args.merchants = args.merchants or (5_000 if args.quick else 100_000)
    args.baseline_merchants = args.baseline_merchants or min(args.merchants, 5_000 if args.quick else 20_000)
    args.limited_merchants = args.limited_merchants or (2_000 if args.quick else 10_000)
    quiet_logs()
    try:
        asyncio.run(run(args))
    finally:
        for problem in asyncio.run(drop_created_pg_databases()):  # the fresh PostgreSQL databases of this run
            print(f"could not drop {problem}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
