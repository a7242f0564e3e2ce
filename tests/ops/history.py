"""A year of synthetic history in every growing table, written as the roles write it (the incident
store for incidents and their ledgers, plain inserts elsewhere), for the housekeeping test and
``bench/bench_housekeeping.py``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, insert, update

from consumers.cashier.store import audit, heard
from consumers.incidents.ledger import IncidentRecord, Ledger, Mark
from consumers.incidents.signal_log import signal_log
from consumers.incidents.store import (
    IncidentStore,
    incident_changes,
    incident_events,
    incident_marks,
    incidents_table,
)
from consumers.notify.role import notify_incidents
from consumers.notify.store import notification_deliveries
from huabei_watch.clock import SHANGHAI
from huabei_watch.db.engine import Database
from huabei_watch.events import HUABEI_CHANNELS, Incident, IncidentKind, Phase
from watcher.sources.probe_store import probe_hours
from watcher.sources.seen import seen_notices, source_poll_hours

END = datetime(2027, 11, 26, 12, 0, tzinfo=SHANGHAI)


@dataclass
class History:
    """What was written: each incident's last change and whether it is open, per table the row times."""

    end: datetime
    incidents: dict[str, tuple[datetime, bool]] = field(default_factory=dict)
    rows: dict[str, list[datetime]] = field(default_factory=dict)

    def note(self, table: Table, at: datetime) -> None:
        self.rows.setdefault(table.name, []).append(at)


def _outage(incident_id: str, at: datetime, *, resolved: bool) -> Incident:
    end = at + timedelta(minutes=30)
    return Incident(
        incident_id=incident_id, kind=IncidentKind.OUTAGE, channels=HUABEI_CHANNELS,
        phase=Phase.RESOLVED if resolved else Phase.ACTIVE, starts_at=at, disable_from=at,
        disable_until=end if resolved else None, opened_at=at, updated_at=end if resolved else at,
        resolved_at=end if resolved else None, revision=2 if resolved else 1,
    )


def _record(inc: Incident) -> IncidentRecord:
    marks = (Mark("probe:gw", "down", inc.opened_at), Mark("probe:api", "up", inc.updated_at))
    return IncidentRecord(inc, Ledger(marks, tuple(f"{inc.incident_id}/e{i}" for i in range(4))))


async def _bulk(db: Database, table: Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 2000):
        async with db.begin() as conn:
            await conn.execute(insert(table), rows[start:start + 2000])


async def write_history(db: Database, *, days: int = 365, end: datetime = END, prefix: str = "y1",
                        incidents_per_day: int = 4, with_open: bool = True) -> History:
    """``days`` days up to ``end``: closed outages with ledgers and timelines, signals every hour,
    switch changes, deliveries, notify's copies, a seen notice a day, probe and poll hours; with
    ``with_open``, two incidents still open that were opened 200 days before ``end`` and a delivery
    still retrying from the first day. Ids carry ``prefix``, so later periods can be added."""
    h = History(end)
    store = IncidentStore(db)
    start = end - timedelta(days=days)
    Rows = list[dict[str, Any]]
    signals: Rows = []
    audits: Rows = []
    heards: Rows = []
    deliveries: Rows = []
    notified: Rows = []
    seen: Rows = []
    probes: Rows = []
    polls: Rows = []
    records: list[IncidentRecord] = []
    for d in range(days):
        day = start + timedelta(days=d)
        for i in range(incidents_per_day):
            inc = _outage(f"outage:{prefix}:d{d}:{i}", day + timedelta(hours=3 * i), resolved=True)
            records.append(_record(inc))
            h.incidents[inc.incident_id] = (inc.updated_at, False)
            heards.append({"incident_id": inc.incident_id, "revision": inc.revision, "scope_kind": "platform",
                           "data": inc.model_dump(mode="json"), "heard_at": inc.updated_at})
            notified.append({"incident_id": inc.incident_id, "revision": inc.revision, "previous": None,
                             "data": inc.model_dump_json(), "updated_at": inc.updated_at, "phase": inc.phase.value})
            for k, state in enumerate(("off", "on")):
                at = inc.opened_at if state == "off" else inc.updated_at
                audits.append({"subject": "*", "version": 2 * (d * incidents_per_day + i) + k, "before": [],
                               "after": [], "reason": state, "incident_ids": [inc.incident_id], "at": at,
                               "until": None, "published": True})
            for m in range(5):
                deliveries.append({
                    "dedupe_key": f"m{m}|{inc.incident_id}|opened|wecom", "state": "sent", "recipient": f"m{m}",
                    "channel": "wecom", "group_key": inc.incident_id, "payload": None, "attempts": 1,
                    "last_error": "", "receipt": "ok", "reserved_at": inc.opened_at, "updated_at": inc.opened_at,
                    "next_attempt_at": None, "sent_at": inc.opened_at,
                })
        for hour in range(24):
            at = day + timedelta(hours=hour)
            signals.append({"event_id": f"sig-{prefix}-{d}-{hour}", "type": "huabei.health.down", "key": "probe:gw",
                            "subject": None, "time": at, "received_at": at, "data": {"n": hour}})
            probes.append({"probe_id": "gw", "hour": at, "checks": 120, "failures": 0,
                           "latency_ms_sum": 1200.0, "latency_ms_max": 30.0})
            polls.append({"source_id": "alipay", "hour": at, "polls": 12, "failures": 0})
        seen.append({"source_id": "alipay", "notice_id": f"{prefix}-n{d}", "url": f"https://example.invalid/n{d}",
                     "title": f"notice {d}", "item_hash": "h", "revision": "r", "published": day.date(),
                     "kind": "announcement", "maintenance": False, "windows_json": "[]", "channels_json": "[]",
                     "first_seen_at": day, "updated_at": day})
    if with_open:
        for n in range(2):  # open for 200 days (a long-announced window, a merchant problem): never pruned
            inc = _outage(f"outage:open:{n}", end - timedelta(days=200), resolved=False)
            records.append(_record(inc))
            h.incidents[inc.incident_id] = (inc.updated_at, True)
            notified.append({"incident_id": inc.incident_id, "revision": 1, "previous": None,
                             "data": inc.model_dump_json(), "updated_at": inc.updated_at, "phase": inc.phase.value})
        audits.append({"subject": "m-pinned", "version": 1, "before": [], "after": ["pcredit"], "reason": "pinned",
                       "incident_ids": [], "at": start, "until": None, "published": True})
        deliveries.append({
            "dedupe_key": "m0|outage:open:0|opened|sms", "state": "retry", "recipient": "m0", "channel": "sms",
            "group_key": "outage:open:0", "payload": None, "attempts": 3, "last_error": "busy", "receipt": "",
            "reserved_at": start, "updated_at": start, "next_attempt_at": end, "sent_at": None,
        })
    # The rows IncidentStore.save writes (snapshot, one timeline row per phase, ledger), in bulk:
    # storing a year one incident at a time takes over a minute.
    await store.save(records[-1:])
    incident_rows: Rows = []
    change_rows: Rows = []
    mark_rows: Rows = []
    event_rows: Rows = []
    for r in records[:-1]:
        inc = r.incident
        incident_rows.append({"incident_id": inc.incident_id, "kind": inc.kind.value, "phase": inc.phase.value,
                              "revision": inc.revision, "published_revision": 0, "data": inc.model_dump(mode="json"),
                              "updated_at": inc.updated_at})
        change_rows.append({"incident_id": inc.incident_id, "revision": inc.revision, "at": inc.updated_at,
                            "phase": inc.phase.value, "starts_at": inc.starts_at, "ends_at": inc.ends_at,
                            "needs_review": False})
        mark_rows += [{"incident_id": inc.incident_id, "ref": m.ref, "position": i, "state": m.state, "as_of": m.as_of}
                      for i, m in enumerate(r.ledger.marks)]
        event_rows += [{"incident_id": inc.incident_id, "event_id": e, "position": i}
                       for i, e in enumerate(r.ledger.event_ids)]
    tables: tuple[tuple[Table, Rows], ...] = ((incidents_table, incident_rows), (incident_changes, change_rows),
                        (incident_marks, mark_rows), (incident_events, event_rows))
    for table, rows in tables:
        await _bulk(db, table, rows)
    async with db.begin() as conn:
        await conn.execute(update(incidents_table).values(published_revision=incidents_table.c.revision))
    timed: tuple[tuple[Table, Rows, str], ...] = (
        (signal_log, signals, "time"), (audit, audits, "at"), (heard, heards, "heard_at"),
        (notification_deliveries, deliveries, "updated_at"), (notify_incidents, notified, "updated_at"),
        (seen_notices, seen, "updated_at"), (probe_hours, probes, "hour"), (source_poll_hours, polls, "hour"),
    )
    for table, rows, time_key in timed:
        await _bulk(db, table, rows)
        for row in rows:
            h.note(table, row[time_key])
    return h
