"""Signals: what the watcher observed. Topic ``<prefix>.signals``."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from huabei_watch.events.base import EventData, register
from huabei_watch.events.common import Cause, Frozen, Scope, Window

ANNOUNCEMENT_PUBLISHED = "huabei.announcement.published"
MAINTENANCE_SCHEDULED = "huabei.maintenance.scheduled"
MAINTENANCE_UPDATED = "huabei.maintenance.updated"
MAINTENANCE_CANCELLED = "huabei.maintenance.cancelled"
HEALTH_DOWN = "huabei.health.down"
HEALTH_UP = "huabei.health.up"
PAYMENTS_ANOMALY = "huabei.payments.anomaly"
SOURCE_DEGRADED = "huabei.source.degraded"
SOURCE_RECOVERED = "huabei.source.recovered"
MERCHANT_FINDING = "huabei.merchant.finding"


@register
class AnnouncementPublished(EventData):
    """A new or edited notice on a watched announcement source."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = (ANNOUNCEMENT_PUBLISHED,)
    DESCRIPTION: ClassVar[str] = "A new or edited platform notice (title, url, text, what it is about)."

    source_id: str
    notice_id: str = Field(description="Stable id of the notice within its source (from its URL or guid)")
    url: str
    title: str
    text: str = Field(description="Plain text of the notice body, at most 20,000 characters")
    published_at: AwareDatetime | None = None
    revision: str = Field(description="Hash of the notice content; changes when the notice is edited")
    edited: bool = False
    kind: str = Field(default="other", description="maintenance | outage | recovery | interface | fee_policy | other")

    def kafka_key(self) -> str:
        return f"notice:{self.notice_id}"

    def identity(self) -> str:
        return f"{self.source_id}|{self.notice_id}|{self.revision}"

    def subject(self) -> str:
        return self.notice_id


@register
class MaintenanceSignal(EventData):
    """Maintenance windows understood from a notice."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = (MAINTENANCE_SCHEDULED, MAINTENANCE_UPDATED, MAINTENANCE_CANCELLED)
    DESCRIPTION: ClassVar[str] = "Maintenance windows understood from a notice: scheduled, changed or cancelled."

    source_id: str
    notice_id: str
    url: str
    title: str
    revision: str
    windows: tuple[Window, ...] = ()
    channels: tuple[str, ...] = Field(default=(), description="Alipay pay-channel codes affected, e.g. pcredit")
    products: tuple[str, ...] = Field(default=(), description="Products named in the notice, e.g. 花呗")
    huabei_affected: bool = False
    confidence: float = Field(ge=0.0, le=1.0, default=0.0)
    needs_review: bool = False
    published_at: AwareDatetime | None = None

    def kafka_key(self) -> str:
        return f"notice:{self.notice_id}"

    def identity(self) -> str:
        return f"{self.source_id}|{self.notice_id}|{self.revision}"

    def subject(self) -> str:
        return self.notice_id


class ProbeObservation(Frozen):
    at: AwareDatetime
    ok: bool
    latency_ms: float | None = None
    detail: str = ""


@register
class HealthChange(EventData):
    """A health probe crossed its threshold (down) or its recovery threshold (up)."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = (HEALTH_DOWN, HEALTH_UP)
    DESCRIPTION: ClassVar[str] = "A health probe changed state, with the last results as evidence."

    probe_id: str
    target: str = Field(description="What was probed (URL, host:port, DNS name)")
    scope: Scope = Scope()
    channels: tuple[str, ...] = ()
    since: AwareDatetime = Field(description="When the new state began (first result of the streak)")
    evidence: tuple[ProbeObservation, ...] = ()

    def kafka_key(self) -> str:
        return f"probe:{self.probe_id}"

    def identity(self) -> str:
        return f"{self.probe_id}|{self.since.isoformat()}"

    def subject(self) -> str:
        return self.probe_id


@register
class PaymentAnomaly(EventData):
    """Windowed payment results crossed (raised) or fell back under (cleared) a threshold."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = (PAYMENTS_ANOMALY,)
    DESCRIPTION: ClassVar[str] = "Payment failures of one cause crossed or left a threshold, with counts as evidence."

    anomaly_id: str = Field(description="Stable id: 'platform:pcredit' or 'merchant:<id>:<cause>'")
    state: Literal["raised", "cleared"]
    cause: Cause
    scope: Scope = Scope()
    channel: str
    window_start: AwareDatetime
    window_end: AwareDatetime
    total: int = 0
    failures: int = 0
    merchants: int = Field(default=0, description="Merchants with failures of this cause in the window")
    counts_by_code: dict[str, int] = Field(default_factory=dict)
    advice_zh: str = ""
    explanation: str = ""

    def kafka_key(self) -> str:
        return f"anomaly:{self.anomaly_id}"

    def identity(self) -> str:
        return f"{self.anomaly_id}|{self.state}|{self.window_end.isoformat()}"

    def subject(self) -> str:
        return self.anomaly_id


@register
class SourceStatus(EventData):
    """An announcement source or probe target stopped (degraded) or resumed (recovered) working."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = (SOURCE_DEGRADED, SOURCE_RECOVERED)
    DESCRIPTION: ClassVar[str] = "A watched source failed repeatedly or came back (for ops)."

    source_id: str
    url: str = ""
    reason: str = ""
    since: AwareDatetime
    consecutive_failures: int = 0

    def kafka_key(self) -> str:
        return f"source:{self.source_id}"

    def identity(self) -> str:
        return f"{self.source_id}|{self.since.isoformat()}"

    def subject(self) -> str:
        return self.source_id


@register
class MerchantFinding(EventData):
    """A problem found at one merchant (account state, integration) or its clearance.

    Origins: a synthetic pre-order probe, the merchant's payment results, the plugin version table
    or an interface-change notice.
    """

    EVENT_TYPES: ClassVar[tuple[str, ...]] = (MERCHANT_FINDING,)
    DESCRIPTION: ClassVar[str] = "A merchant-specific problem (account or integration) raised or cleared."

    finding_id: str = Field(description="Stable id, e.g. 'precreate:<merchant>' or 'plugin:<merchant>:<notice>'")
    merchant_id: str
    state: Literal["raised", "cleared"]
    origin: Literal["precreate", "payments", "plugin", "notice", "manual"]
    cause: Cause
    code: str = ""
    sub_code: str = ""
    advice_zh: str = ""
    explanation: str = ""
    deadline: AwareDatetime | None = None
    observed_at: AwareDatetime
    audience: Literal["merchant", "ops"] = Field(
        default="merchant",
        description="'ops' when the fault is on our side (our keys, a proxy): only ops are told",
    )

    def kafka_key(self) -> str:
        return f"merchant:{self.merchant_id}"

    def identity(self) -> str:
        return f"{self.finding_id}|{self.state}|{self.observed_at.isoformat()}"

    def subject(self) -> str:
        return self.merchant_id
