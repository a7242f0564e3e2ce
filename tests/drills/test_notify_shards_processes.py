"""Issue 17: two notify processes share one platform-wide incident, and one is killed mid-way.

Two real ``huabei-watch run --role notify`` processes on one broker and one database (SQLite, and
PostgreSQL when HUABEI_TEST_PG_URL is set) with ``notify.fanout.shards = 4`` and one shard per
process at a time. The first SMS request the fakes see hangs: the process that sent it is stuck
inside its shard (lease renewed, so nobody takes it), and the other process tells the other three
shards -- the incident's messages are split between both. The stuck process is SIGKILLed; its lease
runs out, the survivor takes the shard over and finishes it. In the end every merchant got its
WeCom message exactly once, every SMS was sent once except the numbers of the hung request (in
flight at the kill: reported as unconfirmed, never resent, as the providers are not idempotent),
and the phase is marked done only after every shard was.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from huabei_watch.bus.broker import EmbeddedBroker, free_port
from huabei_watch.bus.kafka import Bus
from huabei_watch.clock import SystemClock
from huabei_watch.config.settings import KafkaSettings
from huabei_watch.events import INCIDENT_OPENED, Event, Topics
from tests.cashier.incident_builders import outage_incident
from tests.drills.notify_drill import notify_config, read_rows
from tests.fakes.aliyun_sms import FakeAliyunSms
from tests.fakes.base import Failure
from tests.fakes.wecom import FakeWeCom
from tests.support import eventually, fixed_keyring, readyz, start_role

MERCHANTS = 24
SHARDS = 4


def _config(tmp_path: Path, n: int, *, port: int, prefix: str, bootstrap: str, wecom: str, sms: str,
            db_url: str) -> Path:
    return notify_config(
        tmp_path / f"notify-{n}.toml", state_dir=tmp_path / f"state-{n}",
        merchants=[(f"m{i:02d}", i) for i in range(MERCHANTS)], port=port, prefix=prefix, bootstrap=bootstrap,
        wecom=wecom, sms=sms, db_url=db_url, partitions=2, sms_timeout=20, unconfirmed_after=25,
        fanout=f'shards = {SHARDS}\nmin_shard_merchants = 1\nshards_per_process = 1\nshard_lease = "3s"\nclaim_every = "200ms"\n',
    )


@pytest.mark.slow
async def test_two_processes_share_one_incident_and_a_killed_ones_shard_is_finished_by_the_other(
    own_broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path, processes: list[asyncio.subprocess.Process],
    database_url: str, db: AsyncEngine,
) -> None:
    robots = {f"robot-{i}" for i in range(MERCHANTS)} | {"ops-robot"}
    phones = {f"1390000{i:04d}" for i in range(MERCHANTS)}
    clock = SystemClock()
    async with FakeWeCom(clock, keys=robots) as wecom, FakeAliyunSms(clock, access_key_id="AK",
                                                                      access_key_secret="SK") as sms:
        sms.fail_next(1, Failure(hang=True))  # the first SMS request never gets an answer
        ports = [free_port(), free_port()]
        for n, port in enumerate(ports):
            config = _config(tmp_path, n, port=port, prefix=topic_prefix, bootstrap=own_broker.bootstrap_servers,
                             wecom=wecom.base_url, sms=sms.base_url, db_url=database_url)
            processes.append(await start_role(config, "notify", log=tmp_path / f"notify-{n}.log"))
            await eventually(partial(readyz, port), timeout=60, what=f"notify process {n} ready")
        pids = {p.pid: p for p in processes}

        bus = Bus(KafkaSettings(topic_prefix=topic_prefix, group_prefix=topic_prefix, partitions=2),
                  own_broker.bootstrap_servers, Topics(topic_prefix), signer=fixed_keyring().signer)
        await bus.start()
        try:
            await bus.ensure_topics()
            incident = outage_incident(datetime.now(UTC).replace(microsecond=0))
            await bus.publish(Event.build(INCIDENT_OPENED, incident, time=incident.updated_at))

            async def shards() -> list[tuple[Any, ...]]:
                return await read_rows(db, "SELECT shard, owner, done_at FROM notify_fanout_shards ORDER BY shard")

            async def stalled() -> list[tuple[Any, ...]] | None:
                rows = await shards()
                stuck = [r for r in rows if r[2] is None]
                in_flight = await read_rows(db, "SELECT recipient FROM notification_deliveries "
                                            "WHERE channel = 'aliyun_sms' AND state = 'in_flight'")
                return rows if len(rows) == SHARDS and len(stuck) == 1 and in_flight else None

            at_stall = await eventually(stalled, timeout=60, what="three shards told, one stuck on a hanging SMS")
        finally:
            await bus.stop()

        owner_pid = {int(r[1].split(":")[1]) for r in at_stall if r[1]}
        stuck_pid = next(int(r[1].split(":")[1]) for r in at_stall if r[2] is None)  # owner: host:pid:random
        assert owner_pid == set(pids), at_stall  # both processes took shards of the one incident
        assert await read_rows(db, "SELECT phase FROM notify_fanout_done") == []  # not every shard is done

        pids[stuck_pid].send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(pids[stuck_pid].wait(), 10) == -signal.SIGKILL
        survivor = next(pid for pid in pids if pid != stuck_pid)

        async def finished() -> bool:
            done = [r for r in await shards() if r[2] is not None]
            marked = await read_rows(db, "SELECT phase FROM notify_fanout_done")
            states = await read_rows(db, "SELECT state FROM notification_deliveries")
            return (len(done) == SHARDS and bool(marked) and len(states) == 2 * MERCHANTS + 1
                    and all(s[0] in ("sent", "failed") for s in states))

        await eventually(finished, timeout=90, what="the killed process's shard finished by the other, all reported")

    stuck_shard = next(r[0] for r in at_stall if r[2] is None)
    final = {r[0]: r for r in await shards()}
    assert int(final[stuck_shard][1].split(":")[1]) == survivor  # taken over after the lease ran out
    assert not wecom.duplicates() and not sms.duplicates()
    assert set(wecom.count_by_recipient()) == robots  # every merchant and ops: once each
    assert all(n == 1 for n in wecom.count_by_recipient().values())
    assert all(n == 1 for n in sms.count_by_recipient().values())
    unconfirmed = await read_rows(db, "SELECT recipient, last_error FROM notification_deliveries "
                                  "WHERE channel = 'aliyun_sms' AND state = 'failed'")
    assert unconfirmed and all("unconfirmed" in r[1] for r in unconfirmed), unconfirmed
    hung = {f"1390000{int(r[0][1:]):04d}" for r in unconfirmed}
    assert set(sms.count_by_recipient()) == phones - hung  # every other number got its SMS, once
