"""Incidents for cashier tests, built directly from the contract model."""

from __future__ import annotations

from datetime import datetime, timedelta

from huabei_watch.clock import SHANGHAI
from huabei_watch.events import HUABEI_CHANNELS, Incident, IncidentKind, Phase, Scope

START = datetime(2026, 11, 28, 2, 0, tzinfo=SHANGHAI)
END = datetime(2026, 11, 28, 4, 0, tzinfo=SHANGHAI)
LEAD = GRACE = timedelta(minutes=5)


def maintenance_incident(*, phase: Phase = Phase.ACTIVE, toggle: bool = True, incident_id: str = "maint:n1",
                         scope: Scope | None = None) -> Incident:
    return Incident(
        incident_id=incident_id, kind=IncidentKind.MAINTENANCE, scope=scope or Scope.platform(),
        channels=HUABEI_CHANNELS, phase=phase, starts_at=START, ends_at=END,
        disable_from=START - LEAD, disable_until=END + GRACE, opened_at=START - timedelta(days=1),
        updated_at=START - LEAD, revision=2, toggle=toggle,
    )


def outage_incident(at: datetime, *, phase: Phase = Phase.ACTIVE, incident_id: str = "outage:platform:x",
                    resolved_at: datetime | None = None) -> Incident:
    return Incident(
        incident_id=incident_id, kind=IncidentKind.OUTAGE, channels=HUABEI_CHANNELS, phase=phase,
        starts_at=at, disable_from=at, disable_until=resolved_at, opened_at=at, updated_at=resolved_at or at,
        resolved_at=resolved_at, revision=1 if resolved_at is None else 2,
    )
