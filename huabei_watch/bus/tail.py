"""``huabei-watch tail``: print records from topics as one JSON line each."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import TextIO

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from huabei_watch.bus.broker import read_broker_address
from huabei_watch.bus.kafka import client_kwargs
from huabei_watch.config.settings import CoreSettings
from huabei_watch.errors import BrokerUnavailable, InvalidInput
from huabei_watch.events import Topics, decode


def resolve_topic(name: str, topics: Topics) -> str:
    """A short name (``signals``, ``cashier.changes``, ``payments.results``, with ``.dlq``) or a full
    topic name."""
    for full in topics.all():
        for candidate in (full, Topics.dlq(full)):
            if name == candidate or f"{topics.prefix}.{name}" == candidate:
                return candidate
    short = name.replace("-", "_").replace(".", "_")
    try:
        return topics.for_logical(short)
    except KeyError:
        return name


def render(msg: object) -> str:
    key = getattr(msg, "key", None)
    value = getattr(msg, "value", None)
    headers = getattr(msg, "headers", None) or ()
    origin = {"topic": getattr(msg, "topic", ""), "partition": getattr(msg, "partition", 0), "offset": getattr(msg, "offset", 0)}
    try:
        obj = decode(key, value, headers).as_json_obj()
    except InvalidInput as exc:
        obj = {
            "undecodable": exc.reason,
            "key": key.decode("utf-8", "replace") if isinstance(key, bytes) else None,
            "value": value.decode("utf-8", "replace")[:2000] if isinstance(value, bytes) else None,
            "headers": {k: v.decode("utf-8", "replace") for k, v in headers if isinstance(v, bytes)},
        }
    obj["kafka"] = origin
    return json.dumps(obj, ensure_ascii=False)


async def tail(
    settings: CoreSettings,
    topic_names: list[str],
    *,
    from_beginning: bool,
    bootstrap: str | None,
    stop: asyncio.Event,
    out: TextIO,
    limit: int | None = None,
    until_end: bool = False,
) -> int:
    """Print the records of ``topic_names`` to ``out`` until ``stop`` is set, ``limit`` records
    were printed, or (``until_end``) every partition was read up to the end offset it had when
    tail started (records produced later are not waited for; with neither ``from_beginning`` nor a
    record in flight that is at once). Returns the exit status (0)."""
    topics = Topics(settings.kafka.topic_prefix)
    names = [resolve_topic(n, topics) for n in topic_names]
    servers = bootstrap
    if servers is None and settings.kafka.embedded:
        servers = read_broker_address(settings)
        if servers is None:
            raise BrokerUnavailable(
                "kafka.bootstrap_servers is 'embedded' and no daemon is running with this state_dir "
                f"({settings.daemon.state_dir}); start `huabei-watch run` first or pass --bootstrap HOST:PORT"
            )
    servers = servers or settings.kafka.bootstrap_servers
    consumer = AIOKafkaConsumer(
        *([] if until_end else names),  # until_end assigns the partitions itself, to know their ends
        **client_kwargs(settings.kafka, servers),
        group_id=None if from_beginning else f"huabei-watch-tail-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
    )
    try:
        await consumer.start()
    except KafkaError as exc:
        raise BrokerUnavailable(f"cannot connect to Kafka at {servers}: {exc}") from None
    count = 0
    try:
        ends = await _assign_to_end(consumer, names, from_beginning) if until_end else None
        while not stop.is_set():
            if ends is not None and await _reached(consumer, ends):
                break
            batch = await consumer.getmany(timeout_ms=300)
            for msgs in batch.values():
                for msg in msgs:
                    out.write(render(msg) + "\n")
                    count += 1
                    if limit is not None and count >= limit:
                        out.flush()
                        return 0
            out.flush()
    finally:
        with contextlib.suppress(KafkaError):
            await consumer.stop()
    return 0


async def _assign_to_end(consumer: AIOKafkaConsumer, names: list[str], from_beginning: bool) -> dict[TopicPartition, int]:
    """Assign every partition of ``names`` (first or next offset) and return each one's end offset now."""
    await consumer.topics()  # fetches the metadata: partitions of every topic
    tps = [TopicPartition(name, p) for name in names for p in sorted(consumer.partitions_for_topic(name) or ())]
    missing = [name for name in names if not any(tp.topic == name for tp in tps)]
    if missing:
        raise InvalidInput(f"no such topic: {', '.join(missing)} (check the name, or kafka.topic_prefix)")
    consumer.assign(tps)
    if from_beginning:
        await consumer.seek_to_beginning(*tps)
    else:
        await consumer.seek_to_end(*tps)
    ends: dict[TopicPartition, int] = await consumer.end_offsets(tps)
    return ends


async def _reached(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return False
    return True
