"""Issue 14 item 6, as deployed: two notify processes (``huabei-watch run --role notify``) on one
PostgreSQL database, sharing the incidents topic's partitions, send to one WeCom robot. The fake robot
counts in real minutes, like WeCom: it must never see more than 20 messages in any 60 s.

Takes a little over a minute: 30 messages at 20 a minute.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiokafka.partitioner import DefaultPartitioner

from huabei_watch.bus.broker import EmbeddedBroker, free_port
from huabei_watch.bus.kafka import Bus
from huabei_watch.clock import SystemClock
from huabei_watch.events import HUABEI_CHANNELS, INCIDENT_OPENED, Event, Incident, IncidentKind, Phase, Scope
from tests.fakes.wecom import FakeWeCom
from tests.support import eventually, fresh_pg_database, migrated_database, start_role, write_daemon_config

PG = os.environ.get("HUABEI_TEST_PG_URL")
MERCHANTS = 30
PARTITIONS = 3  # the bus fixture's topics
ROBOT = "shared-robot"


def _config(tmp_path: Path, n: int, *, port: int, prefix: str, bootstrap: str, wecom: str, db_url: str) -> Path:
    merchants = "".join(
        f'\n[[merchants]]\nid = "m{i}"\nmode = "auto"\ntoken = "tok-{i}"\nchannels = ["wecom"]\n'
        f'contacts = {{ wecom_robot_key = "{ROBOT}" }}\n'
        for i in range(MERCHANTS)
    )
    return write_daemon_config(
        tmp_path / f"notify-{n}.toml", state_dir=tmp_path / f"state-{n}", bootstrap=bootstrap, prefix=prefix,
        db_url=db_url, partitions=PARTITIONS, listen=f"127.0.0.1:{port}",
        body=f"""
[notify]
shared_limits = "on"
[notify.wecom]
base_url = "{wecom}"
rate_per_minute = 20
[notify.plan]
quiet_hours = "00:00-00:00"
{merchants}
""",
    )


async def _start(config: Path, log: Path) -> asyncio.subprocess.Process:
    return await start_role(config, "notify", log=log)


async def _get(port: int, path: str) -> tuple[int, str]:
    try:
        async with aiohttp.ClientSession() as s, s.get(
            f"http://127.0.0.1:{port}{path}", timeout=aiohttp.ClientTimeout(total=3)
        ) as r:
            return r.status, await r.text()
    except (aiohttp.ClientError, TimeoutError):
        return 0, ""


def _assigned(log: Path) -> int | None:
    """Partitions of the notify group this process holds, by its latest ``consumer.assigned`` log line."""
    latest = None
    for line in log.read_text("utf-8", errors="replace").splitlines():
        if '"consumer.assigned"' in line:
            record = json.loads(line)
            if "notify" in str(record.get("group", "")):
                latest = int(record["partitions"])
    return latest


_SENT = re.compile(r'^huabei_notify_messages_total\{outcome="sent"\} (\S+)$', re.M)


async def _sent(port: int) -> float:
    _, text = await _get(port, "/metrics")
    found = _SENT.search(text)
    return float(found.group(1)) if found else 0.0


def _outage(i: int, at: datetime) -> Event[Incident]:
    inc = Incident(
        incident_id=f"outage:m{i}", kind=IncidentKind.OUTAGE, scope=Scope.merchants(f"m{i}"), channels=HUABEI_CHANNELS,
        phase=Phase.ACTIVE, starts_at=at, disable_from=at, opened_at=at, updated_at=at, revision=1,
    )
    return Event.build(INCIDENT_OPENED, inc, time=at)


@pytest.fixture
async def processes() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    procs: list[asyncio.subprocess.Process] = []
    yield procs
    for p in procs:
        if p.returncode is None:
            p.terminate()
            try:
                await asyncio.wait_for(p.wait(), 15)
            except TimeoutError:
                p.kill()
                await p.wait()


@pytest.mark.slow
@pytest.mark.skipif(PG is None, reason="needs PostgreSQL: set HUABEI_TEST_PG_URL (.ci/run does)")
async def test_two_notify_processes_send_one_wecom_robot_at_most_20_messages_a_minute(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path, processes: list[asyncio.subprocess.Process]
) -> None:
    assert PG is not None
    db_url = await fresh_pg_database(PG)
    await (await migrated_database(db_url)).close()  # both processes start on the migrated schema
    partitioner = DefaultPartitioner()
    spread = {partitioner(f"outage:m{i}".encode(), list(range(PARTITIONS)), list(range(PARTITIONS)))
              for i in range(MERCHANTS)}
    assert spread == set(range(PARTITIONS))  # each process gets incidents, whatever partitions it holds

    async with FakeWeCom(SystemClock(), keys={ROBOT}, per_minute=20) as wecom:  # 45009 past 20 in any 60 s
        ports = [free_port(), free_port()]
        logs = [tmp_path / f"notify-{n}.log" for n in range(2)]
        for n in range(2):
            config = _config(tmp_path, n, port=ports[n], prefix=bus.topics.prefix, bootstrap=broker.bootstrap_servers,
                             wecom=wecom.base_url, db_url=db_url)
            processes.append(await _start(config, logs[n]))

        async def ready() -> bool:
            return all([(await _get(p, "/readyz"))[0] == 200 for p in ports])

        def both_assigned() -> bool:
            held = [_assigned(log) for log in logs]
            return all(h for h in held) and sum(h or 0 for h in held) == PARTITIONS

        await eventually(ready, timeout=90, what="both notify processes ready")
        await eventually(both_assigned, timeout=90, what="the incidents partitions shared by both processes")

        at = datetime.now(UTC).replace(microsecond=0)
        for i in range(MERCHANTS):
            await bus.publish(_outage(i, at))
        await eventually(lambda: len(wecom.received) == MERCHANTS, timeout=150, what="every merchant's message")

        assert wecom.rejected == [] and not wecom.duplicates()
        stamps = sorted(r.at for r in wecom.received)
        assert len(stamps) == MERCHANTS
        for i, start in enumerate(stamps):  # any 60 s at the robot holds at most 20
            assert sum(1 for t in stamps[i:] if t - start < timedelta(seconds=60)) <= 20
        assert stamps[-1] - stamps[0] >= timedelta(seconds=60)  # the 21st waited for the minute
        sent: list[float] = []

        async def all_counted() -> bool:  # a process counts a message once confirmed, after the robot has it
            sent[:] = [await _sent(p) for p in ports]
            return sum(sent) == MERCHANTS

        await eventually(all_counted, timeout=30, what="every message counted by the process that sent it")
        assert all(n > 0 for n in sent), sent  # both processes sent to the robot
