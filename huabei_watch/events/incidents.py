"""Incidents (whole snapshots, level-triggered). Topic ``<prefix>.incidents``, key: incident id."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field

from huabei_watch.events.base import EventData, register
from huabei_watch.events.common import Scope

INCIDENT_OPENED = "huabei.incident.opened"
INCIDENT_UPDATED = "huabei.incident.updated"
INCIDENT_RESOLVED = "huabei.incident.resolved"
INCIDENT_CANCELLED = "huabei.incident.cancelled"


class IncidentKind(StrEnum):
    MAINTENANCE = "maintenance"
    OUTAGE = "outage"
    MERCHANT_ACCOUNT = "merchant_account"
    INTEGRATION = "integration"


class Phase(StrEnum):
    SCHEDULED = "scheduled"
    ACTIVE = "active"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        return self in (Phase.SCHEDULED, Phase.ACTIVE)


@register
class Incident(EventData):
    """The whole incident as the engine believes it now. A later revision replaces an earlier one."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = (
        INCIDENT_OPENED,
        INCIDENT_UPDATED,
        INCIDENT_RESOLVED,
        INCIDENT_CANCELLED,
    )
    TOPIC: ClassVar[str] = "incidents"
    PRODUCERS: ClassVar[tuple[str, ...]] = ("incidents",)
    DESCRIPTION: ClassVar[str] = "The full state of one incident at each change (level-triggered)."

    incident_id: str
    kind: IncidentKind
    scope: Scope = Scope()
    channels: tuple[str, ...] = Field(default=(), description="Pay-channel codes this incident disables")
    unavailable_channels: tuple[str, ...] = Field(
        default=(),
        description="Every pay channel an announced maintenance window takes down, Huabei's or not (bank and "
                    "clearing maintenance included): while it lasts the cashier offers none of them as a fallback",
    )
    phase: Phase
    title: str = ""
    summary_zh: str = Field(default="", description="One line for merchants, in Chinese")
    advice_zh: str = ""
    starts_at: AwareDatetime | None = Field(default=None, description="Window start (maintenance) or first evidence")
    ends_at: AwareDatetime | None = Field(default=None, description="Expected end as announced, if known")
    disable_from: AwareDatetime | None = Field(default=None, description="When Huabei goes off (start - lead)")
    disable_until: AwareDatetime | None = Field(default=None, description="When Huabei comes back (end + grace)")
    opened_at: AwareDatetime
    updated_at: AwareDatetime
    resolved_at: AwareDatetime | None = None
    revision: int = Field(ge=1, description="Increases by one at every change")
    refs: tuple[str, ...] = Field(
        default=(),
        description="Source references only: what this incident was built from, in the order the sources "
        "joined it: notice URLs, notice:<id>, probe:<id>, anomaly:<id>, finding:<id>. What each source said "
        "is in evidence",
    )
    evidence: tuple[str, ...] = ()
    needs_review: bool = False
    silenced_until: AwareDatetime | None = None
    manual: bool = False
    toggle: bool = Field(default=True, description="False: notify only, never switch Huabei (e.g. needs review)")

    def kafka_key(self) -> str:
        return self.incident_id

    def identity(self) -> str:
        return f"{self.incident_id}|{self.revision}"

    def subject(self) -> str:
        return self.incident_id
