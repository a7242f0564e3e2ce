"""The event contract: CloudEvents binary mode on Kafka, typed data, deterministic ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from huabei_watch.bus.kafka import Bus
from huabei_watch.errors import InvalidInput
from huabei_watch.events import (
    PAYMENT_RESULTS,
    REGISTRY,
    Event,
    EventData,
    HealthChange,
    PaymentResultBatch,
    decode,
    encode,
)
from huabei_watch.events.schema import write_schemas
from tests.samples import NOW, sample_data, sample_events


def test_every_event_type_has_a_sample() -> None:
    assert set(sample_data()) == set(REGISTRY)


@pytest.mark.parametrize("event", sample_events(), ids=lambda e: e.type)
def test_encode_decode_round_trip_is_lossless(event: Event[EventData]) -> None:
    record = encode(event)
    headers = dict(record.headers)
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_type"] == event.type.encode()
    assert headers["content-type"] == b"application/json"
    assert record.key == event.key.encode()
    assert decode(record.key, record.value, list(record.headers)) == event


def test_ce_time_is_sent_in_shanghai_time_as_documented_whatever_zone_the_event_was_built_in() -> None:
    at = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # what the daemon's clock gives: UTC
    event: Event[EventData] = Event.build("huabei.health.down", HealthChange(probe_id="p", target="x", since=at), time=at)
    record = encode(event)
    assert dict(record.headers)["ce_time"] == b"2026-11-26T10:00:00+08:00"
    decoded = decode(record.key, record.value, list(record.headers))
    assert decoded.time == at and decoded.id == event.id


@pytest.mark.parametrize("event", sample_events(), ids=lambda e: e.type)
def test_the_record_value_is_the_json_made_once_when_the_event_was_built(event: Event[EventData]) -> None:
    record = encode(event)
    assert event.data_json is not None
    assert record.value == event.data_json == event.data.model_dump_json().encode()
    decoded = decode(record.key, record.value, list(record.headers))
    assert decoded.data_json is None and encode(decoded).value == record.value


def test_a_payment_batch_sent_again_with_other_json_spacing_has_the_same_event_id() -> None:
    batch = next(e.data for e in sample_events() if isinstance(e.data, PaymentResultBatch))
    spaced = json.dumps(json.loads(batch.model_dump_json()), indent=2).encode()
    again = PaymentResultBatch.model_validate_json(spaced)
    other = batch.model_copy(update={"results": batch.results[:1]})
    ids = [Event.build(PAYMENT_RESULTS, b, time=NOW).id for b in (batch, again, other)]
    assert ids[0] == ids[1] != ids[2]


def test_same_observation_gives_same_id_and_different_observation_a_different_one() -> None:
    a = HealthChange(probe_id="p", target="t", since=NOW)
    b = HealthChange(probe_id="p", target="t", since=NOW)
    c = HealthChange(probe_id="p", target="t", since=NOW.replace(minute=1))
    ea = Event.build("huabei.health.down", a, time=NOW)
    eb = Event.build("huabei.health.down", b, time=NOW.replace(second=30))
    ec = Event.build("huabei.health.down", c, time=NOW)
    assert ea.id == eb.id
    assert ea.id != ec.id
    assert ea.id != Event.build("huabei.health.up", a, time=NOW).id


def test_building_an_event_under_a_foreign_type_is_refused() -> None:
    with pytest.raises(ValueError, match="not published as"):
        Event.build("huabei.incident.opened", HealthChange(probe_id="p", target="t", since=NOW), time=NOW)


@pytest.mark.parametrize(
    ("headers", "value", "reason"),
    [
        ([], b"{}", "ce_specversion is missing"),
        ([("ce_specversion", b"0.3")], b"{}", "unsupported CloudEvents specversion"),
        (
            [("ce_specversion", b"1.0"), ("ce_id", b"x"), ("ce_source", b"s"), ("ce_type", b"huabei.nope"), ("ce_time", b"2026-01-01T00:00:00Z")],
            b"{}",
            "unknown event type",
        ),
        (
            [("ce_specversion", b"1.0"), ("ce_id", b"x"), ("ce_source", b"s"), ("ce_type", b"huabei.health.down"), ("ce_time", b"2026-01-01T00:00:00Z")],
            b"{not json",
            "not valid JSON",
        ),
        (
            [("ce_specversion", b"1.0"), ("ce_id", b"x"), ("ce_source", b"s"), ("ce_type", b"huabei.health.down"), ("ce_time", b"2026-01-01T00:00:00Z")],
            b'{"probe_id": 5}',
            "is invalid at",
        ),
        (
            [("ce_specversion", b"1.0"), ("ce_type", b"huabei.health.down")],
            b"{}",
            "invalid CloudEvent attributes",
        ),
        ([("ce_specversion", b"1.0"), ("content-type", b"text/plain")], b"x", "unsupported content-type"),
        ([("ce_specversion", b"1.0")], None, "tombstone"),
    ],
)
def test_malformed_records_are_rejected_with_a_reason(headers: list[tuple[str, bytes]], value: bytes | None, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        decode(b"k", value, headers)


async def test_every_event_type_round_trips_through_the_broker(bus: Bus) -> None:
    events = sample_events()
    for ev in events:
        await bus.publish(ev)
    topics = sorted({bus.topics.for_logical(type(e.data).TOPIC) for e in events})
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bus.bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    got: list[Event[EventData]] = []
    try:
        while len(got) < len(events):
            batch = await consumer.getmany(timeout_ms=10_000)
            assert batch, "no records within 10 s"
            for msgs in batch.values():
                got += [decode(m.key, m.value, m.headers) for m in msgs]
    finally:
        await consumer.stop()
    assert sorted(got, key=lambda e: e.id) == sorted(events, key=lambda e: e.id)


def test_schema_is_written_for_every_event_type(tmp_path: Path) -> None:
    paths = write_schemas(tmp_path)
    assert {p.name.removesuffix(".schema.json") for p in paths} == set(REGISTRY)
    schema = json.loads((tmp_path / "huabei.incident.updated.schema.json").read_text("utf-8"))
    assert schema["x-topic"] == "huabei.incidents"
    assert "incident_id" in schema["properties"]
    assert "phase" in schema["required"]


@pytest.mark.parametrize("event", sample_events(), ids=lambda e: e.type)
def test_fast_decode_and_the_cloudevents_library_agree(event: Event[EventData]) -> None:
    """decode() skips building a cloudevents object for well-formed records; both paths must give
    the same event (the library path is what any malformed record still goes through)."""
    from huabei_watch.events import codec

    record = encode(event)
    hdrs = dict(record.headers)
    fast = codec._decode_common(record.key, record.value or b"", hdrs)
    assert fast is not None and fast == event
    hdrs["ce_id"] = "编号".encode()  # not ASCII: the fast path declines, the library decides
    assert codec._decode_common(record.key, record.value or b"", hdrs) is None
    assert decode(record.key, record.value, list(hdrs.items())).id == "编号"
