"""The engine's bookkeeping about each incident: typed state, never published.

* :class:`Mark` -- the latest known state of one source of the incident (``probe:gw`` down as of
  02:00, ``notice:123`` scheduled as of its revision's time, ``ops:resolved`` by alice);
* event ids -- the last :data:`MAX_EVENT_IDS` events that changed the incident, so a redelivered
  signal changes nothing.

An :class:`IncidentRecord` pairs the public :class:`~huabei_watch.events.incidents.Incident` with
its :class:`Ledger`; the incidents store keeps both (tables ``incidents``, ``incident_marks`` and
``incident_events``) and the engine is restored from them. The public ``Incident.refs`` carry only
source references (:func:`public_refs`): URLs, ``notice:<id>``, ``probe:<id>``, ``anomaly:<id>``,
``finding:<id>``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from huabei_watch.events.incidents import Incident

MAX_EVENT_IDS = 32
MAX_EVIDENCE = 20
#: Marks of these refs name a source; ``ops:`` marks record what ops did and are not published.
SOURCE_REF_PREFIXES = ("notice:", "probe:", "anomaly:", "finding:")


@dataclass(frozen=True, slots=True)
class Mark:
    """The latest state of one source: ``ref`` (``probe:<id>``...), ``state`` and when it was true."""

    ref: str
    state: str
    as_of: datetime


@dataclass(frozen=True, slots=True)
class Ledger:
    """Marks in the order their refs first appeared, and the ids of the last events applied."""

    marks: tuple[Mark, ...] = ()
    event_ids: tuple[str, ...] = ()

    def mark(self, ref: str) -> Mark | None:
        for m in self.marks:
            if m.ref == ref:
                return m
        return None

    def with_mark(self, mark: Mark) -> Ledger:
        """Replace the mark of the same ref in place, or append it."""
        if self.mark(mark.ref) is None:
            return replace(self, marks=(*self.marks, mark))
        return replace(self, marks=tuple(mark if m.ref == mark.ref else m for m in self.marks))

    def with_event(self, event_id: str) -> Ledger:
        if event_id in self.event_ids:
            return self
        return replace(self, event_ids=(*self.event_ids, event_id)[-MAX_EVENT_IDS:])

    def source_marks(self, *prefixes: str) -> tuple[Mark, ...]:
        return tuple(m for m in self.marks if m.ref.startswith(prefixes))


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """An incident as published and the engine's ledger of it."""

    incident: Incident
    ledger: Ledger

    @property
    def incident_id(self) -> str:
        return self.incident.incident_id


def public_refs(links: tuple[str, ...], ledger: Ledger) -> tuple[str, ...]:
    """What ``Incident.refs`` says the incident was built from: ``links`` (e.g. the notice's URL),
    then the ref of every source mark, in the order the sources appeared."""
    return (*links, *(m.ref for m in ledger.source_marks(*SOURCE_REF_PREFIXES) if m.ref not in links))


def links_of(incident: Incident) -> tuple[str, ...]:
    """The refs of ``incident`` that are not source marks (URLs)."""
    return tuple(r for r in incident.refs if not r.startswith(SOURCE_REF_PREFIXES))


def add_evidence(evidence: tuple[str, ...], line: str) -> tuple[str, ...]:
    """Append one evidence line, keeping the last :data:`MAX_EVIDENCE` (no exact repeats in a row)."""
    if evidence and evidence[-1] == line:
        return evidence
    return (*evidence, line)[-MAX_EVIDENCE:]
