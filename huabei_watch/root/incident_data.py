"""One incident's timeline, read from every role's tables (selects only).

Entries: the incident opening, each phase or window change (``incident_changes``), each switch
change naming it (``cashier_audit``), and the messages sent for it (``notification_deliveries``,
keys ``recipient|incident|phase|channel``), counted by channel and outcome. Evidence lines come
from the incident itself. Missing tables read as empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from consumers.cashier.store import audit
from consumers.incidents.store import incident_changes
from consumers.notify.delivery import UNCONFIRMED_REASON
from consumers.notify.store import notification_deliveries
from huabei_watch.db.engine import Database
from huabei_watch.events import Incident
from huabei_watch.root import reads
from huabei_watch.root.templates import shanghai

#: At most this many switch changes and messages are listed (counts cover every message).
LIST_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of the timeline. ``what``: ``opened``, ``phase``, ``switch``, ``message``."""

    at: datetime
    what: str
    text: str
    state: str = ""


@dataclass(frozen=True, slots=True)
class IncidentTimeline:
    incident: Incident
    entries: tuple[Entry, ...]
    messages: tuple[tuple[str, str, int], ...]  # (channel, outcome, count)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def outcome_of(state: str, attempts: int, last_error: str) -> str:
    if state == "sent":
        return "retried" if attempts > 1 else "sent"  # attempts counts provider tries, the last one included
    if state == "failed":
        return "unconfirmed" if last_error == UNCONFIRMED_REASON else "failed"
    return {"retry": "retried", "in_flight": "pending"}.get(state, state)


async def _changes(conn: AsyncConnection, incident_id: str) -> list[Entry]:
    c = incident_changes.c
    rows = (await conn.execute(select(incident_changes).where(c.incident_id == incident_id).order_by(c.revision))).mappings()
    out = []
    for r in rows:
        window = ""
        if r["starts_at"] is not None:
            window = f" {shanghai(r['starts_at'])} → {shanghai(r['ends_at'])}"
        review = "（待复核）" if r["needs_review"] else ""
        out.append(Entry(_aware(r["at"]), "phase", f"rev {r['revision']}: {r['phase']}{window}{review}", r["phase"]))
    return out


async def _switches(conn: AsyncConnection, inc: Incident, now: datetime) -> list[Entry]:
    a = audit.c
    since = inc.opened_at - timedelta(days=1)
    until = (inc.resolved_at or now) + timedelta(days=1)
    q = select(a.subject, a.before, a.after, a.incident_ids, a.at, a.reason).where(a.at >= since, a.at <= until).order_by(a.seq)
    out: list[Entry] = []
    held: set[str] = set()  # switches this incident holds off: their next change ends its effect
    for subject, _before, after, ids, at, reason in (await conn.execute(q)).all():
        if inc.incident_id in (ids or ()):
            if after:
                held.add(subject)
            else:
                held.discard(subject)
        elif subject in held:
            held.discard(subject)
        else:
            continue
        who = "平台 platform" if subject == "*" else f"商户 {subject}"
        verb = "关闭 off " + ",".join(after) if after else "恢复 on"
        out.append(Entry(_aware(at), "switch", f"{who}: 花呗{verb} — {reason}", "off" if after else "on"))
        if len(out) >= LIST_LIMIT:
            break
    return out


async def _messages(conn: AsyncConnection, incident_id: str) -> tuple[list[Entry], list[tuple[str, str, int]]]:
    t = notification_deliveries.c
    mine = t.dedupe_key.contains(f"|{incident_id}|", autoescape=True)
    counts: dict[tuple[str, str], int] = {}
    q = select(t.channel, t.state, t.attempts, t.last_error, func.count()).where(mine).group_by(t.channel, t.state, t.attempts, t.last_error)
    for channel, state, attempts, last_error, n in (await conn.execute(q)).all():
        key = (str(channel), outcome_of(state, int(attempts), last_error or ""))
        counts[key] = counts.get(key, 0) + int(n)
    rows = (await conn.execute(
        select(t.recipient, t.channel, t.state, t.attempts, t.last_error, t.updated_at).where(mine)
        .order_by(t.updated_at.desc()).limit(LIST_LIMIT)
    )).all()
    entries = [
        Entry(_aware(updated), "message", f"{channel} → {recipient}" + (f" · {err[:120]}" if err and state != "sent" else ""),
              outcome_of(state, int(attempts), err or ""))
        for recipient, channel, state, attempts, err, updated in rows
    ]
    return entries, [(ch, o, n) for (ch, o), n in sorted(counts.items())]


async def read_timeline(db: Database, incident_id: str, now: datetime) -> IncidentTimeline | None:
    """The incident and its timeline (oldest first), or None if no such incident is stored."""
    async with db.engine.connect() as conn:
        found = await reads.incidents(conn, ids=[incident_id])
        if not found:
            return None
        inc = found[0]
        have = await reads.present(conn, [incident_changes, audit, notification_deliveries])
        entries = [Entry(inc.opened_at, "opened", f"opened: {inc.kind.value}", "opened")]
        if incident_changes.name in have:
            entries += await _changes(conn, incident_id)
        if audit.name in have:
            entries += await _switches(conn, inc, now)
        counts: list[tuple[str, str, int]] = []
        if notification_deliveries.name in have:
            messages, counts = await _messages(conn, incident_id)
            entries += messages
        if inc.resolved_at is not None:
            entries.append(Entry(inc.resolved_at, "phase", f"{inc.phase.value}", inc.phase.value))
    entries.sort(key=lambda e: (e.at, e.what))
    return IncidentTimeline(inc, tuple(entries), tuple(counts))
