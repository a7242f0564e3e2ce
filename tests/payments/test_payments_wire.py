"""The ingest's fast path writes what the model path would: same record, same event id.

The HTTP ingest validates a batch into plain typed dicts (:data:`BATCH_JSON`) and publishes its
normalised JSON as a :class:`PreparedEvent`, never building a :class:`PaymentResultBatch`. These
tests pin that this changes nothing a consumer or the replay check can see.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from huabei_watch.bus.kafka import MessageContext
from huabei_watch.clock import ManualClock
from huabei_watch.events import PAYMENT_RESULTS, Event, PaymentResultBatch, encode
from huabei_watch.events.payments import BATCH_JSON, BATCH_VALIDATOR
from tests.fakes.bus import RecordingPublisher
from watcher.payments.ingest import Rejected, signed_headers, verify_request
from watcher.payments.pipeline import KafkaSink, PaymentPipeline
from watcher.payments.settings import DetectionSettings

NOW = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)
SECRETS = {"m1": "s3cret-m1"}

RESULTS: list[dict[str, Any]] = [
    {"merchant_id": "m1", "at": "2026-11-11T09:59:00+08:00", "success": True, "plugin": "woo-alipay/3.2.1"},
    {"merchant_id": "m1", "at": "2026-11-11T01:59:30Z", "channel": "pcreditpayInstallment", "success": False,
     "code": "40004", "sub_code": "ACQ.SYSTEM_ERROR", "sub_msg": "系统繁忙", "trade_no": "T1"},
    {"merchant_id": "m1", "at": "2026-11-11T01:59:31.250+00:00", "success": False, "transport_error": "timeout"},
]
CANONICAL = json.dumps({"merchant_id": "m1", "results": RESULTS}).encode()

#: The same batch as other senders may write it: spacing, key order, defaults written out.
SAME_CONTENT = {
    "compact": json.dumps({"merchant_id": "m1", "results": RESULTS}, separators=(",", ":")).encode(),
    "indented": json.dumps({"merchant_id": "m1", "results": RESULTS}, indent=4, ensure_ascii=False).encode(),
    "keys-reversed": json.dumps({"results": [dict(reversed(r.items())) for r in RESULTS], "merchant_id": "m1"}).encode(),
    "defaults-written-out": json.dumps({"merchant_id": "m1", "results": [
        {"channel": "pcredit", "code": "", "sub_code": "", "sub_msg": "", "transport_error": "", "plugin": "",
         "trade_no": "", **r} for r in RESULTS]}).encode(),
    "unicode-escaped": json.dumps({"merchant_id": "m1", "results": RESULTS}, ensure_ascii=True).encode(),
}


def verified(body: bytes) -> bytes:
    return verify_request(signed_headers("m1", SECRETS["m1"], body, NOW), body, secret_for=SECRETS.get, now=NOW).to_json()


@pytest.mark.parametrize("name", sorted(SAME_CONTENT))
def test_the_same_results_in_other_spacing_key_order_or_with_defaults_written_out_normalise_to_the_same_bytes(name: str) -> None:
    assert verified(SAME_CONTENT[name]) == verified(CANONICAL)


@pytest.mark.parametrize("body", [CANONICAL, *SAME_CONTENT.values()])
def test_the_normalised_json_is_what_the_model_writes(body: bytes) -> None:
    assert verified(body) == PaymentResultBatch.model_validate_json(body).model_dump_json().encode()


def test_a_prepared_batch_is_the_record_event_build_makes_of_the_model() -> None:
    model = PaymentResultBatch.model_validate_json(CANONICAL)
    built = encode(Event.build(PAYMENT_RESULTS, model, time=NOW))
    prepared = encode(PaymentResultBatch.prepare("m1", verified(CANONICAL), time=NOW))
    assert prepared == built


def test_a_changed_result_is_a_different_batch() -> None:
    changed = CANONICAL.replace(b"ACQ.SYSTEM_ERROR", b"ACQ.TRADE_HAS_CLOSE")
    ids = {PaymentResultBatch.prepare("m1", verified(b), time=NOW).id for b in (CANONICAL, changed)}
    assert len(ids) == 2


async def test_a_batch_resent_with_other_spacing_and_key_order_is_counted_once() -> None:
    """Two requests (different bytes, so different HMAC signatures: the handler's memory of
    accepted requests does not catch the second) carrying the same results get one event id, and
    the detector counts the second as a replay."""
    publisher = RecordingPublisher()
    sink = KafkaSink(publisher, ManualClock(NOW))
    for body in (CANONICAL, SAME_CONTENT["indented"], SAME_CONTENT["keys-reversed"]):
        await sink.accept(verify_request(signed_headers("m1", SECRETS["m1"], body, NOW), body,
                                         secret_for=SECRETS.get, now=NOW))
    pipeline = PaymentPipeline(publisher, ManualClock(NOW), DetectionSettings())
    for offset, event in enumerate(publisher.events):
        await pipeline.handle(event, MessageContext("huabei.payments.results", 0, offset, 1, NOW))
    assert len({e.id for e in publisher.events}) == 1
    assert (pipeline.results_consumed, pipeline.replays) == (len(RESULTS), 2)


@pytest.mark.parametrize(
    "results",
    [
        [{"merchant_id": "m1", "at": "2026-11-11T10:00:00+08:00", "success": False}],
        [{"merchant_id": "m1", "at": "2026-11-11T10:00:00", "success": True}],
        [{"merchant_id": "m1", "at": "2026-11-11T10:00:00Z", "success": True, "colour": "red"}],
        [{"merchant_id": "m1", "at": "2026-11-11T10:00:00Z", "success": "yes please"}],
        [{"merchant_id": "m1", "at": "2026-11-11T10:00:00Z", "success": True, "code": "x" * 65}],
        [{"merchant_id": "", "at": "2026-11-11T10:00:00Z", "success": True}],
        [{"at": "2026-11-11T10:00:00Z", "success": True}],
        [],
    ],
    ids=["failure-without-reason", "naive-time", "unknown-field", "not-a-bool", "code-too-long", "empty-merchant",
         "no-merchant", "no-results"],
)
def test_what_the_model_refuses_the_ingest_refuses(results: list[dict[str, Any]]) -> None:
    body = json.dumps({"merchant_id": "m1", "results": results}).encode()
    with pytest.raises(ValueError):
        PaymentResultBatch.model_validate_json(body)
    with pytest.raises(Rejected) as info:
        verified(body)
    assert info.value.status == 400


def _shape(schema: dict[str, Any]) -> Any:
    """A JSON schema without titles and descriptions (the two views document themselves apart)."""
    if isinstance(schema, dict):
        return {k: _shape(v) for k, v in schema.items() if k not in ("title", "description")}
    if isinstance(schema, list):
        return [_shape(v) for v in schema]
    return schema


def test_the_typed_dicts_and_the_models_declare_the_same_schema() -> None:
    dicts, models = BATCH_JSON.json_schema(), PaymentResultBatch.model_json_schema()
    assert _shape(dicts["$defs"]["PaymentResultDict"]) == _shape(models["$defs"]["PaymentResult"])
    assert _shape(dicts["properties"]["merchant_id"]) == _shape(models["properties"]["merchant_id"])
    assert (_shape(dicts["properties"]["results"])["minItems"], dicts["required"]) == (1, models["required"])


@pytest.mark.parametrize(
    "body",
    [CANONICAL, *SAME_CONTENT.values(), b'{"merchant_id": "m1", "results": []}', b'{"merchant_id": "m1", "results": [{',
     b'{"merchant_id": "m1", "results": [{"merchant_id": "m1", "at": "2026-11-11T10:00:00", "success": 1, "x": 2}]}'],
)
def test_the_ingest_validator_without_a_string_cache_reads_what_the_adapter_reads(body: bytes) -> None:
    """:data:`BATCH_VALIDATOR` (no string cache) returns the same dicts and the same errors as
    :data:`BATCH_JSON`, whose schema it shares."""
    def outcome(validate: Any) -> Any:
        try:
            return validate(body)
        except ValidationError as exc:
            return [(e["type"], e["loc"]) for e in exc.errors()]
    assert outcome(BATCH_VALIDATOR.validate_json) == outcome(BATCH_JSON.validate_json)
