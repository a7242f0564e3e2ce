"""Payment results streamed in by a platform. Topic ``<prefix>.payments.results``, key: merchant id.

Two views of one schema: :class:`PaymentResultBatch` (frozen models, what consumers decode) and
:class:`PaymentResultBatchDict` (plain typed dicts, what the HTTP ingest validates a batch into in
one pydantic-core call, without building a model per result, and serialises back as
:data:`BATCH_JSON` writes it when a batch must be split: each result once with :data:`RESULT_JSON`,
joined in the batch's frame). Both accept the same documents and write the same
compact JSON, byte for byte (pinned by ``tests/payments/test_payments_wire.py``).

A batch's event id hashes its record value, the JSON as published: the request body as received
for a batch the HTTP ingest takes in one record (a retry of the same request has the same id), the
normalised JSON otherwise. Round ``pay9`` (bench/README.md) chose the received body over the
normalised JSON: serialising it again cost 9-11 ms of CPU per 10,000 results.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any, ClassVar, NotRequired

from pydantic import AwareDatetime, ConfigDict, Field, TypeAdapter, model_validator, with_config
from pydantic_core import CoreConfig, SchemaValidator
from typing_extensions import TypedDict

from huabei_watch.events.base import SPEC_SOURCE, EventData, PreparedEvent, event_id, register
from huabei_watch.events.common import Frozen

PAYMENT_RESULTS = "huabei.payments.results"
FAILURE_NEEDS_A_REASON = "a failed result needs code, sub_code or transport_error"


def reason_missing(success: bool, code: str, sub_code: str, transport_error: str) -> bool:
    """The one rule beyond field types: a failed result names why (a code or a transport error)."""
    return not success and not (code or sub_code or transport_error)


class PaymentResult(Frozen):
    """One payment attempt's outcome as the merchant saw it."""

    merchant_id: str = Field(min_length=1, max_length=64)
    at: AwareDatetime
    channel: str = Field(default="pcredit", max_length=64)
    success: bool
    code: str = Field(default="", max_length=64, description="Alipay code, e.g. 40004 or ACQ.SYSTEM_ERROR")
    sub_code: str = Field(default="", max_length=128)
    sub_msg: str = Field(default="", max_length=512)
    transport_error: str = Field(default="", max_length=64, description="timeout | connection_reset | ...")
    plugin: str = Field(default="", max_length=128, description="Cashier plugin and version, e.g. 'woo-alipay/3.2.1'")
    trade_no: str = Field(default="", max_length=64)

    @model_validator(mode="after")
    def _failure_has_reason(self) -> PaymentResult:
        if reason_missing(self.success, self.code, self.sub_code, self.transport_error):
            raise ValueError(FAILURE_NEEDS_A_REASON)
        return self


@register
class PaymentResultBatch(EventData):
    """A batch of payment results for one merchant."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = (PAYMENT_RESULTS,)
    TOPIC: ClassVar[str] = "payment_results"
    OUTSIDE_PRODUCERS: ClassVar[bool] = True
    #: Under the producer's 1 MB request limit with room for headers (bigger batches are split).
    MAX_BYTES: ClassVar[int] = 900 * 1024
    DESCRIPTION: ClassVar[str] = "Payment results from a merchant's cashier (input for diagnosis)."

    merchant_id: str
    results: tuple[PaymentResult, ...] = Field(min_length=1)

    def kafka_key(self) -> str:
        return self.merchant_id

    def identity(self) -> str:
        return self.identity_of(self.model_dump_json().encode())

    def identity_of(self, data_json: bytes) -> str:
        """The merchant and a hash of the whole batch as JSON, the record value: a retried request
        (the same bytes) has the same identity; hashed from the JSON the record carries, not
        serialised again."""
        return batch_identity(self.merchant_id, data_json)

    def subject(self) -> str:
        return self.merchant_id

    @staticmethod
    def prepare(merchant_id: str, data_json: bytes, *, time: datetime) -> PreparedEvent:
        """The event of the validated batch whose JSON is ``data_json``, the record value as it
        is (the request body as received, or the normalised JSON), without building the models.
        For normalised JSON (as :data:`BATCH_JSON` or ``model_dump_json`` writes it) it is what
        ``Event.build(PAYMENT_RESULTS, batch, time=time)`` makes: same id, key, subject and value."""
        digest = hashlib.sha256(data_json).digest()
        return PreparedEvent(
            model=PaymentResultBatch, id=event_id(PAYMENT_RESULTS, _identity(merchant_id, digest)),
            type=PAYMENT_RESULTS, source=SPEC_SOURCE, time=time, key=merchant_id, subject=merchant_id,
            data_json=data_json, data_sha256=digest,
        )


def batch_identity(merchant_id: str, data_json: bytes) -> str:
    """Identity of a batch: its merchant and the SHA-256 of its record value (the JSON as published:
    the request body as received, or the normalised JSON of a split part), so the same request
    retried is the same batch. (Before round ``pay9`` every batch was normalised first, so the same
    results sent with other whitespace or key order were one batch; now they are two.)"""
    return _identity(merchant_id, hashlib.sha256(data_json).digest())


def _identity(merchant_id: str, value_sha256: bytes) -> str:
    return f"{merchant_id}|{value_sha256.hex()}"


@with_config(ConfigDict(extra="forbid"))
class PaymentResultDict(TypedDict):
    """:class:`PaymentResult` as a plain dict (same fields, order, bounds and defaults; the
    failure-reason rule is checked by the caller with :func:`reason_missing`)."""

    merchant_id: Annotated[str, Field(min_length=1, max_length=64)]
    at: AwareDatetime
    channel: NotRequired[Annotated[str, Field(default="pcredit", max_length=64)]]
    success: bool
    code: NotRequired[Annotated[str, Field(default="", max_length=64)]]
    sub_code: NotRequired[Annotated[str, Field(default="", max_length=128)]]
    sub_msg: NotRequired[Annotated[str, Field(default="", max_length=512)]]
    transport_error: NotRequired[Annotated[str, Field(default="", max_length=64)]]
    plugin: NotRequired[Annotated[str, Field(default="", max_length=128)]]
    trade_no: NotRequired[Annotated[str, Field(default="", max_length=64)]]


@with_config(ConfigDict(extra="forbid"))
class PaymentResultBatchDict(TypedDict):
    """:class:`PaymentResultBatch` as a plain dict."""

    merchant_id: str
    results: Annotated[list[PaymentResultDict], Field(min_length=1)]


#: Validates a batch's JSON into :class:`PaymentResultBatchDict` (defaults filled in) in one call,
#: and writes one back as the compact JSON ``PaymentResultBatch.model_dump_json`` would.
BATCH_JSON: TypeAdapter[PaymentResultBatchDict] = TypeAdapter(PaymentResultBatchDict)

#: One result of a :data:`BATCH_JSON` batch written alone: the same bytes it has inside the batch's
#: JSON (pinned by ``tests/payments/test_payments_wire.py``), so a batch split into parts writes
#: each result once and joins them between the batch's frame (:func:`batch_json_frame`).
RESULT_JSON: TypeAdapter[PaymentResultDict] = TypeAdapter(PaymentResultDict)


def batch_json_frame(merchant_id: str) -> tuple[bytes, bytes]:
    """What :data:`BATCH_JSON` writes for a batch of ``merchant_id`` before its first result and
    after its last one; between them go the results as :data:`RESULT_JSON` writes them, joined by
    commas."""
    empty = BATCH_JSON.dump_json({"merchant_id": merchant_id, "results": []})
    return empty[:-2], empty[-2:]

def _without_defaults(schema: Any) -> Any:
    """``schema`` (a pydantic-core schema) with every ``default`` wrapper replaced by the schema it
    wraps: an optional field then stays optional, with the same checks when present, and is left out
    of the result when absent instead of being filled in."""
    if isinstance(schema, dict):
        if schema.get("type") == "default":
            return _without_defaults(schema["schema"])
        return {k: _without_defaults(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_without_defaults(v) for v in schema]
    return schema


#: The ingest's validation: :data:`BATCH_JSON`'s schema (the same documents accepted, the same
#: errors) with two settings of its own. No string cache: a batch's strings (times, trade numbers)
#: hardly repeat, and caching them cost 2-3 ms of the 20-23 ms it takes to validate 10,000 results
#: (round ``payments8``). No defaults: an optional field the sender left out stays out of the dict
#: (read it with ``.get(name, default)``, or validate with :data:`BATCH_JSON` to fill them in, as
#: :meth:`~watcher.payments.signing.VerifiedBatch.to_json` does), which saves the copying of up to
#: six defaults per result on every batch (round ``pay10``). A TypedDict's own config cannot carry
#: these settings (they apply to a whole validator), hence a validator of its own.
BATCH_VALIDATOR = SchemaValidator(_without_defaults(BATCH_JSON.core_schema), CoreConfig(cache_strings=False))
