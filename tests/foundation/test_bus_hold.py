"""The bus held back while the embedded broker is recycled: producers wait, consumers' own
records pass (so the pipeline drains), and a producer held too long gets a TransientError."""

from __future__ import annotations

import asyncio

from huabei_watch.bus.kafka import Bus, MessageContext
from huabei_watch.config.settings import KafkaSettings
from huabei_watch.errors import TransientError
from huabei_watch.events import Event, EventData, Record, Topics
from tests.foundation.test_consumer_runner import health, read_all
from tests.foundation.test_consumer_runner import runner as consumer
from tests.support import eventually, fixed_keyring


def values(records: list[object]) -> list[bytes]:
    return [r.value for r in records]  # type: ignore[attr-defined]


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
