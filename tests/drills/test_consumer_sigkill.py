"""Fault drill: a consumer process is SIGKILLed mid-batch and started again.

The notify role runs as a real subprocess (``python -m huabei_watch.root.cli ... run --role notify``) against
a broker and a database the drill owns. The WeCom fake hangs on one request, so the kill lands
while messages are being delivered (WeCom one at a time: the rest of its batch is still queued).
After the restart: no message reaches a fake twice; every message is delivered except those that
were in flight at the kill, which are reported as unconfirmed (the providers are not idempotent,
so they are never resent blindly).

The cashier role is killed inside the transaction of one merchant's switch (a trigger the drill puts
on the table blocks it), with the switches before it applied and their offsets not yet committed;
outages end while it is down. After the restart: no toggle missed or repeated, the policy API
serves exactly what is stored, and re-asserting every incident changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from huabei_watch.bus.broker import EmbeddedBroker, free_port
from huabei_watch.bus.kafka import Bus
from huabei_watch.clock import SystemClock
from huabei_watch.config.settings import KafkaSettings
from huabei_watch.events import (
    HUABEI_CHANNELS,
    INCIDENT_OPENED,
    INCIDENT_RESOLVED,
    Event,
    Incident,
    IncidentKind,
    Phase,
    Scope,
    Topics,
)
from tests.cashier.incident_builders import outage_incident
from tests.drills.notify_drill import notify_config, read_rows
from tests.fakes.aliyun_sms import FakeAliyunSms
from tests.fakes.base import Failure
from tests.fakes.wecom import FakeWeCom
from tests.support import (
    eventually,
    fixed_keyring,
    migrated_database,
    readyz,
    start_role,
    write_daemon_config,
)

MERCHANTS = 8


def _config(tmp_path: Path, *, port: int, prefix: str, bootstrap: str, wecom: str, sms: str, db_url: str) -> Path:
    return notify_config(
        tmp_path / "config.toml", state_dir=tmp_path / "state", merchants=[(f"m{i}", i) for i in range(MERCHANTS)],
        port=port, prefix=prefix, bootstrap=bootstrap, wecom=wecom, sms=sms, db_url=db_url, partitions=1,
        sms_timeout=10, unconfirmed_after=12,
    )


async def _start_role(config: Path, cwd: Path, role: str) -> asyncio.subprocess.Process:
    return await start_role(config, role, log=cwd / "daemon.log")


async def _deliveries(db: AsyncEngine) -> list[tuple[str, str, str, str]]:
    """(recipient, channel, state, last_error) of every dedupe key."""
    return await read_rows(db, "SELECT recipient, channel, state, last_error FROM notification_deliveries")


@pytest.mark.slow
async def test_notify_killed_mid_batch_sends_nothing_twice_and_the_rest_after_restart(
    own_broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path, processes: list[asyncio.subprocess.Process],
    database_url: str, db: AsyncEngine,
) -> None:
    clock = SystemClock()  # the daemon runs on real time; so do the fakes
    robots = {f"robot-{i}" for i in range(MERCHANTS)} | {"ops-robot"}
    phones = {f"1390000{i:04d}" for i in range(MERCHANTS)}
    async with FakeWeCom(clock, keys=robots) as wecom, FakeAliyunSms(clock, access_key_id="AK", access_key_secret="SK") as sms:
        port = free_port()
        config = _config(tmp_path, port=port, prefix=topic_prefix, bootstrap=own_broker.bootstrap_servers,
                         wecom=wecom.base_url, sms=sms.base_url, db_url=database_url)
        settings = KafkaSettings(topic_prefix=topic_prefix, group_prefix=topic_prefix, partitions=1)
        bus = Bus(settings, own_broker.bootstrap_servers, Topics(topic_prefix), signer=fixed_keyring().signer)
        await bus.start()
        try:
            await bus.ensure_topics()
            sms.fail_next(1, Failure(hang=True))  # the first SMS request never gets an answer

            processes.append(await _start_role(config, tmp_path, "notify"))
            await eventually(lambda: readyz(port), timeout=60, what="the notify daemon ready")
            incident = outage_incident(datetime.now(UTC).replace(microsecond=0))
            await bus.publish(Event.build(INCIDENT_OPENED, incident, time=incident.updated_at))

            stalled = {("ops", "wecom", "sent"), ("m0", "aliyun_sms", "in_flight")}
            stalled |= {(f"m{i}", "wecom", "sent") for i in range(MERCHANTS)}

            async def hung_mid_batch() -> bool:
                return {r[:3] for r in await _deliveries(db)} == stalled

            # Planned in recipient order (ops, m0, m1, ...) on one lane, one delivery per channel at a
            # time: m0's SMS hangs; the other SMS wait behind it (the lane looks ahead per channel),
            # WeCom goes on to the last merchant, and the lane stalls with every other SMS still
            # queued. That is where the kill lands.
            await eventually(hung_mid_batch, timeout=30, what="the batch stalled on a hanging SMS request")
            processes[0].send_signal(signal.SIGKILL)
            assert await asyncio.wait_for(processes[0].wait(), 10) == -signal.SIGKILL
            at_kill = await _deliveries(db)
            assert len(at_kill) < MERCHANTS * 2 + 1 and sms.received == []  # the batch was unfinished

            processes.append(await _start_role(config, tmp_path, "notify"))
            expected = MERCHANTS * 2 + 1

            async def settled() -> bool:
                rows = await _deliveries(db)
                return len(rows) == expected and all(r[2] in ("sent", "failed") for r in rows)

            await eventually(settled, timeout=50, what="every message sent or reported after the restart")
        finally:
            await bus.stop()

        rows = await _deliveries(db)
        assert not wecom.duplicates() and not sms.duplicates()
        assert all(n == 1 for n in wecom.count_by_recipient().values())
        assert all(n == 1 for n in sms.count_by_recipient().values())
        sent = [r for r in rows if r[2] == "sent"]
        unconfirmed = [r for r in rows if r[2] == "failed"]
        assert all("unconfirmed" in r[3] for r in unconfirmed), unconfirmed
        # Only what was in flight at the kill is unconfirmed (reported, never resent): m0's SMS.
        assert [(r[0], r[1]) for r in unconfirmed] == [("m0", "aliyun_sms")]
        assert "13900000000" not in sms.count_by_recipient()
        assert len(wecom.received) == len([r for r in sent if r[1] == "wecom"])
        assert len(sms.received) == len([r for r in sent if r[1] == "aliyun_sms"])
        assert set(wecom.count_by_recipient()) <= robots and set(sms.count_by_recipient()) <= phones
        assert len(wecom.received) + len(sms.received) + len(unconfirmed) == expected
        assert set(wecom.count_by_recipient()) == robots


# -- cashier: no missed toggle ---------------------------------------------------------------------

CASHIER_MERCHANTS = 120
OPS = "ops-drill-token"


def _cashier_config(tmp_path: Path, *, port: int, prefix: str, bootstrap: str, db_url: str) -> Path:
    merchants = "".join(f'\n[[merchants]]\nid = "c{i}"\nmode = "auto"\ntoken = "tok-{i}"\n' for i in range(CASHIER_MERCHANTS))
    return write_daemon_config(
        tmp_path / "cashier.toml", state_dir=tmp_path / "cashier-state", bootstrap=bootstrap, prefix=prefix,
        db_url=db_url, partitions=1, listen=f"127.0.0.1:{port}", ops_token=OPS,
        body=f"""
[cashier]
min_hold = 0  # switch back on as soon as an outage ends: the drill checks the "on" too
{merchants}
""",
    )


def _merchant_outage(i: int, at: datetime, *, resolved: bool) -> Event[Incident]:
    inc = Incident(
        incident_id=f"outage:c{i}", kind=IncidentKind.OUTAGE, scope=Scope.merchants(f"c{i}"), channels=HUABEI_CHANNELS,
        phase=Phase.RESOLVED if resolved else Phase.ACTIVE, starts_at=at, disable_from=at,
        disable_until=at + timedelta(seconds=1) if resolved else None, opened_at=at,
        updated_at=at + timedelta(seconds=1) if resolved else at, resolved_at=at + timedelta(seconds=1) if resolved else None,
        revision=2 if resolved else 1,
    )
    return Event.build(INCIDENT_RESOLVED if resolved else INCIDENT_OPENED, inc, time=inc.updated_at)


async def _audit(db: AsyncEngine) -> list[tuple[str, int]]:
    return await read_rows(db, "SELECT subject, version FROM cashier_audit ORDER BY seq")


async def _policy(port: int, merchant: str) -> list[str]:
    async with aiohttp.ClientSession() as s, s.get(
        f"http://127.0.0.1:{port}/v1/merchants/{merchant}/pay-channels", headers={"Authorization": f"Bearer {OPS}"}
    ) as r:
        assert r.status == 200, await r.text()
        return list((await r.json())["disable_pay_channels"])


STALL_AT = 40  # the merchant whose switch the drill's trigger blocks: c0..c39 applied, c40 never
_SQLITE_STALL = (
    "CREATE TABLE drill_rows (x INTEGER)",
    "INSERT INTO drill_rows WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3000) SELECT x FROM n",
    # A trigger may not use WITH, so the stall is a cross join of 2.7e10 rows: hours, never finished.
    f"CREATE TRIGGER drill_stall BEFORE INSERT ON cashier_state WHEN NEW.subject = 'c{STALL_AT}' "
    "BEGIN SELECT count(*) FROM drill_rows a, drill_rows b, drill_rows c; END",
)
_PG_STALL = (
    "CREATE FUNCTION drill_stall() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"IF NEW.subject = 'c{STALL_AT}' THEN PERFORM pg_sleep(3600); END IF; RETURN NEW; END $$",
    "CREATE TRIGGER drill_stall BEFORE INSERT ON cashier_state FOR EACH ROW EXECUTE FUNCTION drill_stall()",
)


async def _install_stall(db: AsyncEngine, database_url: str) -> None:
    """Create the daemon's tables, then a trigger that blocks forever inside the transaction that
    first writes merchant ``c{STALL_AT}``'s switch: a deterministic point mid-batch to kill at."""
    migrated = await migrated_database(database_url)
    await migrated.engine.dispose()
    async with db.begin() as conn:
        for sql in _SQLITE_STALL if db.dialect.name == "sqlite" else _PG_STALL:
            await conn.execute(text(sql))


async def _stalled(db: AsyncEngine, database_url: str) -> bool:
    """True while a daemon transaction sits in the trigger."""
    if db.dialect.name == "sqlite":
        probe = sqlite3.connect(database_url.split("///", 1)[1], timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")  # fails at once while the stalled writer holds the lock
            probe.rollback()
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()
    rows = await read_rows(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'")
    return bool(rows and rows[0][0])


async def _remove_stall(db: AsyncEngine) -> None:
    """After the kill: end the killed daemon's sessions (PostgreSQL keeps a sleeping backend) and
    drop the trigger, so the restarted daemon runs unhindered."""
    async with db.begin() as conn:
        if db.dialect.name == "postgresql":
            await conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ))
        await conn.execute(text("DROP TRIGGER drill_stall" + (" ON cashier_state" if db.dialect.name == "postgresql" else "")))


async def _offsets(bootstrap: str, group: str, topic: str) -> tuple[int, int]:
    """(committed offset of ``group``, end offset) on the single partition of ``topic``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        committed = await consumer.committed(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        return committed or 0, end
    finally:
        await consumer.stop()


async def _stored_off(db: AsyncEngine) -> dict[str, list[str]]:
    """Each merchant's disabled channels as the database holds them."""
    return {s: list(json.loads(d)["channels"] if isinstance(d, str) else d["channels"])
            for s, d in await read_rows(db, "SELECT subject, data FROM cashier_state")}


@pytest.mark.slow
async def test_cashier_killed_mid_batch_misses_no_toggle_and_repeats_none_after_restart(
    own_broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path, processes: list[asyncio.subprocess.Process],
    database_url: str, db: AsyncEngine,
) -> None:
    port = free_port()
    config = _cashier_config(tmp_path, port=port, prefix=topic_prefix, bootstrap=own_broker.bootstrap_servers,
                             db_url=database_url)
    topics = Topics(topic_prefix)
    bus = Bus(KafkaSettings(topic_prefix=topic_prefix, group_prefix=topic_prefix, partitions=1),
              own_broker.bootstrap_servers, topics, signer=fixed_keyring().signer)
    group = f"{topic_prefix}.cashier"
    await bus.start()
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    resolved = set(range(0, CASHIER_MERCHANTS, 3))  # every third merchant's outage ends while the cashier is down
    try:
        await bus.ensure_topics()
        await _install_stall(db, database_url)
        # Every outage is on the topic before the cashier starts, so its first fetch is one batch
        # (max_in_flight 64: c0..c63) whose offsets are committed only once all of it is handled.
        for i in range(CASHIER_MERCHANTS):
            await bus.publish(_merchant_outage(i, at, resolved=False))
        processes.append(await _start_role(config, tmp_path, "cashier"))
        stall_reached = {f"c{i}" for i in range(STALL_AT)}

        async def at_stall_point() -> bool:
            return {s for s, _ in await _audit(db)} == stall_reached and await _stalled(db, database_url)

        await eventually(at_stall_point, timeout=60, what=f"c0..c{STALL_AT - 1} switched and c{STALL_AT} stalled")
        processes[0].send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(processes[0].wait(), 10) == -signal.SIGKILL
        await _remove_stall(db)
        assert {s for s, _ in await _audit(db)} == stall_reached
        committed, _end = await _offsets(own_broker.bootstrap_servers, group, topics.incidents)
        assert committed < STALL_AT  # applied effects whose offsets were never committed: replayed after the restart

        for i in sorted(resolved):
            await bus.publish(_merchant_outage(i, at, resolved=True))
        processes.append(await _start_role(config, tmp_path, "cashier"))
        await eventually(lambda: readyz(port), timeout=60, what="the cashier daemon ready again")

        def expected_rows(i: int) -> int:
            return 2 if i in resolved else 1

        async def settled() -> bool:
            rows = await _audit(db)
            per = {s: sum(1 for x, _ in rows if x == s) for s, _ in rows}
            return all(per.get(f"c{i}", 0) == expected_rows(i) for i in range(CASHIER_MERCHANTS))

        await eventually(settled, timeout=60, what="every merchant switched off (and back on) after the restart")
        stored = await _stored_off(db)
        for i in range(CASHIER_MERCHANTS):
            off = await _policy(port, f"c{i}")
            assert off == stored[f"c{i}"], (i, off, stored[f"c{i}"])  # the policy API serves what is stored
            assert (off == []) is (i in resolved), (i, off)
        audit_at_settle = await _audit(db)

        # Every incident re-asserted (as the incidents role does every few minutes): nothing moves.
        for i in range(CASHIER_MERCHANTS):
            await bus.publish(_merchant_outage(i, at, resolved=i in resolved))

        async def consumed_all() -> bool:
            done, end = await _offsets(own_broker.bootstrap_servers, group, topics.incidents)
            return done == end

        await eventually(consumed_all, timeout=60, what="the re-assertion consumed")
        assert await _audit(db) == audit_at_settle
        assert await _stored_off(db) == stored
        for i in range(CASHIER_MERCHANTS):
            assert await _policy(port, f"c{i}") == stored[f"c{i}"], i
    finally:
        await bus.stop()
    rows = await _audit(db)
    # Each merchant's changes are one audit row per version, never a repeat.
    assert len(rows) == len(set(rows)) == CASHIER_MERCHANTS + len(resolved)
