"""The docs' Kafka recipes run as written (child processes), against the embedded broker: the
dead-letter re-drive loop of docs/operations.md, and the confluent-kafka and aiokafka examples of
docs/subscribing.md."""

from __future__ import annotations

import asyncio
import re
import textwrap
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.bus.kafka import Bus
from huabei_watch.clock import SHANGHAI
from huabei_watch.events import CASHIER_CHANGED, INCIDENT_OPENED
from tests.samples import sample_events
from tests.support import eventually

ROOT = Path(__file__).parent.parent.parent
OPERATIONS = (ROOT / "docs" / "operations.md").read_text("utf-8")
SUBSCRIBING = (ROOT / "docs" / "subscribing.md").read_text("utf-8")

Record = tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]


def redrive_recipe(bootstrap: str, dlq: str) -> str:
    """The re-drive loop exactly as docs/operations.md has it, pointed at ``bootstrap`` and ``dlq``."""
    section = OPERATIONS.split("## Dead letters", 1)[1]
    code = textwrap.dedent(section.split("```python\n", 1)[1].split("```", 1)[0])
    code, n_dlq = re.subn(r'^DLQ = ".*"$', f"DLQ = {dlq!r}", code, flags=re.MULTILINE)
    code, n_conf = re.subn(r"^conf = \{.*?\}$", f'conf = {{"bootstrap.servers": {bootstrap!r}}}', code,
                           flags=re.MULTILINE | re.DOTALL)
    assert (n_dlq, n_conf) == (1, 1), "the recipe's DLQ or conf line changed shape: adapt this test"
    return code


async def read_all(bootstrap: str, topic: str) -> list[Record]:
    """Every record the topic holds now, partition by partition."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # fetches the metadata
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        out: list[Record] = []
        while any([await consumer.position(tp) < end for tp, end in ends.items()]):
            for msgs in (await consumer.getmany(timeout_ms=500)).values():
                out.extend((m.key, m.value, list(m.headers)) for m in msgs)
        return out
    finally:
        await consumer.stop()


async def run_recipe(python_exe: str, code: str, tmp_path: Path) -> None:
    script = tmp_path / f"redrive-{uuid.uuid4().hex[:6]}.py"
    script.write_text(code, "utf-8")
    proc = await asyncio.create_subprocess_exec(python_exe, str(script), stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 90)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError("the re-drive loop did not stop") from None
    assert proc.returncode == 0, out.decode()[-3000:]


async def failing_role(bootstrap: str, topic: str, dlq: str, fails: bytes, stop: asyncio.Event) -> None:
    """A consumer of ``topic`` that dead-letters every record keyed ``fails`` again at once, with
    fresh ``dlq_*`` headers, as a role whose cause was not fixed does."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await consumer.start()
    await producer.start()
    try:
        await consumer.topics()
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        while not stop.is_set():
            for msgs in (await consumer.getmany(timeout_ms=200)).values():
                for m in msgs:
                    if m.key == fails:
                        await producer.send_and_wait(dlq, m.value, key=m.key, headers=[
                            *m.headers, ("dlq_reason", b"still down"), ("dlq_topic", topic.encode())])
    finally:
        await consumer.stop()
        await producer.stop()


async def test_dlq_redrive_recipe_stops_at_the_end_seen_at_start_and_resumes_where_it_stopped(
    broker: EmbeddedBroker, python_exe: str, tmp_path: Path
) -> None:
    bs = broker.bootstrap_servers
    topic = f"d{uuid.uuid4().hex[:10]}.notifications"
    dlq = f"{topic}.dlq"
    admin = AIOKafkaAdminClient(bootstrap_servers=bs)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 2, 1), NewTopic(dlq, 2, 1)])
    finally:
        await admin.close()

    def dead(n: int) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
        return (f"m{n}".encode(), f'{{"n": {n}}}'.encode(),
                [("ce_id", f"id-{n}".encode()), ("dlq_reason", b"provider down"), ("dlq_topic", topic.encode()),
                 ("dlq_attempts", b"8")])

    async def dlq_holds(n: int) -> bool:
        return len(await read_all(bs, dlq)) == n

    stop = asyncio.Event()
    role = asyncio.create_task(failing_role(bs, topic, dlq, b"m3", stop))
    producer = AIOKafkaProducer(bootstrap_servers=bs, enable_idempotence=False)
    await producer.start()
    try:
        for key, value, headers in (dead(1), dead(2), dead(3)):  # m3's cause is not fixed: it fails again
            await producer.send_and_wait(dlq, value, key=key, headers=headers)
        code = redrive_recipe(bs, dlq)
        await run_recipe(python_exe, code, tmp_path)  # stops although m3 keeps coming back

        redriven = await read_all(bs, topic)
        assert sorted((k, v) for k, v, _ in redriven) == [(b"m1", b'{"n": 1}'), (b"m2", b'{"n": 2}'),
                                                          (b"m3", b'{"n": 3}')]
        assert all(h == [("ce_id", f"id-{(k or b'').decode()[1:]}".encode())] for k, _, h in redriven)  # no dlq_*
        await eventually(lambda: dlq_holds(4), what="m3 dead-lettered again, behind the end the run saw")

        key, value, headers = dead(4)
        await producer.send_and_wait(dlq, value, key=key, headers=headers)
        await run_recipe(python_exe, code, tmp_path)  # goes on where the first run stopped: m3 again, m4
        assert sorted(k or b"" for k, _, _ in await read_all(bs, topic)) == [b"m1", b"m2", b"m3", b"m3", b"m4"]
        await eventually(lambda: dlq_holds(6), what="m3 dead-lettered once more")
    finally:
        stop.set()
        await role
        await producer.stop()


def subscribing_example(library: str) -> str:
    """The Python example under ``## <library>`` in docs/subscribing.md."""
    section = SUBSCRIBING.split(f"## {library}", 1)[1]
    return textwrap.dedent(section.split("```python\n", 1)[1].split("```", 1)[0])


async def first_line_of(python_exe: str, code: str, tmp_path: Path) -> str:
    """Run an example that consumes forever; return its first line of output, then stop it."""
    script = tmp_path / f"example-{uuid.uuid4().hex[:6]}.py"
    script.write_text(code, "utf-8")
    proc = await asyncio.create_subprocess_exec(python_exe, str(script), stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 90)
    finally:
        proc.kill()
        _, err = await proc.communicate()
    assert line, err.decode()[-3000:]
    return line.decode().rstrip("\n")


@pytest.mark.parametrize(("library", "event_type"), [("confluent-kafka (Python)", INCIDENT_OPENED),
                                                     ("aiokafka (Python, asyncio)", CASHIER_CHANGED)])
async def test_subscribing_examples_print_the_first_record(
    broker: EmbeddedBroker, bus: Bus, python_exe: str, tmp_path: Path, library: str, event_type: str
) -> None:
    event = next(e for e in sample_events() if e.type == event_type)
    await bus.publish(event)
    code = subscribing_example(library)
    code = code.replace('"kafka-1.internal:9093"', repr(broker.bootstrap_servers))
    code = code.replace('"127.0.0.1:40519"', repr(broker.bootstrap_servers))
    code = code.replace('"huabei.', f'"{bus.topics.prefix}.')
    code = code.replace('"ops-', f'"{bus.topics.prefix}-ops-')  # a group of its own per test
    line = await first_line_of(python_exe, code, tmp_path)
    data = event.data.model_dump(mode="json")
    if event_type == INCIDENT_OPENED:
        assert line == f"{event.type} {data['incident_id']} {data['phase']} {data['summary_zh']}"
    else:
        assert line.startswith(event.time.astimezone(SHANGHAI).isoformat() + " " + data["merchant_id"])
