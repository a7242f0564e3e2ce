"""``bench_fanout --processes N``: N real notify processes share one platform-wide incident.

Each process is ``huabei-watch run --role notify`` (log level warning) on one embedded broker and
one database (``--db``: PostgreSQL is what several processes share), with the provider fakes
(WeCom application + Aliyun SMS, limits out of the way, ``shared_limits`` off) in child processes.
With N > 1 the incident's phase is split into ``--shards`` key ranges (default 8 x N) that the
processes take under leases; N = 1 is the product's default (``shards = 1``: the consuming process
tells everyone), run first in the same session as the baseline. The clock runs from the publish
of the incident to the last message accepted by a fake (both read ``time.monotonic``, one clock
for every process of the machine); lost and duplicate recipients are counted at the fakes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import time
import uuid
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench._common import embedded_broker
from bench._provider_fakes import (
    ACCESS_KEY_ID,
    ACCESS_KEY_SECRET,
    AGENT_ID,
    CORP_ID,
    CORP_SECRET,
    SIGN_NAME,
    TEMPLATE,
)
from bench.bench_fanout import UNLIMITED, outage, postgres_cpu, prepare, start_fake, stop_fake
from huabei_watch.bus.broker import free_port
from huabei_watch.bus.kafka import Bus
from huabei_watch.config.settings import KafkaSettings
from huabei_watch.events import INCIDENT_OPENED, Event, Topics
from tests.support import eventually, fixed_keyring, readyz, start_role, write_daemon_config

TARGET_SECONDS = 60.0


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def _config(args: argparse.Namespace, tmp: Path, i: int, *, url: str, bootstrap: str, prefix: str, partitions: int,
            port: int, shards: int, wecom_url: str, sms_url: str) -> Path:
    wecom = args.wecom
    creds = (f'corp_id = "{CORP_ID}"\ncorp_secret = "{CORP_SECRET}"\nagent_id = "{AGENT_ID}"\n'
             if wecom == "wecom_app" else "")
    return write_daemon_config(
        tmp / f"notify-{i}.toml", state_dir=tmp / f"state-{i}", bootstrap=bootstrap, prefix=prefix, db_url=url,
        partitions=partitions, listen=f"127.0.0.1:{port}", log_level="warning", pool_size=10,
        body=f"""
[notify]
shared_limits = "off"
[notify.{wecom}]
base_url = "{wecom_url}"
rate_per_minute = {UNLIMITED}
{creds}
[notify.aliyun_sms]
base_url = "{sms_url}"
access_key_id = "{ACCESS_KEY_ID}"
access_key_secret = "{ACCESS_KEY_SECRET}"
sign_name = "{SIGN_NAME}"
default_template_code = "{TEMPLATE}"
rate_per_minute = {UNLIMITED}
[notify.fanout]
shards = {shards}
shards_per_process = {args.shards_per_process}
""",
    )


async def processes_run(args: argparse.Namespace, procs: int, n: int, tmp: Path) -> dict[str, Any]:
    """One incident for ``n`` merchants told by ``procs`` notify processes. Returns the figures."""
    await asyncio.to_thread(tmp.mkdir, parents=True, exist_ok=True)
    url = await prepare(args, n, tmp)
    shards = 1 if procs == 1 else (args.shards or 8 * procs)
    wecom_proc, wecom_url = await start_fake(args.wecom, UNLIMITED, 60.0, n)
    sms_proc, sms_url = await start_fake("aliyun_sms", UNLIMITED, 60.0, 1)
    children: list[asyncio.subprocess.Process] = []
    fakes: dict[str, dict[str, Any]] = {}
    engine = create_async_engine(url)
    try:
        async with embedded_broker() as broker:
            prefix, partitions = f"bp{uuid.uuid4().hex[:6]}", max(2, procs)
            settings = KafkaSettings(topic_prefix=prefix, group_prefix=prefix, partitions=partitions)
            bus = Bus(settings, broker.bootstrap_servers, Topics(prefix), signer=fixed_keyring().signer)
            await bus.start()
            try:
                await bus.ensure_topics()
                for i in range(procs):
                    port = free_port()
                    config = _config(args, tmp, i, url=url, bootstrap=broker.bootstrap_servers, prefix=prefix,
                                     partitions=partitions, port=port, shards=shards, wecom_url=wecom_url,
                                     sms_url=sms_url)
                    children.append(await start_role(config, "notify", log=tmp / f"notify-{i}.log"))
                    await eventually(partial(readyz, port), timeout=120, what=f"notify process {i} ready")

                async def told() -> int:
                    async with engine.connect() as conn:
                        return int((await conn.execute(text(
                            "SELECT count(*) FROM notification_deliveries WHERE state IN ('sent', 'failed', 'dead')"
                        ))).scalar_one())

                cpu0 = [process_cpu(p.pid) for p in children]
                now = datetime.now(UTC)
                pg0, t0 = postgres_cpu(), time.monotonic()
                await bus.publish(Event.build(INCIDENT_OPENED, outage(now), time=now))
                deadline = t0 + args.max_seconds
                while await told() < 2 * n:  # a count twice a second: the poll must not load the server
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"not every message told within {args.max_seconds:g} s")
                    await asyncio.sleep(0.5)
                cpu = sum(process_cpu(p.pid) - c for p, c in zip(children, cpu0, strict=True))
                pg = postgres_cpu() - pg0
            finally:
                await bus.stop()
                for p in children:
                    if p.returncode is None:
                        p.send_signal(signal.SIGTERM)
                for p in children:
                    await asyncio.wait_for(p.wait(), 60)
    finally:
        await engine.dispose()
        fakes[args.wecom] = await stop_fake(wecom_proc)
        fakes["aliyun_sms"] = await stop_fake(sms_proc)
    last = max(f["last"] for f in fakes.values() if f.get("last") is not None)
    elapsed = last - t0
    accepted = sum(f.get("accepted", 0) for f in fakes.values())
    return {"n": n, "procs": procs, "shards": shards, "elapsed": elapsed, "rate": accepted / elapsed,
            "cpu_ms": 1000 * cpu / max(accepted, 1), "pg_ms": 1000 * pg / max(accepted, 1), "fakes": fakes,
            "lost": sum(n - f.get("distinct_recipients", 0) for f in fakes.values()),
            "duplicates": sum(f.get("recipient_duplicates", 0) for f in fakes.values()),
            "postgres": url.startswith("postgresql")}


def print_processes(r: dict[str, Any], wecom: str) -> int:
    kind = "WeCom application" if wecom == "wecom_app" else "WeCom robot"
    db = "PostgreSQL" if r["postgres"] else "SQLite"
    print(f"{r['procs']} notify process(es), shards {r['shards']}: {r['n']:,} merchants x ({kind} + Aliyun SMS) = "
          f"{2 * r['n']:,} messages on {db}, publish to last message at the fakes {r['elapsed']:.1f} s: "
          f"{r['rate']:,.0f} messages/s; CPU {r['cpu_ms']:.2f} ms/message in the notify processes"
          + (f", {r['pg_ms']:.2f} ms/message in PostgreSQL" if r["postgres"] else "")
          + f"; lost {r['lost']}, duplicates {r['duplicates']} (counted at the fakes)")
    return int(r["lost"] + r["duplicates"])


async def compare(args: argparse.Namespace, tmp: Path) -> int:
    """The 1-process baseline, then ``--processes`` processes, same size, same session."""
    bad = 0
    base = await processes_run(args, 1, args.merchants, tmp / "p1")
    bad += print_processes(base, args.wecom)
    if args.processes > 1:
        many = await processes_run(args, args.processes, args.merchants, tmp / f"p{args.processes}")
        bad += print_processes(many, args.wecom)
        print(f"ratio {args.processes} processes / 1 process messages/s: {many['rate'] / base['rate']:.2f}x")
        print(f"target all sent within {TARGET_SECONDS:.0f} s with {args.processes} processes: "
              f"{'PASS' if many['elapsed'] <= TARGET_SECONDS else 'MISS'} ({many['elapsed']:.1f} s)")
    return bad
