"""Timed phases: what phase a timed incident (maintenance or manual) is in at ``now``."""

from __future__ import annotations

from datetime import datetime

from huabei_watch.events.incidents import Incident, IncidentKind, Phase


def is_timed(incident: Incident) -> bool:
    """Timed incidents change phase by the clock alone (maintenance windows, manual incidents)."""
    return incident.kind is IncidentKind.MAINTENANCE or incident.manual


def timed_phase(disable_from: datetime | None, disable_until: datetime | None, now: datetime) -> Phase:
    """scheduled before ``disable_from``, active inside, resolved from ``disable_until`` on."""
    if disable_until is not None and now >= disable_until:
        return Phase.RESOLVED
    if disable_from is None or now >= disable_from:
        return Phase.ACTIVE
    return Phase.SCHEDULED


def with_phase(incident: Incident, phase: Phase, now: datetime) -> Incident:
    """The incident in ``phase``; ``resolved_at`` set when it closes and cleared when it reopens."""
    if phase is incident.phase:
        return incident
    resolved_at = None if phase.is_open else (incident.resolved_at or now)
    return incident.model_copy(update={"phase": phase, "resolved_at": resolved_at})
