"""Engine bookkeeping stored inside ``Incident.refs`` so that an incident snapshot is all a restart needs.

``refs`` holds three kinds of entries:

* marks ``<ref>=<state>@<iso time>`` -- the latest known state of one source of the incident
  (``probe:gw=down@2026-11-28T02:00:00+08:00``, ``notice:123=scheduled@...``, ``ops:resolved=alice@...``);
* ``event:<id>`` -- ids of the last :data:`MAX_EVENT_IDS` events that changed the incident;
* anything else, kept as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

EVENT_PREFIX = "event:"
MAX_EVENT_IDS = 32
MAX_EVIDENCE = 20


@dataclass(frozen=True, slots=True)
class Mark:
    """The latest state of one source: ``ref`` (``probe:<id>``...), ``state`` and when it was true."""

    ref: str
    state: str
    as_of: datetime

    def encode(self) -> str:
        return f"{self.ref}={self.state}@{self.as_of.isoformat()}"

    @classmethod
    def decode(cls, text: str) -> Mark | None:
        """Parse an encoded mark; None if ``text`` is not one (a plain ref)."""
        head, at, stamp = text.rpartition("@")
        if not at:
            return None
        ref, eq, state = head.rpartition("=")
        if not eq or not ref or not state:
            return None
        try:
            as_of = datetime.fromisoformat(stamp)
        except ValueError:
            return None
        if as_of.tzinfo is None:
            return None
        return cls(ref=ref, state=state, as_of=as_of)


@dataclass(frozen=True, slots=True)
class Ledger:
    marks: tuple[Mark, ...] = ()
    event_ids: tuple[str, ...] = ()
    other: tuple[str, ...] = ()

    @classmethod
    def parse(cls, refs: Iterable[str]) -> Ledger:
        marks: list[Mark] = []
        events: list[str] = []
        other: list[str] = []
        for text in refs:
            if text.startswith(EVENT_PREFIX):
                events.append(text[len(EVENT_PREFIX):])
                continue
            mark = Mark.decode(text)
            if mark is None:
                other.append(text)
            else:
                marks.append(mark)
        return cls(marks=tuple(marks), event_ids=tuple(events), other=tuple(other))

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

    def refs(self) -> tuple[str, ...]:
        return (
            *self.other,
            *(m.encode() for m in self.marks),
            *(EVENT_PREFIX + e for e in self.event_ids),
        )


def add_evidence(evidence: tuple[str, ...], line: str) -> tuple[str, ...]:
    """Append one evidence line, keeping the last :data:`MAX_EVIDENCE` (no exact repeats in a row)."""
    if evidence and evidence[-1] == line:
        return evidence
    return (*evidence, line)[-MAX_EVIDENCE:]
