"""Planning: who gets which message, on which channel, from when."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from consumers.notify.plan import (
    Endpoint,
    PlannedMessage,
    Recipient,
    group,
    next_due,
    next_wakeup,
    plan,
    plan_for,
)
from consumers.notify.subsettings import PlanSettings, QuietHours
from huabei_watch.clock import SHANGHAI
from huabei_watch.events import Incident, IncidentKind, Phase, Scope

SH = SHANGHAI
T0 = datetime(2026, 11, 26, 10, 0, tzinfo=SH)
START = datetime(2026, 11, 28, 2, 0, tzinfo=SH)
END = datetime(2026, 11, 28, 4, 0, tzinfo=SH)
M1 = Recipient("m1", (Endpoint("wecom", "robot-m1"), Endpoint("sms", "13800000001")))
M2 = Recipient("m2", (Endpoint("wecom", "robot-m2"),))
OPS = Recipient.ops(Endpoint("wecom", "robot-ops"))
SETTINGS = PlanSettings()


def incident(
    kind: IncidentKind = IncidentKind.MAINTENANCE,
    phase: Phase = Phase.SCHEDULED,
    *,
    starts: datetime | None = START,
    ends: datetime | None = END,
    opened: datetime = T0,
    revision: int = 1,
    scope: Scope | None = None,
    incident_id: str = "inc-1",
    **kw: Any,
) -> Incident:
    return Incident(
        incident_id=incident_id,
        kind=kind,
        scope=scope or Scope.platform(),
        phase=phase,
        title="花呗系统维护",
        starts_at=starts,
        ends_at=ends,
        opened_at=opened,
        updated_at=opened,
        revision=revision,
        **kw,
    )


def table(msgs: list[PlannedMessage]) -> set[tuple[str, str, str, datetime]]:
    """(recipient, channel, phase, not_before) rows, easy to compare."""
    return {(m.recipient, m.channel, m.phase, m.not_before) for m in msgs}


def test_maintenance_known_early_plans_announcement_reminders_and_start() -> None:
    msgs = plan(incident(), None, [M1], T0, SETTINGS)
    assert table(msgs) == {
        ("m1", "wecom", "announced", T0),
        ("m1", "wecom", "reminder_24h", START - timedelta(hours=24)),
        ("m1", "wecom", "reminder_1h", START - timedelta(hours=1)),
        ("m1", "wecom", "started", START),
        # SMS: the 02:00 reminder waits for 08:00; the 01:00 reminder and the 02:00 start would only
        # arrive after the window began (08:00), so they are dropped.
        ("m1", "sms", "announced", T0),
        ("m1", "sms", "reminder_24h", datetime(2026, 11, 27, 8, 0, tzinfo=SH)),
    }


def test_dedupe_key_is_recipient_incident_phase_channel() -> None:
    msgs = plan(incident(), None, [M1], T0, SETTINGS)
    keys = {m.dedupe_key for m in msgs}
    assert "m1|inc-1|announced|wecom" in keys
    assert "m1|inc-1|reminder_24h|sms" in keys


def test_replanning_is_deterministic_so_keys_repeat() -> None:
    first = plan(incident(), None, [M1, OPS], T0, SETTINGS)
    again = plan(incident(), None, [M1, OPS], T0, SETTINGS)
    assert [m.dedupe_key for m in first] == [m.dedupe_key for m in again]


@pytest.mark.parametrize(
    ("now", "reminders"),
    [
        (T0, {"reminder_24h", "reminder_1h"}),
        (datetime(2026, 11, 27, 2, 30, tzinfo=SH), {"reminder_24h", "reminder_1h"}),  # 24h overdue: still due now
        (datetime(2026, 11, 28, 1, 30, tzinfo=SH), {"reminder_1h"}),  # both overdue: only the latest
        (datetime(2026, 11, 28, 2, 30, tzinfo=SH), set()),  # window started: no reminder
    ],
)
def test_reminders_while_replanning(now: datetime, reminders: set[str]) -> None:
    msgs = plan_for(incident(), None, M2, now, SETTINGS)
    assert {m.phase for m in msgs if m.phase.startswith("reminder")} == reminders
    assert all(m.not_before >= now for m in msgs)


def test_reminder_skipped_when_incident_became_known_after_its_time() -> None:
    late = incident(opened=datetime(2026, 11, 27, 20, 0, tzinfo=SH))
    phases = {m.phase for m in plan_for(late, None, M2, late.opened_at, SETTINGS)}
    assert phases == {"announced", "reminder_1h", "started"}


def test_reminder_hours_are_configurable() -> None:
    settings = PlanSettings(reminders=(48, 2))
    phases = {m.phase for m in plan_for(incident(opened=T0 - timedelta(days=3)), None, M2, T0 - timedelta(days=3), settings)}
    assert {"reminder_48h", "reminder_2h"} <= phases
    assert "reminder_24h" not in phases


def test_active_maintenance_is_started_not_announced() -> None:
    now = START + timedelta(minutes=5)
    msgs = plan_for(incident(phase=Phase.ACTIVE), None, M2, now, SETTINGS)
    assert table(msgs) == {("m2", "wecom", "started", now)}


def test_resolved_maintenance_says_resolved() -> None:
    now = END + timedelta(minutes=1)
    msgs = plan_for(incident(phase=Phase.RESOLVED, resolved_at=now), None, M2, now, SETTINGS)
    assert [(m.phase, m.template) for m in msgs] == [("resolved", "maintenance.resolved")]


def test_moved_window_gives_changed_keyed_by_revision_and_carries_old_times() -> None:
    old = incident()
    new = incident(starts=START + timedelta(hours=1), ends=END + timedelta(hours=1), revision=3)
    msgs = plan_for(new, old, M2, T0, SETTINGS)
    changed = [m for m in msgs if m.phase.startswith("changed")]
    assert [m.dedupe_key for m in changed] == ["m2|inc-1|changed_r3|wecom"]
    assert (changed[0].context.previous_start, changed[0].context.previous_end) == (START, END)
    started = next(m for m in msgs if m.phase == "started")
    assert started.not_before == START + timedelta(hours=1)


def test_same_window_in_a_new_revision_is_not_changed() -> None:
    msgs = plan_for(incident(revision=2, summary_zh="补充说明"), incident(), M2, T0, SETTINGS)
    assert not [m for m in msgs if m.phase.startswith("changed")]


def test_cancelled_maintenance_only_says_cancelled() -> None:
    msgs = plan_for(incident(phase=Phase.CANCELLED, revision=2), incident(), M2, T0, SETTINGS)
    assert [m.phase for m in msgs] == ["cancelled"]


@pytest.mark.parametrize(
    ("elapsed", "phase", "phases"),
    [
        (timedelta(minutes=1), Phase.ACTIVE, {"opened"}),
        (timedelta(minutes=61), Phase.ACTIVE, {"opened", "ongoing_1"}),
        (timedelta(hours=2, minutes=30), Phase.ACTIVE, {"opened", "ongoing_2"}),
        (timedelta(hours=3), Phase.RESOLVED, {"resolved"}),
        (timedelta(minutes=10), Phase.CANCELLED, {"resolved"}),
    ],
)
def test_outage_opened_ongoing_resolved(elapsed: timedelta, phase: Phase, phases: set[str]) -> None:
    outage = incident(IncidentKind.OUTAGE, phase, starts=T0, ends=None)
    msgs = plan_for(outage, None, M2, T0 + elapsed, SETTINGS)
    assert {m.phase for m in msgs} == phases


def test_outage_opened_is_critical() -> None:
    msgs = plan_for(incident(IncidentKind.OUTAGE, Phase.ACTIVE, starts=T0, ends=None), None, M2, T0, SETTINGS)
    assert [m.critical for m in msgs] == [True]


def test_merchant_account_problem_reaches_only_that_merchant_and_ops() -> None:
    acct = incident(
        IncidentKind.MERCHANT_ACCOUNT, Phase.ACTIVE, starts=T0, ends=None, scope=Scope.merchants("m1"),
        advice_zh="请登录商家平台处理账户冻结。",
    )
    msgs = plan(acct, None, [M1, M2, OPS], T0, SETTINGS)
    assert {m.recipient for m in msgs} == {"m1", "ops"}
    merchant = [m for m in msgs if m.recipient == "m1"]
    assert {(m.channel, m.phase, m.template, m.critical) for m in merchant} == {
        ("wecom", "opened", "merchant_account.opened", True),
        ("sms", "opened", "merchant_account.opened", True),
    }
    assert merchant[0].context.incident.advice_zh == "请登录商家平台处理账户冻结。"


def test_integration_problem_opened_then_resolved() -> None:
    kw: dict[str, Any] = {"starts": T0, "ends": None, "scope": Scope.merchants("m2")}
    opened = plan_for(incident(IncidentKind.INTEGRATION, Phase.ACTIVE, **kw), None, M2, T0, SETTINGS)
    resolved = plan_for(incident(IncidentKind.INTEGRATION, Phase.RESOLVED, **kw), None, M2, T0, SETTINGS)
    assert [m.phase for m in opened] == ["opened"]
    assert [m.phase for m in resolved] == ["resolved"]


def test_ops_gets_every_incident_with_the_ops_template() -> None:
    acct = incident(IncidentKind.MERCHANT_ACCOUNT, Phase.ACTIVE, scope=Scope.merchants("m9"))
    msgs = plan_for(acct, None, OPS, T0, SETTINGS)
    assert [(m.recipient, m.template) for m in msgs] == [("ops", "ops")]


NIGHT = datetime(2026, 11, 26, 23, 0, tzinfo=SH)
MORNING = datetime(2026, 11, 27, 8, 0, tzinfo=SH)


def test_quiet_hours_hold_sms_until_morning_but_not_wecom() -> None:
    maint = incident(opened=NIGHT)
    msgs = [m for m in plan_for(maint, None, M1, NIGHT, SETTINGS) if m.phase == "announced"]
    assert table(msgs) == {("m1", "wecom", "announced", NIGHT), ("m1", "sms", "announced", MORNING)}


def test_quiet_hours_do_not_hold_critical_sms() -> None:
    outage = incident(IncidentKind.OUTAGE, Phase.ACTIVE, starts=NIGHT, ends=None, opened=NIGHT)
    msgs = plan_for(outage, None, M1, NIGHT, SETTINGS)
    assert table(msgs) == {("m1", "wecom", "opened", NIGHT), ("m1", "sms", "opened", NIGHT)}


@pytest.mark.parametrize(
    ("quiet", "sms_quiet", "expected"),
    [
        (None, True, MORNING),
        (QuietHours(start=time(23, 30), end=time(7, 0)), True, NIGHT),  # 23:00 is before this merchant's quiet hours
        (QuietHours(start=time(0, 0), end=time(0, 0)), True, NIGHT),  # start == end: no quiet hours
        (None, False, NIGHT),  # switched off in config
    ],
)
def test_quiet_hours_per_merchant_and_config(quiet: QuietHours | None, sms_quiet: bool, expected: datetime) -> None:
    who = Recipient("m3", (Endpoint("sms", "13800000003"),), quiet_hours=quiet)
    settings = PlanSettings(sms_quiet_hours=sms_quiet)
    msgs = plan_for(incident(opened=NIGHT), None, who, NIGHT, settings)
    assert next(m.not_before for m in msgs if m.phase == "announced") == expected


@pytest.mark.parametrize(
    ("when", "quiet"),
    [
        (datetime(2026, 11, 26, 21, 59, tzinfo=SH), False),
        (datetime(2026, 11, 26, 22, 0, tzinfo=SH), True),
        (datetime(2026, 11, 27, 3, 0, tzinfo=SH), True),
        (datetime(2026, 11, 27, 7, 59, tzinfo=SH), True),
        (datetime(2026, 11, 27, 8, 0, tzinfo=SH), False),
        (datetime(2026, 11, 26, 14, 30, tzinfo=UTC), True),  # 22:30 in Shanghai
        (datetime(2026, 11, 26, 0, 30, tzinfo=UTC), False),  # 08:30 in Shanghai
    ],
)
def test_quiet_hours_across_midnight(when: datetime, quiet: bool) -> None:
    assert QuietHours().contains(when) is quiet


def test_quiet_hours_end_after_midnight_is_same_morning() -> None:
    assert QuietHours().end_after(datetime(2026, 11, 27, 3, 0, tzinfo=SH)) == MORNING


def test_silenced_incident_reaches_ops_but_not_merchants() -> None:
    silenced = incident(IncidentKind.OUTAGE, Phase.ACTIVE, silenced_until=T0 + timedelta(hours=1))
    assert plan(silenced, None, [M1, M2, OPS], T0, SETTINGS) == plan_for(silenced, None, OPS, T0, SETTINGS)
    assert plan_for(silenced, None, OPS, T0, SETTINGS)
    assert not plan_for(silenced, None, OPS, T0, PlanSettings(ops_during_silence=False))


def test_merchants_hear_once_the_silence_is_over() -> None:
    silenced = incident(IncidentKind.OUTAGE, Phase.ACTIVE, silenced_until=T0 + timedelta(hours=1))
    assert plan_for(silenced, None, M2, T0 + timedelta(hours=1), SETTINGS)


def test_incident_needing_review_goes_to_ops_only() -> None:
    doubtful = incident(needs_review=True)
    msgs = plan(doubtful, None, [M1, M2, OPS], T0, SETTINGS)
    assert {m.recipient for m in msgs} == {"ops"}


def test_grouping_merges_two_incidents_for_one_merchant_and_channel() -> None:
    maint = incident(incident_id="inc-m")
    acct = incident(IncidentKind.INTEGRATION, Phase.ACTIVE, incident_id="inc-i", scope=Scope.merchants("m2"))
    planned = [m for m in plan(maint, None, [M2], T0, SETTINGS) + plan(acct, None, [M2], T0, SETTINGS) if m.not_before == T0]
    groups = group(planned)
    assert len(groups) == 1
    (g,) = groups
    assert g.keys == ("m2|inc-m|announced|wecom", "m2|inc-i|opened|wecom")
    assert g.incident_ids == ("inc-m", "inc-i")
    assert g.dedupe_key not in g.keys
    assert g.dedupe_key.startswith("m2|group-") and g.dedupe_key.endswith("|wecom")


def test_grouping_keeps_different_times_and_channels_apart() -> None:
    groups = group(plan(incident(), None, [M1], T0, SETTINGS))
    assert all(len(g.parts) == 1 for g in groups)
    assert len(groups) == 6
    assert [g.dedupe_key for g in groups] == [g.parts[0].dedupe_key for g in groups]


def test_grouping_counts_a_repeated_key_once() -> None:
    msgs = plan_for(incident(), None, M2, T0, SETTINGS)
    assert [len(g.parts) for g in group(msgs + msgs)] == [1, 1, 1, 1]


@pytest.mark.parametrize(
    ("inc", "now", "expected"),
    [
        (incident(), T0, START - timedelta(hours=24)),
        (incident(), datetime(2026, 11, 27, 3, 0, tzinfo=SH), START - timedelta(hours=1)),
        (incident(IncidentKind.OUTAGE, Phase.ACTIVE), T0 + timedelta(minutes=90), T0 + timedelta(hours=2)),
        (incident(phase=Phase.RESOLVED), T0, None),
        (incident(IncidentKind.OUTAGE, Phase.ACTIVE, silenced_until=T0 + timedelta(minutes=5)), T0, T0 + timedelta(minutes=5)),
    ],
)
def test_next_wakeup(inc: Incident, now: datetime, expected: datetime | None) -> None:
    assert next_wakeup(inc, now, SETTINGS) == expected


def test_settings_reject_bad_values_with_readable_errors() -> None:
    with pytest.raises(ValueError, match="outage_repeat"):
        PlanSettings(outage_repeat=5)
    with pytest.raises(ValueError, match="reminders"):
        PlanSettings(reminders=(0,))
    with pytest.raises(ValueError, match="quiet_hours"):
        PlanSettings.model_validate({"quiet_hours": {"start": "25:00"}})


def test_next_due_is_the_earliest_deferred_message() -> None:
    msgs = plan_for(incident(opened=NIGHT), None, M1, NIGHT, SETTINGS)
    assert next_due(msgs, NIGHT) == datetime(2026, 11, 27, 2, 0, tzinfo=SH)  # the robot's 24 h reminder
    sms_only = Recipient("m3", (Endpoint("sms", "13800000003"),))
    assert next_due(plan_for(incident(opened=NIGHT), None, sms_only, NIGHT, SETTINGS), NIGHT) == MORNING
    assert next_due([m for m in msgs if m.not_before <= NIGHT], NIGHT) is None


def test_maintenance_first_known_inside_its_lead_time_is_still_announced_before_it_starts() -> None:
    """Huabei goes off at start - lead, so the incident is already 'active' before the window; a late
    notice must still reach merchants as an announcement (found by the multi-process test)."""
    now = START - timedelta(minutes=20)
    msgs = plan(incident(phase=Phase.ACTIVE, opened=now), None, [M2], now, SETTINGS)
    assert ("m2", "wecom", "announced", now) in table(msgs)
    assert ("m2", "wecom", "started", START) in table(msgs)
    after_start = plan(incident(phase=Phase.ACTIVE, opened=now), None, [M2], START + timedelta(minutes=1), SETTINGS)
    assert "announced" not in {m.phase for m in after_start}
