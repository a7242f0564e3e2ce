"""What the ingest publishes: the request body as received, signed, with an id over its bytes.

The HTTP ingest validates a batch into plain typed dicts (:data:`BATCH_JSON`) and, when the body
fits one record, publishes the body itself as a :class:`PreparedEvent` whose id hashes it (round
``pay9``); a larger batch is split into parts of normalised JSON. These tests pin what a consumer
and the replay check see: the same results as the model reads them, a signature that refuses an
altered record, the same id for the same request, and the normalised parts being what the model
writes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import astuple
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from huabei_watch.bus.kafka import MessageContext
from huabei_watch.clock import ManualClock
from huabei_watch.events import PAYMENT_RESULTS, Event, PaymentResultBatch, decode, encode
from huabei_watch.events.auth import PrivateKey, Signer, SigningKey, Unauthenticated, Verifier
from huabei_watch.events.base import PreparedEvent, event_id, producers
from huabei_watch.events.codec import headers_dict
from huabei_watch.events.payments import BATCH_JSON, BATCH_VALIDATOR
from tests.fakes.bus import RecordingPublisher
from watcher.payments.ingest import Rejected, VerifiedBatch, signed_headers, verify_request
from watcher.payments.pipeline import KafkaSink, PaymentPipeline, split_to_fit
from watcher.payments.settings import DetectionSettings
from watcher.payments.signing import parse_batch

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


def accepted(body: bytes, at: datetime = NOW) -> VerifiedBatch:
    return verify_request(signed_headers("m1", SECRETS["m1"], body, at), body, secret_for=SECRETS.get, now=at)


class PreparedPublisher:
    """Keeps the prepared events the sink publishes, as they are (before any encoding)."""

    def __init__(self) -> None:
        self.events: list[PreparedEvent] = []

    async def publish(self, event: Event[Any] | PreparedEvent) -> None:
        assert isinstance(event, PreparedEvent)
        self.events.append(event)


@pytest.mark.parametrize("body", [CANONICAL, *SAME_CONTENT.values()])
async def test_a_batch_that_fits_one_record_is_published_as_received_with_its_id_over_those_bytes(body: bytes) -> None:
    publisher = PreparedPublisher()
    await KafkaSink(publisher, ManualClock(NOW)).accept(accepted(body))
    [event] = publisher.events
    assert encode(event).value == body
    assert event.id == event_id(PAYMENT_RESULTS, f"m1|{hashlib.sha256(body).hexdigest()}")
    decoded = decode(*astuple(encode(event)))
    assert decoded.id == event.id and decoded.key == "m1"
    assert decoded.data == PaymentResultBatch.model_validate_json(CANONICAL)  # what a consumer reads is unchanged


async def test_the_record_made_of_a_received_body_is_verified_and_an_altered_one_refused() -> None:
    """Signed as the watcher signs (v2, over the SHA-256 of the value): the consumer's Verifier
    accepts it; a changed result, one more space or another merchant's key id is refused."""
    publisher = PreparedPublisher()
    await KafkaSink(publisher, ManualClock(NOW)).accept(accepted(SAME_CONTENT["indented"]))
    record = encode(publisher.events[0])
    assert record.value is not None
    key = PrivateKey.generate()
    signer = Signer([SigningKey("watcher", key)])
    headers = headers_dict(signer.sign("watcher", record.headers, record.value))
    # the Bus hands the signer the digest the event id was made from: the same signature
    assert publisher.events[0].data_sha256 == hashlib.sha256(record.value).digest()
    assert headers == headers_dict(signer.sign("watcher", record.headers, record.value,
                                               value_sha256=publisher.events[0].data_sha256))
    verifier = Verifier({"watcher": [key.verify_key]}, producers())
    assert verifier.verify(headers, record.value) == "watcher"
    changed = record.value.replace(b"ACQ.SYSTEM_ERROR", b"ACQ.TRADE_HAS_CLOSE")
    for value, hdrs in ((changed, headers), (record.value + b" ", headers),
                        (record.value, headers | {"ce_id": b"0" * 32})):
        with pytest.raises(Unauthenticated):
            verifier.verify(hdrs, value)


async def test_the_same_request_retried_has_the_same_id_and_is_counted_once() -> None:
    """A retry after a lost answer, past the handler's memory of accepted requests (a new
    timestamp, so a new HMAC signature) but with the same body: the same event id, and the detector
    counts the second as a replay."""
    publisher = RecordingPublisher()
    sink = KafkaSink(publisher, ManualClock(NOW))
    for at in (NOW, NOW + timedelta(minutes=1), NOW + timedelta(minutes=2)):
        await sink.accept(accepted(SAME_CONTENT["indented"], at))
    pipeline = PaymentPipeline(publisher, ManualClock(NOW), DetectionSettings())
    for offset, event in enumerate(publisher.events):
        await pipeline.handle(event, MessageContext("huabei.payments.results", 0, offset, 1, NOW))
    assert len({e.id for e in publisher.events}) == 1
    assert (pipeline.results_consumed, pipeline.replays) == (len(RESULTS), 2)


async def test_the_same_results_sent_in_other_bytes_are_another_batch() -> None:
    """The decision of round ``pay9``: the id hashes the bytes as received, not a normalised form,
    so the same results re-serialised with other spacing or key order are a new batch."""
    publisher = PreparedPublisher()
    sink = KafkaSink(publisher, ManualClock(NOW))
    for body in (CANONICAL, SAME_CONTENT["indented"], SAME_CONTENT["keys-reversed"]):
        await sink.accept(accepted(body))
    assert len({e.id for e in publisher.events}) == 3


async def test_a_body_too_large_for_one_record_goes_as_normalised_parts_the_same_every_time() -> None:
    body = json.dumps({"merchant_id": "m1", "results": RESULTS * 40}, indent=2).encode()
    ids = []
    for at in (NOW, NOW + timedelta(minutes=1)):
        publisher = PreparedPublisher()
        await KafkaSink(publisher, ManualClock(NOW), max_bytes=4_000).accept(accepted(body, at))
        parts = [event.data_json for event in publisher.events]
        assert len(parts) > 1 and all(len(p) <= 4_000 for p in parts)
        assert all(p == PaymentResultBatch.model_validate_json(p).model_dump_json().encode() for p in parts)
        assert sum(len(PaymentResultBatch.model_validate_json(p).results) for p in parts) == len(RESULTS) * 40
        ids.append([event.id for event in publisher.events])
    assert ids[0] == ids[1]


def _halved(batch: VerifiedBatch, max_bytes: int) -> list[bytes]:
    """The parts as the split made them before round ``perf16``: the whole batch's normalised JSON,
    halved by result count (each half written again) until every part fits."""
    data = batch.to_json()
    if len(data) <= max_bytes or len(batch.results) == 1:
        return [data]
    half = len(batch.results) // 2
    return [*_halved(VerifiedBatch(batch.merchant_id, batch.results[:half]), max_bytes),
            *_halved(VerifiedBatch(batch.merchant_id, batch.results[half:]), max_bytes)]


@pytest.mark.parametrize("max_bytes", [200, 700, 1_500, 4_000, 10_000, 1_000_000])
def test_a_split_writes_each_result_once_into_the_same_parts_as_halving_the_whole_json(max_bytes: int) -> None:
    """Round ``perf16``: the defaults filled in once, each result written once and the parts
    joined from them: byte for byte the parts (so the event ids) that halving the whole normalised
    JSON gives, for a merchant id and texts that JSON escapes or writes as UTF-8, a part of one result over the bound
    included (at 200 bytes every part is one result over the bound)."""
    merchant = 'm1-商户"\\\t'
    results = [{**r, "merchant_id": merchant, "sub_msg": f"系统繁忙 \"{i}\"\n"} if "sub_msg" in r else {**r, "merchant_id": merchant}
               for i, r in enumerate(RESULTS * 7)]
    body = json.dumps({"merchant_id": merchant, "results": results}, ensure_ascii=True).encode()
    batch = parse_batch(merchant, body)
    parts = split_to_fit(batch, max_bytes)
    assert [data for _, data in parts] == _halved(batch, max_bytes)
    assert [data for _, data in parts] == [part.to_json() for part, _ in parts]
    assert [r for part, _ in parts for r in part.results] == BATCH_JSON.validate_python(
        {"merchant_id": merchant, "results": batch.results})["results"]
    assert (len(parts) > 1) == (len(batch.to_json()) > max_bytes)


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


def _result(**fields: Any) -> dict[str, Any]:
    return {"merchant_id": "m1", "at": "2026-11-11T10:00:00Z", "success": True, **fields}


def _batch(*results: dict[str, Any], merchant: Any = "m1") -> bytes:
    return json.dumps({"merchant_id": merchant, "results": list(results)}).encode()


#: Documents accepted and refused, for every field: what the ingest's validator must read as the
#: adapter does (the same errors, the same data once the defaults are filled in).
VALIDATOR_CORPUS = [
    CANONICAL, *SAME_CONTENT.values(),
    b'{"merchant_id": "m1", "results": []}', b'{"merchant_id": "m1", "results": [{', b"", b"[]", b"null", b'"m1"',
    b'{"merchant_id": "m1", "results": [{"merchant_id": "m1", "at": "2026-11-11T10:00:00", "success": 1, "x": 2}]}',
    b'{"merchant_id": "m1"}', b'{"results": [{"merchant_id": "m1", "at": "2026-11-11T10:00:00Z", "success": true}]}',
    b'{"merchant_id": "m1", "results": {}}', b'{"merchant_id": "m1", "results": [], "extra": 1}',
    _batch(merchant=7), _batch(merchant=None), _batch(_result(), merchant="m2"), _batch(_result(merchant_id="m2")),
    _batch(_result(merchant_id="")), _batch(_result(merchant_id="m" * 65)), _batch({"at": "2026-11-11T10:00:00Z", "success": True}),
    _batch(_result(at="2026-11-11T10:00:00")), _batch(_result(at="yesterday")), _batch(_result(at=1_762_855_200)),
    _batch(_result(at="2026-11-11")), _batch({"merchant_id": "m1", "success": True}),
    _batch(_result(success="true")), _batch(_result(success="yes please")), _batch(_result(success=0)),
    _batch(_result(success=None)), _batch({"merchant_id": "m1", "at": "2026-11-11T10:00:00Z"}),
    *(_batch(_result(**{name: value})) for name, bound in (("channel", 64), ("code", 64), ("sub_code", 128),
      ("sub_msg", 512), ("transport_error", 64), ("plugin", 128), ("trade_no", 64))
      for value in ("", "x" * bound, "x" * (bound + 1), "系" * bound, 5, None, ["x"])),
    _batch(_result(success=False)), _batch(_result(success=False, code="")),
    _batch(_result(success=False, code="40004")), _batch(_result(success=False, sub_code="ACQ.SYSTEM_ERROR")),
    _batch(_result(success=False, transport_error="timeout")), _batch(_result(colour="red")),
    _batch(*[_result(trade_no=f"T{i}", success=i % 3 != 0, code="" if i % 3 else "40004") for i in range(40)]),
    _batch(_result(), _result(at="2026-11-11T10:00:00"), _result(success="no", colour="red"), _result(code="x" * 65)),
]


@pytest.mark.parametrize("body", VALIDATOR_CORPUS)
def test_the_ingest_validator_accepts_and_refuses_what_the_adapter_does_with_the_same_errors(body: bytes) -> None:
    """:data:`BATCH_VALIDATOR` (the same schema without the string cache and without defaults)
    refuses exactly what :data:`BATCH_JSON` refuses, with the same errors (type, place, message:
    the 400's reason is made of them), and what it accepts is :data:`BATCH_JSON`'s data with the
    optional fields the sender left out not filled in."""
    def outcome(validate: Any) -> Any:
        try:
            return validate(body)
        except ValidationError as exc:
            return [(e["type"], e["loc"], e["msg"]) for e in exc.errors()]
    ingest, adapter = outcome(BATCH_VALIDATOR.validate_json), outcome(BATCH_JSON.validate_json)
    if isinstance(adapter, list):
        assert ingest == adapter
        return
    assert BATCH_JSON.validate_python(ingest) == adapter
    sent = json.loads(body)["results"]
    assert [set(r) for r in ingest["results"]] == [set(r) for r in sent]


@pytest.mark.parametrize("body", VALIDATOR_CORPUS)
def test_the_ingest_takes_what_the_model_takes_and_writes_what_the_model_writes(body: bytes) -> None:
    """Every document of the corpus: accepted by the ingest (signed by m1) exactly when the model
    accepts it and names only m1, and then normalised to the model's own JSON."""
    try:
        model: PaymentResultBatch | None = PaymentResultBatch.model_validate_json(body)
    except ValueError:
        model = None
    try:
        got = verified(body)
    except Rejected as exc:
        assert exc.status == (403 if model is not None else 400)
        return
    assert model is not None and got == model.model_dump_json().encode()
