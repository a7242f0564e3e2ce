"""Notification outcomes. Topic ``<prefix>.notifications``, key: recipient (a batch: its incident)."""

from __future__ import annotations

import hashlib
from typing import ClassVar

from pydantic import AwareDatetime, Field

from huabei_watch.events.base import EventData, register

NOTIFICATION_SENT = "huabei.notification.sent"
NOTIFICATION_FAILED = "huabei.notification.failed"
NOTIFICATION_SENT_BATCH = "huabei.notification.sent.batch"


@register
class NotificationResult(EventData):
    """One message to one recipient on one channel was delivered, or finally failed."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = (NOTIFICATION_SENT, NOTIFICATION_FAILED)
    TOPIC: ClassVar[str] = "notifications"
    PRODUCERS: ClassVar[tuple[str, ...]] = ("notify",)
    DESCRIPTION: ClassVar[str] = "A message was delivered to a merchant or ops, or failed for good."

    dedupe_key: str = Field(description="(recipient, incident, phase, channel): at most one message each, ever")
    recipient: str = Field(description="Merchant id, or 'ops'")
    incident_ids: tuple[str, ...] = ()
    phase: str
    channel: str
    attempts: int = 1
    error: str = ""
    at: AwareDatetime

    def kafka_key(self) -> str:
        return self.recipient

    def identity(self) -> str:
        return self.dedupe_key

    def subject(self) -> str:
        return self.recipient


@register
class NotificationResultBatch(EventData):
    """Several messages delivered by one step of the fan-out: one entry per recipient and channel,
    each exactly what a ``huabei.notification.sent`` event would carry (failures are never batched:
    each is its own ``huabei.notification.failed``)."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = (NOTIFICATION_SENT_BATCH,)
    TOPIC: ClassVar[str] = "notifications"
    PRODUCERS: ClassVar[tuple[str, ...]] = ("notify",)
    MAX_BYTES: ClassVar[int] = 900 * 1024
    DESCRIPTION: ClassVar[str] = ("Messages delivered in one batch of a fan-out; one entry per recipient and channel, "
                                  "as in huabei.notification.sent.")

    results: tuple[NotificationResult, ...] = Field(min_length=1, max_length=1000)

    def kafka_key(self) -> str:
        first = self.results[0]
        return first.incident_ids[0] if first.incident_ids else first.recipient

    def identity(self) -> str:
        keys = "\n".join(r.dedupe_key for r in self.results)
        return hashlib.sha256(keys.encode("utf-8")).hexdigest()[:32]

    def subject(self) -> str:
        return self.kafka_key()
