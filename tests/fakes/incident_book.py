"""An in-memory double of the cashier store's incident bookkeeping (``note_incident`` /
``heard_incidents``): the incidents as the cashier last heard them, forgotten when not heard again
(fail open). For pure tests of the engine and the policy together.

The incident consumer re-publishes every open incident periodically (``incidents.republish_every``,
well under ``cashier.off_ttl``). An incident not heard again within ``off_ttl`` drops out of
:meth:`IncidentBook.current`, so if the incident stream goes silent the desired state empties and
the reconciler lets Huabei come back on, even if the cashier keeps reconciling on its own timer.
"""

from __future__ import annotations

from datetime import datetime

from consumers.cashier.settings import CashierSettings
from huabei_watch.events.incidents import Incident


class IncidentBook:
    """Latest revision of each incident with when it was last heard. Pure, not thread-safe."""

    def __init__(self, settings: CashierSettings) -> None:
        self._ttl = settings.ttl
        self._held: dict[str, tuple[Incident, datetime]] = {}

    def note(self, incident: Incident, received_at: datetime) -> bool:
        """Record an incident event. An older revision than the one held is ignored (False); the same
        revision again (a re-publication) only refreshes when it was heard."""
        held = self._held.get(incident.incident_id)
        if held is not None and incident.revision < held[0].revision:
            return False
        self._held[incident.incident_id] = (incident, received_at)
        return True

    def current(self, now: datetime) -> tuple[Incident, ...]:
        """Incidents heard within ``off_ttl`` of ``now`` (closed ones included: they disable nothing)."""
        return tuple(i for i, heard in self._held.values() if now - heard < self._ttl)

    def forget_stale(self, now: datetime) -> list[str]:
        """Drop incidents not heard within ``off_ttl``; returns their ids."""
        gone = [k for k, (_, heard) in self._held.items() if now - heard >= self._ttl]
        for key in gone:
            del self._held[key]
        return gone
