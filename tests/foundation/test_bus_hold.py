"""The bus held back while the embedded broker is recycled: producers wait, consumers' own
records pass (so the pipeline drains), a producer held too long gets a TransientError, and the
recycle waits for a backlog as long as the consumer groups make progress."""

from __future__ import annotations

import asyncio
import time

from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.bus.kafka import Bus, MessageContext
from huabei_watch.bus.recycle import Recycler
from huabei_watch.config.settings import KafkaSettings
from huabei_watch.errors import TransientError
from huabei_watch.events import Event, EventData, Record, Topics
from tests.foundation.test_consumer_runner import health, read_all
from tests.foundation.test_consumer_runner import runner as consumer
from tests.support import eventually, fixed_keyring


def values(records: list[Record]) -> list[bytes]:
    """The records' values; none of them is a tombstone."""
    out: list[bytes] = []
    for r in records:
        assert r.value is not None, r
        out.append(r.value)
    return out


async def test_a_held_bus_makes_new_records_wait_until_released_but_lets_a_handlers_records_pass(
    bus: Bus, kafka_settings: KafkaSettings
) -> None:
    out_topic = bus.topics.notifications
    passed: list[str] = []

    async def handler(event: Event[EventData], ctx: MessageContext) -> None:
        await bus.send(out_topic, Record(event.id.encode(), b"from a handler", ()))
        passed.append(event.id)

    await bus.publish(health(1))
    bus.hold()
    waiting = asyncio.create_task(bus.send(out_topic, Record(b"k", b"from outside", ())))
    runner = consumer(bus, kafka_settings, handler, "hold")
    await runner.start()
    task = asyncio.create_task(runner.run())
    try:
        await eventually(lambda: len(passed) == 1, timeout=30, what="the handler's record sent while held")
        assert not waiting.done()
        assert values(await read_all(bus, out_topic, 1)) == [b"from a handler"]
        bus.release()
        await asyncio.wait_for(waiting, 10)
        assert sorted(values(await read_all(bus, out_topic, 2))) == [b"from a handler", b"from outside"]
        assert bus.in_flight == 0
    finally:
        runner.request_stop()
        await task
        await runner.stop()


async def test_a_record_held_longer_than_publish_timeout_is_refused_as_transient_and_never_sent(
    bus: Bus, kafka_settings: KafkaSettings
) -> None:
    quick = Bus(kafka_settings.model_copy(update={"publish_timeout": 0.5}), bus.bootstrap,
                Topics(kafka_settings.topic_prefix), signer=fixed_keyring().signer)
    await quick.start()
    try:
        quick.hold()
        try:
            await quick.publish(health(2))
        except TransientError as exc:
            assert "held back" in exc.reason
        else:
            raise AssertionError("a held publish went through")
        assert quick.sent == 0
        quick.release()
        await quick.publish(health(3))
        assert quick.sent == 1
        assert len(await read_all(quick, quick.topics.signals, 1)) == 1
    finally:
        await quick.stop()


async def test_a_recycle_waits_for_a_backlog_longer_than_the_drain_timeout_while_the_group_makes_progress(
    broker: EmbeddedBroker, bus: Bus, kafka_settings: KafkaSettings
) -> None:
    settings = kafka_settings.model_copy(update={"embedded_drain_timeout": 1.0})
    handled: list[str] = []

    async def slow(event: Event[EventData], ctx: MessageContext) -> None:
        await asyncio.sleep(0.25)  # a slow effect: the whole backlog takes about 3 s, 3 drain timeouts
        handled.append(event.id)

    for i in range(12):
        await bus.publish(health(10 + i))
    runner = consumer(bus, settings, slow, "slow")
    await runner.start()
    task = asyncio.create_task(runner.run())
    recycler = Recycler(broker, bus, settings, runners=lambda: [runner], consumed=lambda: {bus.topics.signals})
    try:
        await eventually(lambda: len(handled) >= 1, timeout=30, what="the backlog being worked off")
        bus.hold()
        assert await recycler._drained(time.monotonic())
        assert len(handled) == 12
    finally:
        bus.release()
        runner.request_stop()
        await task
        await runner.stop()
