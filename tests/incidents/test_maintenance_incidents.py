from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from consumers.incidents.engine import IncidentEngine
from consumers.incidents.ledger import IncidentRecord
from consumers.incidents.settings import IncidentSettings
from huabei_watch.clock import SHANGHAI
from huabei_watch.events import HUABEI_CHANNELS, Incident, IncidentKind, Phase
from tests.incidents.factories import T0, WIN_END, WIN_START, cancelled, maintenance, updated

SETTINGS = IncidentSettings()
LEAD = timedelta(seconds=SETTINGS.maintenance_lead)
GRACE = timedelta(seconds=SETTINGS.maintenance_grace)


def held(e: IncidentEngine, incident_id: str) -> Incident:
    """The incident ``e`` holds under ``incident_id``; fails the test when there is none."""
    incident = e.get(incident_id)
    assert incident is not None, f"no incident {incident_id}"
    return incident


def engine() -> IncidentEngine:
    return IncidentEngine(SETTINGS)


def test_notice_opens_scheduled_incident_with_lead_and_grace() -> None:
    e = engine()
    [inc] = e.apply(maintenance(), T0)
    assert inc.incident_id == "maint:n1"
    assert inc.kind is IncidentKind.MAINTENANCE
    assert inc.phase is Phase.SCHEDULED
    assert inc.revision == 1
    assert (inc.disable_from, inc.disable_until) == (WIN_START - LEAD, WIN_END + GRACE)
    assert inc.channels == HUABEI_CHANNELS
    assert inc.toggle is True
    assert inc.summary_zh == "花呗系统维护：11月28日 02:00-04:00，期间暂停花呗支付"


def test_window_goes_active_at_start_minus_lead_and_resolves_at_end_plus_grace() -> None:
    e = engine()
    e.apply(maintenance(), T0)
    assert e.next_due(T0) == WIN_START - LEAD
    assert e.tick(WIN_START - LEAD - timedelta(seconds=1)) == []
    [active] = e.tick(WIN_START - LEAD)
    assert (active.phase, active.revision, active.updated_at) == (Phase.ACTIVE, 2, WIN_START - LEAD)
    assert e.next_due(WIN_START) == WIN_END + GRACE
    assert e.tick(WIN_END + GRACE - timedelta(seconds=1)) == []
    [done] = e.tick(WIN_END + GRACE)
    assert (done.phase, done.revision, done.resolved_at) == (Phase.RESOLVED, 3, WIN_END + GRACE)
    assert e.next_due(WIN_END + GRACE) is None


def test_edit_of_notice_moves_the_window_of_the_same_incident() -> None:
    e = engine()
    e.apply(maintenance(), T0)
    new_start = WIN_START + timedelta(hours=1)
    new_end = WIN_END + timedelta(hours=1)
    [moved] = e.apply(updated(revision="r2", windows=((new_start, new_end),), at=T0 + timedelta(hours=1)),
                      T0 + timedelta(hours=1))
    assert moved.incident_id == "maint:n1"
    assert moved.revision == 2
    assert (moved.starts_at, moved.ends_at) == (new_start, new_end)
    assert moved.disable_from == new_start - LEAD
    assert len(e.incidents()) == 1
    assert e.tick(WIN_START - LEAD) == []  # the old time no longer switches anything


def test_cancellation_cancels_the_incident_and_nothing_fires_later() -> None:
    e = engine()
    e.apply(maintenance(), T0)
    [inc] = e.apply(cancelled(revision="r2", at=T0 + timedelta(hours=2)), T0 + timedelta(hours=2))
    assert inc.phase is Phase.CANCELLED
    assert "取消" in inc.summary_zh
    assert e.next_due(T0 + timedelta(hours=2)) is None
    assert e.tick(WIN_START) == []


def test_window_marked_cancelled_inside_an_update_cancels_that_window() -> None:
    e = engine()
    e.apply(maintenance(), T0)
    [inc] = e.apply(updated(revision="r2", status="cancelled", at=T0 + timedelta(hours=1)), T0 + timedelta(hours=1))
    assert inc.phase is Phase.CANCELLED


def test_notice_with_two_windows_makes_two_incidents_and_edit_dropping_one_cancels_it() -> None:
    e = engine()
    second = (WIN_START + timedelta(days=1), WIN_END + timedelta(days=1))
    made = e.apply(maintenance(windows=((WIN_START, WIN_END), second)), T0)
    assert [i.incident_id for i in made] == ["maint:n1", "maint:n1:1"]
    [dropped] = e.apply(updated(revision="r2", at=T0 + timedelta(hours=1)), T0 + timedelta(hours=1))
    assert (dropped.incident_id, dropped.phase) == ("maint:n1:1", Phase.CANCELLED)


def test_window_without_end_uses_default_duration_and_needs_review() -> None:
    e = engine()
    [inc] = e.apply(maintenance(windows=((WIN_START, None),)), T0)
    assert inc.ends_at == WIN_START + timedelta(seconds=SETTINGS.default_maintenance_duration)
    assert inc.needs_review is True
    assert "结束时间待确认" in inc.summary_zh


@pytest.mark.parametrize(
    ("huabei_affected", "needs_review"),
    [(False, False), (True, True), (False, True)],
)
def test_guess_or_unaffected_huabei_makes_notify_only_incident(huabei_affected: bool, needs_review: bool) -> None:
    [inc] = engine().apply(maintenance(huabei_affected=huabei_affected, needs_review=needs_review), T0)
    assert inc.toggle is False


def test_broader_service_outage_defaults_to_huabei_channels() -> None:
    [inc] = engine().apply(maintenance(channels=("balance", "creditCard")), T0)
    assert inc.channels == HUABEI_CHANNELS
    [only_pcredit] = engine().apply(maintenance(channels=("pcredit",)), T0)
    assert only_pcredit.channels == ("pcredit",)


def test_window_across_midnight_says_next_day() -> None:
    start = datetime(2026, 11, 28, 22, 0, tzinfo=SHANGHAI)
    [inc] = engine().apply(maintenance(windows=((start, start + timedelta(hours=4)),)), T0)
    assert inc.summary_zh == "花呗系统维护：11月28日 22:00-次日02:00，期间暂停花呗支付"


def test_same_event_twice_changes_nothing() -> None:
    e = engine()
    event = maintenance()
    assert len(e.apply(event, T0)) == 1
    assert e.apply(event, T0 + timedelta(minutes=1)) == []
    assert held(e, "maint:n1").revision == 1


def test_older_revision_after_newer_changes_nothing() -> None:
    e = engine()
    first = maintenance(at=T0)
    moved = updated(revision="r2", windows=((WIN_START + timedelta(hours=1), WIN_END + timedelta(hours=1)),),
                    at=T0 + timedelta(hours=1))
    e.apply(first, T0)
    e.apply(moved, T0 + timedelta(hours=1))
    assert e.apply(maintenance(revision="r0", at=T0 - timedelta(hours=1)), T0 + timedelta(hours=2)) == []
    assert held(e, "maint:n1").starts_at == WIN_START + timedelta(hours=1)


def test_replay_after_restore_changes_nothing() -> None:
    e = engine()
    event = maintenance()
    e.apply(event, T0)
    restored = IncidentEngine.restore(SETTINGS, e.records())
    assert restored.apply(event, T0 + timedelta(hours=1)) == []


def test_restore_then_tick_past_due_applies_at_once() -> None:
    e = engine()
    e.apply(maintenance(), T0)
    # the daemon was down from T0 until the middle of the window
    restored = IncidentEngine.restore(SETTINGS, e.records())
    later = WIN_START + timedelta(minutes=30)
    due = restored.next_due(later)
    assert due is not None and due <= later
    [inc] = restored.tick(later)
    assert (inc.phase, inc.revision) == (Phase.ACTIVE, 2)


def test_restore_after_the_whole_window_resolves_in_one_change() -> None:
    e = engine()
    e.apply(maintenance(), T0)
    restored = IncidentEngine.restore(SETTINGS, e.records())
    [inc] = restored.tick(WIN_END + timedelta(hours=1))
    assert inc.phase is Phase.RESOLVED


def test_restore_keeps_the_latest_revision_of_each_incident() -> None:
    e = engine()
    [first] = e.apply(maintenance(), T0)
    [second] = e.tick(WIN_START - LEAD)
    latest = e.record("maint:n1")
    restored = IncidentEngine.restore(SETTINGS, [latest, IncidentRecord(first, latest.ledger)])
    assert restored.get("maint:n1") == second


def test_notice_arriving_inside_lead_time_is_active_at_once() -> None:
    [inc] = engine().apply(maintenance(at=WIN_START - timedelta(minutes=2)), WIN_START - timedelta(minutes=2))
    assert inc.phase is Phase.ACTIVE


def test_manual_resolve_closes_early_and_a_later_edit_does_not_reopen() -> None:
    e = engine()
    e.apply(maintenance(), T0)
    e.tick(WIN_START)
    inc = e.resolve("maint:n1", WIN_START + timedelta(minutes=10), by="ops:alice")
    assert inc.phase is Phase.RESOLVED
    assert inc.disable_until == WIN_START + timedelta(minutes=10)
    assert e.apply(updated(revision="r2", windows=((WIN_START, WIN_END + timedelta(hours=1)),),
                           at=WIN_START + timedelta(minutes=20)), WIN_START + timedelta(minutes=20))[0].phase \
        is Phase.RESOLVED


def test_silence_sets_silenced_until_and_bumps_revision() -> None:
    e = engine()
    e.apply(maintenance(), T0)
    inc = e.silence("maint:n1", T0 + timedelta(hours=3), T0 + timedelta(minutes=1))
    assert (inc.silenced_until, inc.revision) == (T0 + timedelta(hours=3), 2)


def test_lagging_replica_republishing_an_applied_revision_later_changes_nothing() -> None:
    e = engine()
    e.apply(maintenance(revision="r1", at=T0), T0)
    moved = (WIN_START + timedelta(hours=1), WIN_END + timedelta(hours=1))
    e.apply(updated(revision="r2", windows=(moved,), at=T0 + timedelta(hours=1)), T0 + timedelta(hours=1))
    # another watcher replica still sees revision r1 and publishes it (same event id, later time)
    late_r1 = maintenance(revision="r1", at=T0 + timedelta(hours=2))
    assert e.apply(late_r1, T0 + timedelta(hours=2)) == []
    assert held(e, "maint:n1").starts_at == moved[0]


def test_a_second_source_seeing_the_notice_first_time_changes_nothing_even_when_it_lags() -> None:
    e = engine()
    [opened] = e.apply(maintenance(revision="list-r1", at=T0), T0)
    moved = (WIN_START + timedelta(hours=1), WIN_END + timedelta(hours=1))
    e.apply(updated(revision="list-r2", windows=(moved,), at=T0 + timedelta(minutes=5)), T0 + timedelta(minutes=5))
    # the feed of the same platform lists the notice only now, still with the old window
    feed_first = maintenance(revision="feed-r1", at=T0 + timedelta(minutes=6))
    assert e.apply(feed_first, T0 + timedelta(minutes=6)) == []
    assert held(e, "maint:n1").starts_at == moved[0]
    # the feed's own edit later (same windows as the list's edit): still one incident, no change
    feed_edit = updated(revision="feed-r2", windows=(moved,), at=T0 + timedelta(minutes=9))
    assert e.apply(feed_edit, T0 + timedelta(minutes=9)) == []
    assert [i.incident_id for i in e.incidents()] == [opened.incident_id]


def test_an_edit_seen_by_the_second_source_moves_the_one_incident() -> None:
    e = engine()
    e.apply(maintenance(revision="list-r1", at=T0), T0)
    assert e.apply(maintenance(revision="feed-r1", at=T0 + timedelta(minutes=1)), T0 + timedelta(minutes=1)) == []
    later = (WIN_START + timedelta(days=1), WIN_END + timedelta(days=1))
    [moved] = e.apply(updated(revision="feed-r2", windows=(later,), at=T0 + timedelta(minutes=2)),
                      T0 + timedelta(minutes=2))
    assert (moved.incident_id, moved.starts_at, moved.revision) == ("maint:n1", later[0], 2)


def test_settings_reject_nonsense_with_readable_errors() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="outage_stale_after"):
        IncidentSettings(outage_stale_after=1)
    with pytest.raises(ValidationError, match="maintenance_lead"):
        IncidentSettings(maintenance_lead=-5)
    with pytest.raises(ValidationError, match="Extra inputs"):
        IncidentSettings(lead=5)  # type: ignore[call-arg]  # an unknown setting, on purpose


def test_bank_window_carries_every_channel_it_takes_down_but_switches_no_huabei() -> None:
    [inc] = engine().apply(maintenance(huabei_affected=False, channels=("debitCardExpress", "bankPay")), T0)
    assert inc.channels == ()  # no Huabei channel: nothing to switch
    assert inc.toggle is False
    assert inc.unavailable_channels == ("debitCardExpress", "bankPay")
    [hb] = engine().apply(maintenance(), T0)
    assert hb.unavailable_channels == HUABEI_CHANNELS
