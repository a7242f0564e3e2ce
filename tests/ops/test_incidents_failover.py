"""Incidents high availability with real processes on PostgreSQL (issue 14, item 1).

Two ``run --role incidents`` processes share the session's broker and a fresh PostgreSQL database:
one is active, the other a standby. The active one is SIGKILLed: the standby takes the lease,
rebuilds the open incident from the database and goes on. A third process waits as standby; the
second is then paused (SIGSTOP) past its lease, the third takes over, and when the second wakes up
with an overdue re-assertion it publishes nothing (its fence is refused) and exits with code 3.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer

from huabei_watch.bus.broker import EmbeddedBroker, free_port
from huabei_watch.bus.kafka import parse_fence
from huabei_watch.events.auth import FENCE_HEADER
from tests.ops.test_multiprocess import start, upgrade_database
from tests.support import eventually, fresh_pg_database, readyz, write_daemon_config

PG = os.environ.get("HUABEI_TEST_PG_URL")
pytestmark = [pytest.mark.postgres, pytest.mark.slow]
LEASE_TTL = 3.0
REPUBLISH_EVERY = 10.0


def write_config(tmp_path: Path, broker: EmbeddedBroker, db_url: str, prefix: str) -> Path:
    return write_daemon_config(
        tmp_path / "config.toml", state_dir=tmp_path / "state", bootstrap=broker.bootstrap_servers, prefix=prefix,
        db_url=db_url, partitions=2, shutdown_timeout="10s",
        body=f"""
[ha]
lease_ttl = "{LEASE_TTL:g}s"
renew_every = "1s"
standby_poll = "500ms"
[incidents]
republish_every = "{REPUBLISH_EVERY:g}s"
""",
    )


async def get_json(port: int, path: str) -> tuple[int, dict[str, Any]]:  # a JSON body
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}{path}") as r:
        return r.status, await r.json()


async def standby(port: int) -> bool:
    try:
        status, body = await get_json(port, "/healthz")
    except aiohttp.ClientError:
        return False
    return status == 200 and body.get("status") == "standby"


async def incident_records(bootstrap: str, topic: str) -> list[tuple[int, float, str]]:
    """(fencing token, record timestamp in s, incident phase header or id) of every record on ``topic``."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    out: list[tuple[int, float, str]] = []
    try:
        empty = 0
        while empty < 3:
            batch = await consumer.getmany(timeout_ms=300)
            empty = 0 if batch else empty + 1
            for msgs in batch.values():
                for m in msgs:
                    hdrs = dict(m.headers or ())
                    fence = parse_fence(hdrs.get(FENCE_HEADER, b"")) or ("", 0)
                    out.append((fence[1], m.timestamp / 1000, hdrs.get("ce_type", b"").decode()))
    finally:
        await consumer.stop()
    return out


@pytest.mark.skipif(PG is None, reason="needs PostgreSQL: set HUABEI_TEST_PG_URL (.ci/run does)")
async def test_a_standby_takes_over_a_killed_leader_and_a_paused_former_leader_cannot_publish(
    broker: EmbeddedBroker, tmp_path: Path, topic_prefix: str
) -> None:
    assert PG is not None
    db_url = await fresh_pg_database(PG)
    cfg = write_config(tmp_path, broker, db_url, topic_prefix)
    topic = f"{topic_prefix}.incidents"
    procs: list[asyncio.subprocess.Process] = []
    try:
        assert await upgrade_database(cfg) == 0
        ports = [free_port() for _ in range(3)]
        a = await start(cfg, "incidents", ports[0], tmp_path / "a.log")
        procs.append(a)
        await eventually(lambda: readyz(ports[0]), timeout=90, what="first process active")
        b = await start(cfg, "incidents", ports[1], tmp_path / "b.log")
        procs.append(b)
        await eventually(lambda: standby(ports[1]), timeout=90, what="second process standing by")
        async with aiohttp.ClientSession() as s, s.post(
            f"http://127.0.0.1:{ports[0]}/v1/incidents", json={"title": "HA drill", "summary_zh": "演练"}
        ) as r:
            assert r.status == 201, await r.text()
            incident_id = (await r.json())["incident_id"]

        a.send_signal(signal.SIGKILL)
        await a.wait()
        killed_at = time.monotonic()
        await eventually(lambda: readyz(ports[1]), timeout=60, what="standby active after the leader was killed")
        print(f"failover: {time.monotonic() - killed_at:.1f} s (lease_ttl {LEASE_TTL:g} s)")
        _, listed = await get_json(ports[1], "/v1/incidents")
        assert [i["incident_id"] for i in listed["incidents"]] == [incident_id]

        c = await start(cfg, "incidents", ports[2], tmp_path / "c.log")
        procs.append(c)
        await eventually(lambda: standby(ports[2]), timeout=90, what="third process standing by")
        b.send_signal(signal.SIGSTOP)
        await eventually(lambda: readyz(ports[2]), timeout=60, what="third process active after the second was paused")

        async def reassertion_overdue() -> bool:  # the paused process's re-assertion fell due meanwhile
            mine = [at for token, at, _ in await incident_records(broker.bootstrap_servers, topic) if token == 2]
            return bool(mine) and time.time() > max(mine) + REPUBLISH_EVERY + 1

        await eventually(reassertion_overdue, timeout=60, what="the paused process's re-assertion overdue")
        resumed_at = time.time()
        b.send_signal(signal.SIGCONT)
        assert await asyncio.wait_for(b.wait(), 60) == 3  # lost the lease: stops, to come back as a standby

        records = await incident_records(broker.bootstrap_servers, topic)
        assert [r for r in records if r[0] == 2 and r[1] >= resumed_at] == []
        assert {r[0] for r in records} >= {1, 2, 3}
        async with aiohttp.ClientSession() as s, s.post(
            f"http://127.0.0.1:{ports[2]}/v1/incidents/{incident_id}/resolve", json={"by": "drill"}
        ) as r:
            assert r.status == 200, await r.text()
        await eventually(
            lambda: _resolved_by(broker.bootstrap_servers, topic, 3), timeout=30, what="the new leader publishing"
        )
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGCONT)
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            if proc.returncode is None:
                try:
                    await asyncio.wait_for(proc.wait(), 30)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


async def _resolved_by(bootstrap: str, topic: str, token: int) -> bool:
    return any(t == token and kind == "huabei.incident.resolved" for t, _, kind in await incident_records(bootstrap, topic))
