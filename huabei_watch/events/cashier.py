"""Cashier policy changes. Topic ``<prefix>.cashier.changes``, key: merchant id."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, Field

from huabei_watch.events.base import EventData, register

CASHIER_CHANGED = "huabei.cashier.changed"


@register
class CashierChange(EventData):
    """Huabei was switched off or on at one merchant's cashier (the audit record)."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = (CASHIER_CHANGED,)
    TOPIC: ClassVar[str] = "cashier_changes"
    PRODUCERS: ClassVar[tuple[str, ...]] = ("cashier",)
    DESCRIPTION: ClassVar[str] = "Huabei switched off or on at one merchant's cashier, with the reason."

    merchant_id: str
    before: tuple[str, ...] = Field(description="disable_pay_channels before")
    after: tuple[str, ...] = Field(description="disable_pay_channels after")
    reason: str
    incident_ids: tuple[str, ...] = ()
    at: AwareDatetime
    until: AwareDatetime | None = Field(default=None, description="Expiry of an 'off': back on by itself then")
    version: int = Field(ge=1)

    def kafka_key(self) -> str:
        return self.merchant_id

    def identity(self) -> str:
        return f"{self.merchant_id}|{self.version}"

    def subject(self) -> str:
        return self.merchant_id
