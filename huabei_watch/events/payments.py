"""Payment results streamed in by a platform. Topic ``<prefix>.payments.results``, key: merchant id."""

from __future__ import annotations

import hashlib
from typing import ClassVar

from pydantic import AwareDatetime, Field, model_validator

from huabei_watch.events.base import EventData, register
from huabei_watch.events.common import Frozen

PAYMENT_RESULTS = "huabei.payments.results"


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
        if not self.success and not (self.code or self.sub_code or self.transport_error):
            raise ValueError("a failed result needs code, sub_code or transport_error")
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
        """The merchant and a hash of the whole batch as JSON: a retried request (same results)
        has the same identity; hashed from the JSON the record carries, not serialised again."""
        return f"{self.merchant_id}|{hashlib.sha256(data_json).hexdigest()}"

    def subject(self) -> str:
        return self.merchant_id
