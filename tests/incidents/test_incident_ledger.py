"""The engine's ledger is typed state, not part of the public incident: ``refs`` carry only source
references, and the marks and seen event ids survive a restart through the incidents store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from consumers.incidents.engine import IncidentEngine
from consumers.incidents.settings import IncidentSettings
from consumers.incidents.store import IncidentStore
from huabei_watch.db.engine import Database
from tests.incidents.factories import T0, WIN_END, WIN_START, anomaly, finding, maintenance, probe, updated

#: Older than anything stored: load every incident.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

SETTINGS = IncidentSettings()
MIN = timedelta(minutes=1)
T = WIN_START + timedelta(hours=12)


def test_refs_carry_only_source_references_never_marks_or_event_ids() -> None:
    e = IncidentEngine(SETTINGS)
    e.apply(maintenance(), T0)
    [maint] = e.apply(updated(revision="r2", windows=((WIN_START, WIN_END + MIN),), at=T0 + MIN), T0 + MIN)
    assert maint.refs == ("https://example.invalid/n1", "notice:n1")
    e.apply(probe(True, T), T)
    e.apply(anomaly(True, T + MIN), T + MIN)
    [outage] = e.apply(probe(True, T, last_at=T + 2 * MIN), T + 2 * MIN)  # refreshed: same id, newer evidence
    assert outage.refs == ("probe:gw", "anomaly:platform:pcredit")
    [account] = e.apply(finding(True, T), T)
    manual = e.open_manual(now=T, by="alice", title="手动", summary_zh="")
    assert manual.refs == ()
    for incident in (*e.incidents(), account):
        assert all("=" not in r and "@" not in r and not r.startswith("event:") for r in incident.refs), incident.refs


def test_the_ledger_holds_each_sources_state_and_the_events_applied() -> None:
    e = IncidentEngine(SETTINGS)
    down = probe(True, T)
    [opened] = e.apply(down, T)
    [_] = e.apply(probe(False, T + 5 * MIN), T + 5 * MIN)
    ledger = e.record(opened.incident_id).ledger
    assert [(m.ref, m.state, m.as_of) for m in ledger.marks] == [("probe:gw", "up", T + 5 * MIN)]
    assert ledger.event_ids[0] == down.id and len(ledger.event_ids) == 2


async def test_marks_and_seen_events_survive_a_restart_through_the_store(db: Database) -> None:
    first = IncidentEngine(SETTINGS)
    store = IncidentStore(db)
    notice = maintenance()
    down = probe(True, T)
    for event, now in ((notice, T0), (down, T)):
        changed = first.apply(event, now)
        await store.save([first.record(i.incident_id) for i in changed])
    [outage] = [i for i in first.incidents() if i.incident_id.startswith("outage:")]
    resolved = first.resolve("maint:n1", T0 + MIN, "alice")
    await store.save([first.record(resolved.incident_id)])

    records = await store.load_recent(EPOCH)
    assert {r.incident_id: r for r in records} == {r.incident_id: r for r in first.records()}
    again = IncidentEngine.restore(SETTINGS, records)
    assert again.apply(down, T + MIN) == []  # the same event redelivered after the restart
    assert again.apply(notice, T0 + 2 * MIN) == []
    # ops resolved the window: a later edit of its notice does not reopen it (the ops mark is restored)
    [edited] = again.apply(updated(revision="r2", at=T0 + 3 * MIN, windows=((WIN_START, WIN_END + MIN),)), T0 + 3 * MIN)
    assert not edited.phase.is_open
    assert again.record(outage.incident_id).ledger == first.record(outage.incident_id).ledger
