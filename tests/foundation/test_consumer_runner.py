"""The consumer runner: commit after effect, retries, dead letters, drain on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any

from aiokafka import AIOKafkaConsumer
from sqlalchemy import func, select

from consumers.incidents.signal_log import record_signal, signal_log
from huabei_watch.bus.kafka import Bus, ConsumerRunner, Handler, MessageContext
from huabei_watch.config.settings import KafkaSettings
from huabei_watch.db.engine import Database
from huabei_watch.errors import PermanentError, TransientError
from huabei_watch.events import Event, EventData, HealthChange, Record
from tests.samples import NOW
from tests.support import eventually, fixed_keyring


def health(i: int) -> Event[EventData]:
    data = HealthChange(probe_id=f"p{i}", target="http://127.0.0.1/h", since=NOW.replace(second=i % 60, minute=i // 60))
    return Event.build("huabei.health.down", data, time=NOW)


async def signal_rows(db: Database) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(signal_log))).scalar_one())


def runner(bus: Bus, settings: KafkaSettings, handler: Handler, group: str = "g", *, verify: bool = True) -> ConsumerRunner:
    """``verify=False``: the decoder's own reasons show (with a verifier, an unsigned record is refused first)."""
    return ConsumerRunner(
        group_id=f"{settings.group_prefix}.{group}", topics=[bus.topics.signals], handler=handler, bus=bus, settings=settings,
        verifier=fixed_keyring().verifier if verify else None,
    )


async def read_all(bus: Bus, topic: str, n: int) -> list[Record]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bus.bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    out: list[Record] = []
    try:
        while len(out) < n:
            batch = await consumer.getmany(timeout_ms=10_000)
            assert batch, f"expected {n} records on {topic}, got {len(out)}"
            for msgs in batch.values():
                out += [Record(m.key, m.value, tuple(m.headers)) for m in msgs]
    finally:
        await consumer.stop()
    return out


async def test_consumer_that_dies_after_its_effect_gets_the_event_again_and_applies_it_once(
    bus: Bus, kafka_settings: KafkaSettings, db: Database
) -> None:
    ev = health(1)
    await bus.publish(ev)
    effect_done = asyncio.Event()
    applied: list[bool] = []

    async def dies_after_effect(event: Event[EventData], ctx: MessageContext) -> None:
        applied.append(await record_signal(db, event, ctx.received_at))
        effect_done.set()
        await asyncio.Event().wait()  # the process "dies" here: never returns, never commits

    first = runner(bus, kafka_settings, dies_after_effect)
    await first.start()
    task = asyncio.create_task(first.run())
    await asyncio.wait_for(effect_done.wait(), 30)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert first._consumer is not None  # started above
    await first._consumer.stop()  # no commit: like a SIGKILL

    async def normal(event: Event[EventData], ctx: MessageContext) -> None:
        applied.append(await record_signal(db, event, ctx.received_at))

    second = runner(bus, kafka_settings, normal)
    await second.start()
    task2 = asyncio.create_task(second.run())
    await eventually(lambda: len(applied) == 2, what="redelivery")
    second.request_stop()
    await task2
    await second.stop()
    assert applied == [True, False]  # delivered twice, effect applied once
    assert await signal_rows(db) == 1


async def test_malformed_record_goes_to_the_dlq_with_its_reason_and_the_next_one_is_processed(
    bus: Bus, kafka_settings: KafkaSettings
) -> None:
    await bus.send(bus.topics.signals, Record(key=b"k", value=b"\xff garbage", headers=(("x", b"1"),)))
    good = health(2)
    await bus.send(bus.topics.signals, Record(key=b"k", value=b"{}", headers=(("ce_specversion", b"1.0"),)))
    await bus.publish(good)
    seen: list[str] = []

    async def handler(event: Event[EventData], ctx: MessageContext) -> None:
        seen.append(event.id)

    r = runner(bus, kafka_settings, handler, verify=False)
    await r.start()
    await r.run(idle_exit_after=3.0)
    await r.stop()
    assert seen == [good.id]
    dead = await read_all(bus, bus.topics.signals + ".dlq", 2)
    reasons = sorted(dict(m.headers)["dlq_reason"].decode() for m in dead)
    assert any("ce_specversion is missing" in r for r in reasons)
    assert any("invalid CloudEvent attributes" in r for r in reasons)
    for m in dead:
        h = dict(m.headers)
        assert h["dlq_topic"] == bus.topics.signals.encode()
        assert h["dlq_group"] == f"{kafka_settings.group_prefix}.g".encode()
        assert int(h["dlq_offset"]) >= 0


async def test_transient_errors_are_retried_and_permanent_ones_dead_lettered(bus: Bus, kafka_settings: KafkaSettings) -> None:
    flaky, bad, fine = health(3), health(4), health(5)
    for ev in (flaky, bad, fine):
        await bus.publish(ev)
    attempts: Counter[str] = Counter()
    done: list[str] = []

    async def handler(event: Event[EventData], ctx: MessageContext) -> None:
        attempts[event.id] += 1
        if event.id == flaky.id and ctx.attempt < 3:
            raise TransientError("database is locked")
        if event.id == bad.id:
            raise PermanentError("merchant does not exist")
        done.append(event.id)

    r = runner(bus, kafka_settings, handler)
    await r.start()
    await r.run(idle_exit_after=3.0)
    await r.stop()
    assert attempts[flaky.id] == 3
    assert attempts[bad.id] == 1
    assert sorted(done) == sorted([flaky.id, fine.id])
    dead = await read_all(bus, bus.topics.signals + ".dlq", 1)
    assert dict(dead[0].headers)["dlq_reason"] == b"merchant does not exist"


async def test_transient_error_that_persists_is_dead_lettered_after_max_attempts(bus: Bus, kafka_settings: KafkaSettings) -> None:
    ev = health(6)
    await bus.publish(ev)

    async def handler(event: Event[EventData], ctx: MessageContext) -> None:
        raise TransientError("provider down")

    r = runner(bus, kafka_settings, handler)
    await r.start()
    await r.run(idle_exit_after=3.0)
    await r.stop()
    dead = await read_all(bus, bus.topics.signals + ".dlq", 1)
    h = dict(dead[0].headers)
    assert h["dlq_attempts"] == str(kafka_settings.max_attempts).encode()
    assert h["dlq_error_class"] == b"TransientError"


async def test_a_rebalance_cuts_a_retry_wait_short_so_the_group_can_move_on(bus: Bus, kafka_settings: KafkaSettings) -> None:
    """A handler waiting out a retry backoff (up to ``kafka.retry_max``, 30 s by default) holds the
    runner's lock; the revoke callback needs it to commit. The revoke must end the wait, not queue
    behind it: else a rebalance (a broker restart, a member joining) waits for the whole backoff and
    the group stays unassigned, ``/readyz`` 503. Here the backoff never ends by itself."""
    await bus.publish(health(7))
    first_attempt = asyncio.Event()
    retried: list[int] = []

    async def failing(event: Event[EventData], ctx: MessageContext) -> None:
        retried.append(ctx.attempt)
        first_attempt.set()
        raise TransientError("the database is restarting")

    async def endless(delay: float) -> None:
        await asyncio.Event().wait()

    r1 = ConsumerRunner(
        group_id=f"{kafka_settings.group_prefix}.rebalance", topics=[bus.topics.signals], handler=failing, bus=bus,
        settings=kafka_settings.model_copy(update={"max_attempts": 1000}), verifier=fixed_keyring().verifier,
        sleep=endless,
    )
    handled: list[str] = []

    async def fine(event: Event[EventData], ctx: MessageContext) -> None:
        handled.append(event.id)

    r2 = ConsumerRunner(
        group_id=f"{kafka_settings.group_prefix}.rebalance", topics=[bus.topics.signals], handler=fine, bus=bus,
        settings=kafka_settings, verifier=fixed_keyring().verifier,
    )
    await r1.start()
    t1 = asyncio.create_task(r1.run())
    t2: asyncio.Task[None] | None = None
    try:
        await asyncio.wait_for(first_attempt.wait(), 30)
        await asyncio.wait_for(r2.start(), 30)
        t2 = asyncio.create_task(r2.run())
        # The join completes for both members: r1's revoke did not wait for the endless backoff.
        await eventually(lambda: r2.assigned_epoch is not None and r1.assigned_epoch is not None, timeout=30,
                         what="both members assigned after the rebalance")
    finally:
        for r, t in ((r1, t1), (r2, t2)):
            r.request_stop()
            if t is not None:
                await asyncio.wait_for(t, 30)
            await asyncio.wait_for(r.stop(), 30)
    assert retried and retried[0] == 1


async def test_graceful_shutdown_commits_and_a_restart_processes_nothing_twice(bus: Bus, kafka_settings: KafkaSettings) -> None:
    events = [health(10 + i) for i in range(20)]
    for ev in events:
        await bus.publish(ev)
    seen: list[str] = []

    async def handler(event: Event[EventData], ctx: MessageContext) -> None:
        seen.append(event.id)

    r1 = runner(bus, kafka_settings, handler)
    await r1.start()
    task = asyncio.create_task(r1.run())
    await eventually(lambda: len(seen) == 20, what="first pass")
    r1.request_stop()
    await task
    await r1.stop()

    more = [health(40 + i) for i in range(5)]
    for ev in more:
        await bus.publish(ev)
    r2 = runner(bus, kafka_settings, handler)
    await r2.start()
    await r2.run(idle_exit_after=3.0)
    await r2.stop()
    assert sorted(seen) == sorted(e.id for e in events + more)  # each exactly once


async def test_an_idle_consumer_waits_as_long_as_one_fetch_hold_before_waking_its_loop(
    bus: Bus, kafka_settings: KafkaSettings
) -> None:
    """A getmany (or aiokafka's fetch routine's wait) shorter than the broker's hold returns empty
    while the same fetch is still held: it only wakes the event loop. The payment results' group (1 s hold) waits 1 s; groups at the
    100 ms default keep 200 ms; no wait exceeds 1 s (how late an idle consumer sees a stop)."""

    async def handler(event: Event[EventData], ctx: MessageContext) -> None:
        pass

    waits: dict[float, list[int]] = {}
    for hold in (0.1, 1.0, 10.0):
        r = ConsumerRunner(group_id=f"{kafka_settings.group_prefix}.idle{hold:g}", topics=[bus.topics.signals],
                           handler=handler, bus=bus, settings=kafka_settings, verifier=None, fetch_max_wait=hold)
        await r.start()
        consumer = r._consumer
        assert consumer is not None
        getmany = consumer.getmany
        asked = waits.setdefault(hold, [])
        asked.append(round(consumer._fetcher._fetcher_timeout * 1000))  # aiokafka's own fetch routine

        async def recording(*partitions: Any, timeout_ms: int = 0, max_records: int | None = None,
                            _asked: list[int] = asked, _r: ConsumerRunner = r, _get: Any = getmany) -> Any:
            _asked.append(timeout_ms)
            _r.request_stop()  # one round is enough
            return await _get(*partitions, timeout_ms=0, max_records=max_records)

        consumer.getmany = recording
        await r.run()
        await r.stop()
    assert waits == {0.1: [200, 200], 1.0: [1000, 1000], 10.0: [1000, 1000]}
