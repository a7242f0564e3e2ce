"""Fault drill: 1,000 random malformed events on the signals topic of a running daemon.

Every one must end in ``<signals>.dlq`` with a ``dlq_reason``; the daemon stays healthy
(/healthz and /readyz answer 200) and a good event sent after them is processed.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import select

from consumers.incidents.signal_log import signal_log
from huabei_watch.bus.broker import EmbeddedBroker
from huabei_watch.bus.kafka import Bus
from huabei_watch.clock import ManualClock
from huabei_watch.errors import InvalidInput
from huabei_watch.events import Event, EventData, Record, Topics, decode, encode
from tests.e2e.harness import get_json, running, settings_for
from tests.incidents import factories
from tests.support import eventually

SEED = 20261126
COUNT = 1000


def _valid_events() -> list[Event[EventData]]:
    at = factories.T0
    return [
        factories.maintenance(notice_id="fuzz-n"),
        factories.probe(True, at, probe_id="fuzz-gw"),
        factories.anomaly(True, at),
        factories.finding(True, at),
    ]


def _with_header(record: Record, name: str, value: bytes | None) -> tuple[tuple[str, bytes], ...]:
    headers = [(k, v) for k, v in record.headers if k != name]
    if value is not None:
        headers.append((name, value))
    return tuple(headers)


def _schema_invalid(rng: random.Random, record: Record) -> bytes:
    """The record's data with one required field removed or replaced by a value of the wrong shape."""
    assert record.value is not None
    data = json.loads(record.value)
    ev = decode(record.key, record.value, record.headers)
    required = [name for name, f in type(ev.data).model_fields.items() if f.is_required()]
    victim = rng.choice(required)
    if rng.random() < 0.5:
        del data[victim]
    else:
        data[victim] = rng.choice([{"nested": [1, 2]}, [[]], None]) if not isinstance(data[victim], dict | list) else 17.5
    return json.dumps(data).encode()


def malformed_records(rng: random.Random, n: int) -> list[Record]:
    """``n`` records none of which is a valid event; each kind of damage is picked at random."""
    bases = [encode(e) for e in _valid_events()]
    out: list[Record] = []
    while len(out) < n:
        base = rng.choice(bases)
        kind = rng.randrange(9)
        if kind == 0:  # random bytes, no headers at all
            rec = Record(key=rng.randbytes(rng.randrange(0, 16)) or None, value=rng.randbytes(rng.randrange(0, 300)), headers=())
        elif kind == 1:  # random headers and a random value
            headers = tuple((f"h{rng.randrange(5)}", rng.randbytes(rng.randrange(0, 20))) for _ in range(rng.randrange(4)))
            rec = Record(key=None, value=rng.randbytes(50), headers=headers)
        elif kind == 2:  # wrong specversion
            rec = Record(base.key, base.value, _with_header(base, "ce_specversion", rng.choice([b"0.3", b"2.0", b"", b"\xff"])))
        elif kind == 3:  # wrong content type
            rec = Record(base.key, base.value, _with_header(base, "content-type", rng.choice([b"text/plain", b"application/xml", b"\x00"])))
        elif kind == 4:  # bad JSON (truncated, not UTF-8, not JSON)
            assert base.value is not None
            value = rng.choice([base.value[: rng.randrange(1, len(base.value))], b"\xff\xfe" + base.value, b"{nope", b""])
            rec = Record(base.key, value, base.headers)
        elif kind == 5:  # schema-invalid data for a real type
            rec = Record(base.key, _schema_invalid(rng, base), base.headers)
        elif kind == 6:  # unknown type
            rec = Record(base.key, base.value, _with_header(base, "ce_type", f"huabei.fuzz.t{rng.randrange(1000)}".encode()))
        elif kind == 7:  # a required CloudEvents attribute missing or broken
            name = rng.choice(["ce_id", "ce_source", "ce_type", "ce_time"])
            header: bytes | None = None if rng.random() < 0.5 else rng.choice([b"", b"not-a-time", b"\xff"])
            if name != "ce_time" and header is not None:
                header = b""
            rec = Record(base.key, base.value, _with_header(base, name, header))
        else:  # data that is JSON but not an object, or a tombstone
            rec = Record(base.key, rng.choice([b"[]", b"42", b'"text"', b"null", None]), base.headers)
        try:
            decode(rec.key, rec.value, rec.headers)
        except InvalidInput:
            out.append(rec)  # only records the codec rejects count: the drill is about those
    return out


def test_generator_makes_only_records_the_codec_rejects() -> None:
    records = malformed_records(random.Random(SEED), 200)
    assert len(records) == 200
    assert len({(r.key, r.value, r.headers) for r in records}) > 100  # varied, not one record repeated


async def _read_dlq(bootstrap: str, topic: str, want: int, timeout: float) -> list[tuple[bytes | None, dict[str, bytes]]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    got: list[tuple[bytes | None, dict[str, bytes]]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < want and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for msgs in batch.values():
                got += [(m.value, dict(m.headers)) for m in msgs]
    finally:
        await consumer.stop()
    return got


@pytest.mark.slow
async def test_a_thousand_malformed_events_end_in_the_dlq_and_the_daemon_stays_healthy(
    broker: EmbeddedBroker, bus: Bus, tmp_path: Path
) -> None:
    records = malformed_records(random.Random(SEED), COUNT)
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    settings = settings_for(tmp_path, bus.topics.prefix)
    topic = bus.topics.signals
    async with running(settings, broker, ["incidents"], clock) as app:
        for i in range(0, COUNT, 100):
            await asyncio.gather(*(bus.send(topic, r) for r in records[i : i + 100]))

        dead = await _read_dlq(broker.bootstrap_servers, Topics.dlq(topic), COUNT, timeout=50)
        assert len(dead) == COUNT
        assert all(h.get("dlq_reason") and h.get("dlq_topic") == topic.encode() for _, h in dead)
        assert sorted((v or b"") for v, _ in dead) == sorted((r.value or b"") for r in records)

        status, body, _ = await get_json(app, "/healthz")
        assert status == 200, body
        status, body, _ = await get_json(app, "/readyz")
        assert status == 200, body

        good = factories.probe(True, clock.now(), probe_id="after-the-storm")
        await bus.publish(good)

        async def recorded() -> bool:
            async with app.db.engine.connect() as conn:
                rows = (await conn.execute(select(signal_log.c.event_id).where(signal_log.c.event_id == good.id))).all()
            return bool(rows)

        await eventually(recorded, timeout=30, what="the good event recorded after the malformed ones")
        runner = next(r for r, _ in app.consumers if r.group_id.endswith(".incidents"))
        assert runner.dead_lettered == COUNT
