"""A large record is signed on a worker thread (``SIGN_ON_THREAD_BYTES``): the record on the topic
is the one signing on the event loop makes, and consumers verify it as before."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from huabei_watch.bus.kafka import SIGN_ON_THREAD_BYTES, Bus
from huabei_watch.events import PaymentResultBatch, Record, encode
from huabei_watch.events.codec import headers_dict
from huabei_watch.events.payments import BATCH_JSON
from tests.foundation.test_consumer_runner import read_all
from tests.support import fixed_keyring

NOW = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)


def batch_json(results: int) -> bytes:
    doc = {"merchant_id": "m1", "results": [
        {"merchant_id": "m1", "at": f"2026-11-11T01:{i // 60 % 60:02d}:{i % 60:02d}Z", "success": True, "trade_no": f"T{i}"}
        for i in range(results)]}
    return BATCH_JSON.dump_json(BATCH_JSON.validate_json(json.dumps(doc)))


@pytest.mark.parametrize("on_thread", [True, False], ids=["large-on-a-thread", "all-on-the-loop"])
async def test_a_large_batch_signed_off_the_event_loop_is_the_sealed_record_and_verifies(bus: Bus, on_thread: bool) -> None:
    if not on_thread:
        bus.sign_on_thread_bytes = None
    small, large = batch_json(2), batch_json(400)
    assert len(small) < SIGN_ON_THREAD_BYTES <= len(large)
    events = [PaymentResultBatch.prepare("m1", data, time=NOW) for data in (small, large)]
    for event in events:
        await bus.publish(event)
    records = await read_all(bus, bus.topics.payment_results, 2)
    by_value = {r.value: r for r in records}
    verifier = fixed_keyring().verifier
    assert verifier is not None
    for event in events:
        plain = encode(event)
        assert bus.signer is not None and plain.value is not None
        # Ed25519 is deterministic: the same bytes signed by the same key give the same signature.
        sealed = Record(plain.key, plain.value, bus.signer.sign("watcher", plain.headers, plain.value))
        got = by_value[sealed.value]
        assert (got.key, headers_dict(got.headers)) == (sealed.key, headers_dict(sealed.headers))
        assert verifier.verify(headers_dict(got.headers), got.value or b"") == "watcher"
