"""Incidents failover time (issue 14, item 1): a standby takes over a SIGKILLed leader.

Two ``huabei-watch run --role incidents`` processes on one PostgreSQL database (a fresh one on the
server of ``HUABEI_TEST_PG_URL`` or ``--pg-url``, dropped afterwards) and an embedded broker
started here; ``[ha]`` at its defaults unless ``--lease-ttl`` is given. One open incident. Each
round SIGKILLs the active process and measures, from the kill:

* *active*: the standby's ``/readyz`` answers 200 (it holds the lease, rebuilt its incidents from
  the database and joined the consumer group);
* *re-asserted*: the incident is on ``<prefix>.incidents`` with the new leader's fencing token
  (what the cashier hears: its "off" renewed).

Then the killed process is started again and waits as the next standby. Baseline (same run): the
cold start of the first incidents process (spawn to ``/readyz`` 200, lease free), i.e. what a
supervisor restart costs at best. Target: active within 30 s of the kill.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import aiohttp
from aiokafka import AIOKafkaConsumer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench._common import embedded_broker, header, verdict
from huabei_watch.bus.broker import free_port
from huabei_watch.bus.kafka import parse_fence
from huabei_watch.config.settings import LeaseSettings
from huabei_watch.events.auth import FENCE_HEADER
from tests.support import security_toml

TARGET_S = 30.0


def config(workdir: Path, bootstrap: str, db_url: str, prefix: str, lease_ttl: float | None) -> Path:
    ha = "" if lease_ttl is None else f'[ha]\nlease_ttl = "{lease_ttl:g}s"\nrenew_every = "{lease_ttl / 3:g}s"\n'
    cfg = workdir / "config.toml"
    cfg.write_text(f"""
[daemon]
state_dir = "{(workdir / 'state').as_posix()}"
log_format = "json"
[kafka]
bootstrap_servers = "{bootstrap}"
topic_prefix = "{prefix}"
group_prefix = "{prefix}"
idempotence = "off"
[database]
url = "{db_url}"
{ha}{security_toml()}
[sandbox]
enabled = false
""", "utf-8")
    return cfg


async def spawn(cfg: Path, port: int, log: Path, *args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "HUABEI_WATCH_ADMIN__LISTEN": f"127.0.0.1:{port}"}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "huabei_watch.root.cli", "--config", str(cfg), *(args or ("run", "--role", "incidents")),
        stdout=log.open("ab"), stderr=asyncio.subprocess.STDOUT, env=env, cwd=str(cfg.parent),
    )


async def status(http: aiohttp.ClientSession, port: int, path: str) -> tuple[int, dict[str, object]]:
    try:
        async with http.get(f"http://127.0.0.1:{port}{path}") as r:
            return r.status, await r.json()
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return 0, {}


async def until(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> float:
    """Seconds until the async ``check()`` is true, polled every 50 ms."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if await check():
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{what}: not within {timeout:g} s")


async def tokens_on(consumer: AIOKafkaConsumer, seen: set[int]) -> set[int]:
    batch = await consumer.getmany(timeout_ms=50)
    for msgs in batch.values():
        for m in msgs:
            fence = parse_fence(dict(m.headers or ()).get(FENCE_HEADER, b""))
            if fence is not None:
                seen.add(fence[1])
    return seen


async def run(args: argparse.Namespace) -> int:
    header("incidents failover", args.quick)
    base = args.pg_url or os.environ.get("HUABEI_TEST_PG_URL")
    if not base:
        print("needs PostgreSQL: set HUABEI_TEST_PG_URL (e.g. postgresql+asyncpg://huabei:huabei@127.0.0.1:5432/postgres)"
              " or pass --pg-url; skipped")
        return 0
    name = f"hbw_bench_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(base, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    ha = LeaseSettings() if args.lease_ttl is None else LeaseSettings(lease_ttl=args.lease_ttl,
                                                                      renew_every=args.lease_ttl / 3)
    procs: list[asyncio.subprocess.Process] = []
    workdir = Path(tempfile.mkdtemp(prefix="bench-failover-"))
    prefix = f"fo{uuid.uuid4().hex[:8]}"
    try:
        async with embedded_broker() as broker, aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            cfg = config(workdir, broker.bootstrap_servers, base.rsplit("/", 1)[0] + "/" + name, prefix, args.lease_ttl)
            upgrade = await spawn(cfg, free_port(), workdir / "upgrade.log", "db", "upgrade")
            assert await upgrade.wait() == 0, "db upgrade failed"
            ports = [free_port(), free_port()]
            procs = [await spawn(cfg, ports[0], workdir / "p0.log")]
            cold = await until(lambda: _ready(http, ports[0]), 120, "first process active")
            async with http.post(f"http://127.0.0.1:{ports[0]}/v1/incidents", json={"title": "failover bench"}) as r:
                assert r.status == 201, await r.text()
            procs.append(await spawn(cfg, ports[1], workdir / "p1.log"))
            await until(lambda: _standby(http, ports[1]), 120, "second process standing by")
            consumer = AIOKafkaConsumer(f"{prefix}.incidents", bootstrap_servers=broker.bootstrap_servers,
                                        auto_offset_reset="earliest", enable_auto_commit=False)
            await consumer.start()
            seen: set[int] = set()
            active, reasserted = [], []
            leader = 0
            try:
                for rnd in range(args.rounds):
                    standby = 1 - leader
                    await tokens_on(consumer, seen)
                    before = max(seen, default=0)
                    procs[leader].send_signal(signal.SIGKILL)
                    await procs[leader].wait()
                    killed = time.monotonic()
                    await until(partial(_ready, http, ports[standby]), 120, "standby active")
                    active.append(time.monotonic() - killed)

                    async def newer(b: int = before) -> bool:
                        return max(await tokens_on(consumer, seen), default=0) > b

                    await until(newer, 120, "incident re-asserted by the new leader")
                    reasserted.append(time.monotonic() - killed)
                    print(f"   round {rnd + 1}: active after {active[-1]:.1f} s, incident re-asserted after "
                          f"{reasserted[-1]:.1f} s", flush=True)
                    procs[leader] = await spawn(cfg, ports[leader], workdir / f"p{leader}.log")
                    await until(partial(_standby, http, ports[leader]), 120, "restarted process standing by")
                    leader = standby
            finally:
                await consumer.stop()
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 30)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"-- lease_ttl {ha.lease_ttl:g} s, renew_every {ha.renew_every:g} s, standby_poll {ha.standby_poll:g} s "
          f"(takeover bound {ha.takeover_within:g} s); {args.rounds} rounds")
    print(f"   active after the kill: median {statistics.median(active):.1f} s, max {max(active):.1f} s")
    print(f"   incident re-asserted: median {statistics.median(reasserted):.1f} s, max {max(reasserted):.1f} s")
    print(f"   baseline: cold start of one incidents process (lease free) {cold:.1f} s; "
          f"median failover / cold start = {statistics.median(active) / cold:.2f}")
    print(f"target: active within {TARGET_S:g} s of the kill: {verdict(max(active) <= TARGET_S)}")
    return 0


async def _ready(http: aiohttp.ClientSession, port: int) -> bool:
    return (await status(http, port, "/readyz"))[0] == 200


async def _standby(http: aiohttp.ClientSession, port: int) -> bool:
    code, body = await status(http, port, "/healthz")
    return code == 200 and body.get("status") == "standby"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 round instead of 3")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--lease-ttl", type=float, default=None, help="ha.lease_ttl in s (default: the product default)")
    ap.add_argument("--pg-url", help="PostgreSQL server (default: HUABEI_TEST_PG_URL)")
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds = 1
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
