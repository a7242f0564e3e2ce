"""Maintenance windows from notices -> one incident per window.

Incident ids: ``maint:<notice_id>`` for the first window of a notice, ``maint:<notice_id>:<i>`` for
window ``i`` > 0, so a notice and its later edits address the same incidents. The notice id is the
notice's identity across sources (its canonical page URL, else title and windows), so the same
notice seen on a list page and in a feed, or by several watchers, is one set of incidents.

Only edits move incidents that exist: a ``maintenance.scheduled`` is a source's first sighting of
a notice, and when the notice already has incidents (another source saw it first) it changes
nothing -- a feed that lags behind an edit the list page showed cannot put the old window back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from consumers.incidents.ledger import IncidentRecord, Ledger, Mark, add_evidence, links_of, public_refs
from consumers.incidents.settings import IncidentSettings
from consumers.incidents.text_zh import maintenance_text
from consumers.incidents.timing import timed_phase, with_phase
from huabei_watch.events.common import HUABEI_CHANNELS, Scope, Window
from huabei_watch.events.incidents import Incident, IncidentKind, Phase
from huabei_watch.events.signals import MAINTENANCE_CANCELLED, MAINTENANCE_SCHEDULED, MaintenanceSignal

MANUAL_CLOSE_REF = "ops:resolved"
_CLOSED_STATUSES = frozenset({"cancelled", "postponed"})


def window_incident_id(notice_id: str, index: int) -> str:
    return f"maint:{notice_id}" if index == 0 else f"maint:{notice_id}:{index}"


def huabei_channels(signal: MaintenanceSignal, window: Window) -> tuple[str, ...]:
    """The Huabei channels a window disables: named ones, or all of them when Huabei is affected
    through a broader service (the notice names no Huabei channel)."""
    named = window.channels or signal.channels
    chosen = tuple(c for c in HUABEI_CHANNELS if c in named)
    if not chosen and signal.huabei_affected:
        return HUABEI_CHANNELS
    return chosen


def unavailable_channels(signal: MaintenanceSignal, window: Window | None, old: Incident | None) -> tuple[str, ...]:
    """Every pay channel a window takes down (the window's own, else the notice's), Huabei's or
    not: a bank's debit-card window is no Huabei incident, yet no shopper should be sent there."""
    if window is None:
        return old.unavailable_channels if old is not None else ()
    return tuple(window.channels or signal.channels)


def _notice_incidents(notice_id: str, held: Mapping[str, IncidentRecord]) -> dict[int, IncidentRecord]:
    found: dict[int, IncidentRecord] = {}
    first = held.get(window_incident_id(notice_id, 0))
    if first is not None:
        found[0] = first
    prefix = f"maint:{notice_id}:"
    for incident_id, record in held.items():
        tail = incident_id[len(prefix):] if incident_id.startswith(prefix) else ""
        if tail.isdigit() and int(tail) > 0:
            found[int(tail)] = record
    return found


def is_older(signal_time: datetime, notice_ref: str, existing: Mapping[int, IncidentRecord]) -> bool:
    """True when an incident of this notice already reflects a newer signal (a replay)."""
    for record in existing.values():
        mark = record.ledger.mark(notice_ref)
        if mark is not None and mark.as_of > signal_time:
            return True
    return False


def apply_maintenance(
    signal: MaintenanceSignal,
    event_type: str,
    signal_time: datetime,
    held: Mapping[str, IncidentRecord],
    settings: IncidentSettings,
    now: datetime,
) -> list[IncidentRecord]:
    """Drafts of the incidents this signal creates or changes (revision and updated_at untouched).

    Ordered by ``signal_time``: a signal older than one already applied to the notice returns [].
    """
    notice_ref = f"notice:{signal.notice_id}"
    existing = _notice_incidents(signal.notice_id, held)
    if is_older(signal_time, notice_ref, existing):
        return []
    if event_type == MAINTENANCE_SCHEDULED and existing:
        return []  # another source's first sighting: what it says was known, or is older than an edit
    cancelled_all = event_type == MAINTENANCE_CANCELLED
    drafts: list[IncidentRecord] = []
    if not signal.windows and not cancelled_all:
        # An edit that dropped the times ("另行通知"): do not guess, stop toggling and ask for review.
        for record in existing.values():
            incident = record.incident
            if incident.phase.is_open:
                ledger = record.ledger.with_mark(Mark(notice_ref, "review", signal_time))
                drafts.append(IncidentRecord(incident.model_copy(update={
                    "toggle": False, "needs_review": True, "refs": public_refs(links_of(incident), ledger),
                    "evidence": add_evidence(incident.evidence, f"notice {signal.notice_id} revision "
                                             f"{signal.revision}: windows removed, needs review"),
                }), ledger))
        return drafts
    for index in sorted(set(existing) | set(range(len(signal.windows)))):
        old = existing.get(index)
        window = signal.windows[index] if index < len(signal.windows) else None
        cancelled = cancelled_all or window is None or window.status in _CLOSED_STATUSES
        if old is None and (cancelled or window is None):
            continue  # never seen and already off: nothing to tell anyone
        draft = _window_draft(signal, index, window, old, cancelled, signal_time, settings, now)
        if draft is not None:
            drafts.append(draft)
    return drafts


def _window_draft(
    signal: MaintenanceSignal,
    index: int,
    window: Window | None,
    record: IncidentRecord | None,
    cancelled: bool,
    signal_time: datetime,
    settings: IncidentSettings,
    now: datetime,
) -> IncidentRecord | None:
    notice_ref = f"notice:{signal.notice_id}"
    old = record.incident if record is not None else None
    ledger = record.ledger if record is not None else Ledger()
    links = links_of(old) if old is not None else ((signal.url,) if signal.url else ())
    manually_closed = ledger.mark(MANUAL_CLOSE_REF) is not None
    ledger = ledger.with_mark(Mark(notice_ref, "cancelled" if cancelled else "scheduled", signal_time))
    if window is None:
        assert old is not None
        start, end, end_known = old.starts_at or now, old.ends_at or now, True
    else:
        start = window.start
        end_known = window.end is not None
        end = window.end if window.end is not None else window.start + settings.default_duration
    toggle = signal.huabei_affected and not signal.needs_review
    needs_review = signal.needs_review or not end_known
    disable_from, disable_until = start - settings.lead, end + settings.grace
    if cancelled:
        phase = Phase.CANCELLED
    elif manually_closed and old is not None:
        phase = old.phase  # ops closed it by hand: a later edit does not reopen it
    else:
        phase = timed_phase(disable_from, disable_until, now)
    title, summary = maintenance_text(
        start=start, end=end if end_known else None, toggle=toggle,
        huabei_affected=signal.huabei_affected, cancelled=cancelled,
    )
    line = (f"notice {signal.notice_id} revision {signal.revision}: "
            f"{'cancelled' if cancelled else 'window'} {start.isoformat()} - "
            f"{end.isoformat() if end_known else 'end unknown'}")
    fields: dict[str, Any] = {
        "scope": Scope.platform(),
        "channels": huabei_channels(signal, window) if window is not None else (old.channels if old else ()),
        "unavailable_channels": unavailable_channels(signal, window, old),
        "title": title,
        "summary_zh": summary,
        "starts_at": start,
        "ends_at": end,
        "disable_from": disable_from,
        "disable_until": disable_until,
        "refs": public_refs(links, ledger),
        "needs_review": needs_review,
        "toggle": toggle,
    }
    if old is None:
        if not phase.is_open:
            return None  # a window already over when first seen: nothing to switch or tell
        return IncidentRecord(with_phase(Incident(
            incident_id=window_incident_id(signal.notice_id, index),
            kind=IncidentKind.MAINTENANCE, phase=Phase.SCHEDULED, opened_at=now, updated_at=now,
            revision=1, evidence=(line,), **fields,
        ), phase, now), ledger)
    draft = with_phase(old.model_copy(update=fields), phase, now)
    if draft.model_dump(exclude={"refs"}) == old.model_dump(exclude={"refs"}):
        return None  # same windows again (re-poll, replica, cosmetic edit): not a change
    return IncidentRecord(draft.model_copy(update={"evidence": add_evidence(old.evidence, line)}), ledger)
