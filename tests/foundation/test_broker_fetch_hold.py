"""How the embedded broker (Tansu) answers a fetch it holds, measured on the real broker.

Apache Kafka answers a held fetch as soon as a record arrives (``fetch.min.bytes`` reached): there
``kafka.fetch_max_wait`` costs no latency and a long one only saves idle fetches. The embedded
broker does not: a record produced while a consumer's fetch is held is delivered only when the hold
ends, so on it ``kafka.fetch_max_wait`` is the floor of every hop's latency and a longer default
would slow every reaction (issue 17: why the default stays 100 ms). This pins that; if a newer
broker answers early, this fails and the default can go up at no cost.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from huabei_watch.bus.broker import EmbeddedBroker

#: The consumer's ``fetch_max_wait_ms``: long beside a loopback produce -> fetch (a few ms).
WAIT_MS = 3000
#: The producer's ``linger_ms``: a record reaches the broker this long after it is sent, by when the
#: consumer's next fetch (sent a few ms after it took the last record) is surely held there. Produced
#: at once, the record raced that fetch and won about half the time (measured), and a fetch that
#: finds a record waiting is answered at once by any broker.
LINGER_MS = WAIT_MS // 4


async def _delivered(consumer: AIOKafkaConsumer, deadline_s: float) -> float:
    """Monotonic time at which ``getmany`` handed over a record; fails after ``deadline_s``."""
    async with asyncio.timeout(deadline_s):
        while not await consumer.getmany(timeout_ms=WAIT_MS):
            pass
    return time.monotonic()


async def test_embedded_broker_delivers_a_record_produced_during_a_held_fetch_only_when_the_hold_ends(
    broker: EmbeddedBroker,
) -> None:
    topic = f"t{uuid.uuid4().hex[:10]}.hold"
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, linger_ms=LINGER_MS)
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap_servers, group_id=None,
                                enable_auto_commit=False, fetch_max_wait_ms=WAIT_MS)
    await producer.start()
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        # Record A: once getmany hands it over, the consumer sends its next fetch at once, and the
        # broker, with nothing new on the partition, holds it.
        await producer.send_and_wait(topic, b"a")
        await _delivered(consumer, deadline_s=4 * WAIT_MS / 1000)
        # Record B reaches the broker (acknowledged) while that fetch is held.
        await producer.send_and_wait(topic, b"b")
        stored = time.monotonic()
        latency = await _delivered(consumer, deadline_s=4 * WAIT_MS / 1000) - stored
    finally:
        await consumer.stop()
        await producer.stop()
    # Answered early, B would be handed over within a few ms of its acknowledgement (or before it);
    # held, it waits for the rest of the hold (half the wait on this broker, 1.5 s, less the linger).
    assert latency >= WAIT_MS / 1000 / 8, (
        f"the embedded broker answered a held fetch {latency * 1000:.0f} ms after a record arrived "
        f"(wait {WAIT_MS} ms): it now answers early, so a longer kafka.fetch_max_wait default costs no latency"
    )
