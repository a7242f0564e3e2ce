"""The incident engine: pure state machine from signals (and the clock) to whole incidents.

No I/O: the consumer shell feeds it decoded events and ``now``, publishes what it returns on
``huabei.incidents``, stores each changed incident with its ledger (:meth:`IncidentEngine.record`),
and schedules :meth:`IncidentEngine.tick` at :meth:`IncidentEngine.next_due` (recomputed from the
stored records at start-up through :meth:`IncidentEngine.restore`, so a change that fell due while
the daemon was down applies at once). The ledger -- each source's latest state and the ids of the
events applied -- is typed state of the engine and its store, never part of the published incident.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from consumers.incidents.correlate import Evidence, apply_evidence, close, evidence_of, last_evidence_at
from consumers.incidents.ledger import IncidentRecord, Ledger, Mark, add_evidence, links_of, public_refs
from consumers.incidents.maintenance import MANUAL_CLOSE_REF, apply_maintenance
from consumers.incidents.settings import IncidentSettings
from consumers.incidents.text_zh import span
from consumers.incidents.timing import is_timed, timed_phase, with_phase
from huabei_watch.clock import to_shanghai
from huabei_watch.errors import InvalidInput
from huabei_watch.events.base import Event, EventData
from huabei_watch.events.common import HUABEI_CHANNELS, Scope
from huabei_watch.events.incidents import Incident, IncidentKind, Phase
from huabei_watch.events.signals import MaintenanceSignal

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    held: dict[str, IncidentRecord]
    seen: dict[str, str]


class UnknownIncident(InvalidInput):
    """An ops command named an incident id the engine does not hold."""


class IncidentEngine:
    """Holds incidents by id. Every public method returns the incidents it changed, each with
    ``revision`` + 1 and ``updated_at`` = now (new ones: revision 1); unchanged ones never appear.
    """

    def __init__(self, settings: IncidentSettings) -> None:
        self._settings = settings
        self._held: dict[str, IncidentRecord] = {}
        self._seen: dict[str, str] = {}  # event id -> incident id (from every ledger)

    @classmethod
    def restore(cls, settings: IncidentSettings, records: Iterable[IncidentRecord]) -> IncidentEngine:
        """An engine resuming from stored records (the latest revision of each incident wins)."""
        engine = cls(settings)
        for record in records:
            held = engine._held.get(record.incident_id)
            if held is None or record.incident.revision > held.incident.revision:
                engine._store(record)
        return engine

    # -- all or nothing ---------------------------------------------------------------------
    def checkpoint(self) -> Checkpoint:
        """The engine's state now; :meth:`rollback` returns to it (the shell's store failed, so
        the change must not live on in memory and be published later)."""
        return Checkpoint(dict(self._held), dict(self._seen))

    def rollback(self, mark: Checkpoint) -> None:
        self._held, self._seen = dict(mark.held), dict(mark.seen)

    # -- reading ---------------------------------------------------------------------------
    def get(self, incident_id: str) -> Incident | None:
        record = self._held.get(incident_id)
        return record.incident if record is not None else None

    def record(self, incident_id: str) -> IncidentRecord:
        """The incident and its ledger, as the shell stores them. Raises KeyError for an unknown id."""
        return self._held[incident_id]

    def records(self) -> tuple[IncidentRecord, ...]:
        return tuple(self._held.values())

    def incidents(self) -> tuple[Incident, ...]:
        return tuple(r.incident for r in self._held.values())

    def open_incidents(self) -> tuple[Incident, ...]:
        """Scheduled and active incidents (what the shell republishes as a heartbeat)."""
        return tuple(r.incident for r in self._held.values() if r.incident.phase.is_open)

    # -- signals ---------------------------------------------------------------------------
    def apply(self, event: Event[EventData], now: datetime) -> list[Incident]:
        """Apply one signal. Duplicates, replays of older signals and event types the engine does
        not use return []. Never raises on a well-formed event."""
        data = event.data
        if isinstance(data, MaintenanceSignal):
            if event.id in self._seen:
                return []
            drafts = apply_maintenance(data, event.type, event.time, self._held, self._settings, now)
        else:
            ev = evidence_of(event)
            if ev is None or self._is_replay(event, ev):
                return []
            draft = apply_evidence(ev, self._held, self._settings, now)
            drafts = [draft] if draft is not None else []
        changed = self._commit(drafts, now, event_id=event.id)
        for incident in changed:
            log.info("incident.changed", extra={"incident_id": incident.incident_id, "phase": incident.phase.value,
                                                "revision": incident.revision, "event_id": event.id,
                                                "event_type": event.type})
        return changed

    def _is_replay(self, event: Event[EventData], ev: Evidence) -> bool:
        # A still-down probe may resend its event (same id) with newer observations: that renews
        # the outage. Anything else seen before is a duplicate.
        return event.id in self._seen and not ev.refreshable

    # -- the clock -------------------------------------------------------------------------
    def tick(self, now: datetime) -> list[Incident]:
        """Apply every timed change due at ``now``: scheduled -> active at disable_from, active ->
        resolved at disable_until, outages with no evidence for ``outage_stale_after`` -> resolved."""
        drafts: list[IncidentRecord] = []
        for record in self._held.values():
            incident = record.incident
            if not incident.phase.is_open:
                continue
            if is_timed(incident):
                phase = timed_phase(incident.disable_from, incident.disable_until, now)
                if phase is not incident.phase:
                    drafts.append(IncidentRecord(with_phase(incident, phase, now), record.ledger))
                continue
            due = self._stale_at(record)
            if due is not None and now >= due:
                reason = f"no new evidence since {self._last(record)}"
                drafts.append(IncidentRecord(close(incident, now, reason=reason), record.ledger))
        changed = self._commit(drafts, now)
        for incident in changed:
            log.info("incident.timed", extra={"incident_id": incident.incident_id, "phase": incident.phase.value,
                                              "revision": incident.revision})
        return changed

    def next_due(self, now: datetime) -> datetime | None:
        """When :meth:`tick` has something to do next; may be <= ``now`` (call tick at once).
        None when nothing is pending."""
        times: list[datetime] = []
        for record in self._held.values():
            incident = record.incident
            if not incident.phase.is_open:
                continue
            if is_timed(incident):
                if incident.phase is Phase.SCHEDULED and incident.disable_from is not None:
                    times.append(incident.disable_from)
                elif incident.disable_until is not None:
                    times.append(incident.disable_until)
            else:
                stale = self._stale_at(record)
                if stale is not None:
                    times.append(stale)
        return min(times, default=None)

    def _stale_at(self, record: IncidentRecord) -> datetime | None:
        if record.incident.kind is not IncidentKind.OUTAGE or record.incident.manual:
            return None
        last = last_evidence_at(record.ledger)
        return None if last is None else last + self._settings.stale_after

    def _last(self, record: IncidentRecord) -> str:
        last = last_evidence_at(record.ledger)
        return to_shanghai(last).isoformat() if last else "never"

    # -- ops -------------------------------------------------------------------------------
    def open_manual(
        self,
        *,
        now: datetime,
        by: str,
        title: str,
        summary_zh: str,
        kind: IncidentKind = IncidentKind.OUTAGE,
        scope: Scope | None = None,
        channels: tuple[str, ...] = HUABEI_CHANNELS,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
        advice_zh: str = "",
        toggle: bool = True,
    ) -> Incident:
        """Open an incident by hand. It switches exactly from ``starts_at`` (default now) to
        ``ends_at`` (default: until resolved), with no lead or grace, and never goes stale."""
        start = starts_at or now
        if ends_at is not None and ends_at <= start:
            raise InvalidInput("ends_at must be after starts_at")
        base = f"manual:{to_shanghai(now).strftime('%Y%m%dT%H%M%S')}"
        incident_id, n = base, 1
        while incident_id in self._held:
            n += 1
            incident_id = f"{base}-{n}"
        incident = Incident(
            incident_id=incident_id, kind=kind, scope=scope or Scope.platform(), channels=channels,
            phase=timed_phase(start, ends_at, now), title=title,
            summary_zh=summary_zh or f"{title}：{span(start, ends_at)}", advice_zh=advice_zh,
            starts_at=start, ends_at=ends_at, disable_from=start, disable_until=ends_at,
            opened_at=now, updated_at=now, revision=1, manual=True, toggle=toggle,
            evidence=(f"{to_shanghai(now).isoformat()} opened by {by}",),
        )
        self._store(IncidentRecord(incident, Ledger(marks=(Mark("ops:opened", _who(by), now),))))
        log.info("incident.manual_opened", extra={"incident_id": incident_id, "by": by})
        return incident

    def resolve(self, incident_id: str, now: datetime, by: str) -> Incident:
        """Close an incident early (a scheduled one is cancelled). Huabei comes back at once; later
        edits of its notice do not reopen it. Resolving a closed incident returns it unchanged."""
        record = self._require(incident_id)
        incident = record.incident
        if not incident.phase.is_open:
            return incident
        ledger = record.ledger.with_mark(Mark(MANUAL_CLOSE_REF, _who(by), now))
        phase = Phase.CANCELLED if incident.phase is Phase.SCHEDULED else Phase.RESOLVED
        draft = with_phase(incident.model_copy(update={
            "refs": public_refs(links_of(incident), ledger),
            "disable_until": now if incident.disable_until is None else min(incident.disable_until, now),
            "evidence": add_evidence(incident.evidence, f"{to_shanghai(now).isoformat()} {phase.value} by {by}"),
        }), phase, now)
        log.info("incident.manual_resolved", extra={"incident_id": incident_id, "by": by})
        return self._commit([IncidentRecord(draft, ledger)], now)[0]

    def silence(self, incident_id: str, until: datetime, now: datetime) -> Incident:
        """Silence notifications of one incident until ``until`` (switching is unaffected)."""
        record = self._require(incident_id)
        if until <= now:
            raise InvalidInput("a silence must end in the future")
        if record.incident.silenced_until == until:
            return record.incident
        draft = record.incident.model_copy(update={"silenced_until": until})
        log.info("incident.silenced", extra={"incident_id": incident_id, "until": until.isoformat()})
        return self._commit([IncidentRecord(draft, record.ledger)], now)[0]

    def prune(self, closed_before: datetime) -> list[str]:
        """Forget closed incidents last changed before ``closed_before`` (the shell keeps them in
        the database). Returns the ids forgotten. Replays older than that stay harmless: stale
        outage evidence opens nothing, and windows already over create nothing."""
        gone = [r.incident_id for r in self._held.values()
                if not r.incident.phase.is_open and r.incident.updated_at < closed_before]
        for incident_id in gone:
            record = self._held.pop(incident_id)
            for event_id in record.ledger.event_ids:
                if self._seen.get(event_id) == incident_id:
                    del self._seen[event_id]
        return gone

    # -- internals -------------------------------------------------------------------------
    def _require(self, incident_id: str) -> IncidentRecord:
        record = self._held.get(incident_id)
        if record is None:
            raise UnknownIncident(f"no incident {incident_id!r}")
        return record

    def _commit(self, drafts: list[IncidentRecord], now: datetime, *, event_id: str | None = None) -> list[Incident]:
        """Store the drafts that change something (the incident, or a source's mark) as the next
        revision; returns the new revisions."""
        changed: list[Incident] = []
        for draft in drafts:
            old = self._held.get(draft.incident_id)
            if old is not None and draft.incident == old.incident and draft.ledger.marks == old.ledger.marks:
                continue
            ledger = draft.ledger.with_event(event_id) if event_id is not None else draft.ledger
            if old is None:
                final = draft.incident.model_copy(update={"revision": 1, "opened_at": now, "updated_at": now})
            else:
                final = draft.incident.model_copy(update={"revision": old.incident.revision + 1, "updated_at": now})
            self._store(IncidentRecord(final, ledger))
            changed.append(final)
        return changed

    def _store(self, record: IncidentRecord) -> None:
        old = self._held.get(record.incident_id)
        if old is not None:
            for event_id in old.ledger.event_ids:
                if self._seen.get(event_id) == record.incident_id:
                    del self._seen[event_id]
        self._held[record.incident_id] = record
        for event_id in record.ledger.event_ids:
            self._seen[event_id] = record.incident_id


def _who(by: str) -> str:
    """``by`` made safe for a ledger mark (no ``=`` or ``@``)."""
    return by.replace("=", "_").replace("@", "_") or "ops"
