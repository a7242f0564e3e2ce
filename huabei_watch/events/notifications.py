"""Notification outcomes. Topic ``<prefix>.notifications``, key: recipient."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, Field

from huabei_watch.events.base import EventData, register

NOTIFICATION_SENT = "huabei.notification.sent"
NOTIFICATION_FAILED = "huabei.notification.failed"


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
