from __future__ import annotations

from datetime import timedelta

import pytest

from consumers.cashier.model import CashierState, Mode
from consumers.cashier.policy import PolicyView, Reconciler, desired_channels, etag
from consumers.cashier.settings import CashierSettings
from huabei_watch.events import HUABEI_CHANNELS, Incident, Phase, Scope
from tests.cashier.incident_builders import END, GRACE, LEAD, START, maintenance_incident, outage_incident

SETTINGS = CashierSettings()
MIN = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [(Mode.AUTO, HUABEI_CHANNELS), (Mode.NOTIFY_ONLY, ()), (Mode.PINNED_ON, ()), (Mode.PINNED_OFF, HUABEI_CHANNELS)],
)
def test_mode_decides_whether_an_active_maintenance_switches(mode: Mode, expected: tuple[str, ...]) -> None:
    desired = desired_channels("m1", mode, [maintenance_incident()], START)
    assert desired.channels == expected


def test_pinned_off_switches_off_without_incident_and_never_expires() -> None:
    desired = desired_channels("m1", Mode.PINNED_OFF, [], START)
    change = Reconciler(SETTINGS).reconcile("m1", desired, CashierState("m1"), START)
    assert change is not None
    assert (change.after.channels, change.after.until) == (HUABEI_CHANNELS, None)


def test_maintenance_disables_only_inside_disable_from_until() -> None:
    inc = maintenance_incident(phase=Phase.SCHEDULED)
    assert desired_channels("m1", Mode.AUTO, [inc], START - LEAD - timedelta(seconds=1)).channels == ()
    at_lead = desired_channels("m1", Mode.AUTO, [inc], START - LEAD)
    assert at_lead.channels == HUABEI_CHANNELS  # on time even before the "active" revision arrives
    assert at_lead.until == END + GRACE
    assert desired_channels("m1", Mode.AUTO, [inc], END + GRACE).channels == ()


@pytest.mark.parametrize(
    "incident",
    [
        maintenance_incident(toggle=False),
        maintenance_incident(phase=Phase.CANCELLED),
        maintenance_incident(scope=Scope.merchants("other")),
    ],
)
def test_notify_only_cancelled_or_out_of_scope_incidents_switch_nothing(incident: Incident) -> None:
    assert desired_channels("m1", Mode.AUTO, [incident], START).channels == ()


def test_forced_on_incident_is_ignored_for_that_merchant_only() -> None:
    inc = maintenance_incident()
    assert desired_channels("m1", Mode.AUTO, [inc], START, forced_on={"maint:n1"}).channels == ()
    assert desired_channels("m2", Mode.AUTO, [inc], START, forced_on=set()).channels == HUABEI_CHANNELS


def test_maintenance_message_names_the_announced_end() -> None:
    desired = desired_channels("m1", Mode.AUTO, [maintenance_incident()], START)
    assert desired.message_zh == "花呗系统维护中，预计04:00恢复，请使用其他支付方式"


def test_scheduled_maintenance_switches_off_exactly_even_inside_hold() -> None:
    r = Reconciler(SETTINGS)
    on_just_now = CashierState("m1", changed_at=START - LEAD - 30 * timedelta(seconds=1), version=3)
    desired = desired_channels("m1", Mode.AUTO, [maintenance_incident()], START - LEAD)
    change = r.reconcile("m1", desired, on_just_now, START - LEAD)
    assert change is not None and change.after.channels == HUABEI_CHANNELS
    assert change.after.until == START - LEAD + timedelta(seconds=SETTINGS.off_ttl)
    assert change.after.expected_until == END + GRACE


def test_flapping_outage_toggles_at_most_once_per_hold_time() -> None:
    r = Reconciler(SETTINGS)
    hold = timedelta(seconds=SETTINGS.min_hold)
    t0 = START
    state = CashierState("m1")
    toggles: list[tuple[str, ...]] = []
    # the outage opens and resolves every 30 s for 10 minutes
    for step in range(20):
        now = t0 + step * timedelta(seconds=30)
        open_now = step % 2 == 0
        inc = outage_incident(t0, phase=Phase.ACTIVE if open_now else Phase.RESOLVED,
                              resolved_at=None if open_now else now)
        change = r.reconcile("m1", desired_channels("m1", Mode.AUTO, [inc], now), state, now)
        if change is not None and not change.renewal:
            if toggles:
                assert state.changed_at is not None and now - state.changed_at >= hold
            toggles.append(change.after.channels)
        if change is not None:
            state = change.after
    assert 1 <= len(toggles) <= 10 * 60 // SETTINGS.min_hold + 1


def test_outage_recovery_waits_for_hold_then_switches_back_on() -> None:
    r = Reconciler(SETTINGS)
    off = r.reconcile("m1", desired_channels("m1", Mode.AUTO, [outage_incident(START)], START), CashierState("m1"), START)
    assert off is not None
    resolved = outage_incident(START, phase=Phase.RESOLVED, resolved_at=START + MIN)
    assert r.reconcile("m1", desired_channels("m1", Mode.AUTO, [resolved], START + MIN), off.after, START + MIN) is None
    assert r.recheck_at(off.after, START + MIN) == START + timedelta(seconds=SETTINGS.min_hold)
    later = START + timedelta(seconds=SETTINGS.min_hold)
    on = r.reconcile("m1", desired_channels("m1", Mode.AUTO, [resolved], later), off.after, later)
    assert on is not None and on.after.channels == ()


def test_silent_incident_stream_lets_the_off_expire_and_huabei_come_back() -> None:
    r = Reconciler(SETTINGS)
    ttl = timedelta(seconds=SETTINGS.off_ttl)
    off = r.reconcile("m1", desired_channels("m1", Mode.AUTO, [outage_incident(START)], START), CashierState("m1"), START)
    assert off is not None and off.after.until == START + ttl
    view = PolicyView(SETTINGS)
    assert view.policy_json(off.after, START + ttl - timedelta(seconds=1))["disable_pay_channels"] == list(HUABEI_CHANNELS)
    assert view.policy_json(off.after, START + ttl)["disable_pay_channels"] == []
    # reconciling with nothing desired records the fail-open
    change = r.reconcile("m1", desired_channels("m1", Mode.AUTO, [], START + ttl), off.after, START + ttl)
    assert change is not None and change.after.channels == () and change.after.reason.startswith("expired")


def test_off_is_renewed_while_incident_stays_active() -> None:
    r = Reconciler(SETTINGS)
    ttl = timedelta(seconds=SETTINGS.off_ttl)
    inc = outage_incident(START)
    state = r.reconcile("m1", desired_channels("m1", Mode.AUTO, [inc], START), CashierState("m1"), START)
    assert state is not None
    early = START + ttl / 4
    assert r.reconcile("m1", desired_channels("m1", Mode.AUTO, [inc], early), state.after, early) is None
    late = START + ttl * 3 / 4
    renewed = r.reconcile("m1", desired_channels("m1", Mode.AUTO, [inc], late), state.after, late)
    assert renewed is not None and renewed.renewal
    assert renewed.after.until == late + ttl
    assert renewed.after.changed_at == START  # renewal does not restart the hold
    assert renewed.after.version == 2


def test_policy_json_while_maintenance_is_on() -> None:
    r = Reconciler(SETTINGS)
    desired = desired_channels("m1", Mode.AUTO, [maintenance_incident()], START)
    change = r.reconcile("m1", desired, CashierState("m1"), START)
    assert change is not None
    body = PolicyView(SETTINGS).policy_json(change.after, START)
    assert body == {
        "disable_pay_channels": ["pcredit", "pcreditpayInstallment"],
        "alipay_param": "pcredit,pcreditpayInstallment",
        "reason": "maintenance maint:n1",
        "incident_ids": ["maint:n1"],
        "until": "2026-11-28T04:05:00+08:00",
        "message_zh": "花呗系统维护中，预计04:00恢复，请使用其他支付方式",
        "fallback_methods": ["balance", "debitCardExpress", "creditCard", "moneyFund"],
    }


def test_policy_json_when_all_is_well_is_empty_and_etag_is_stable() -> None:
    view = PolicyView(SETTINGS)
    body = view.policy_json(CashierState("m1"), START)
    assert body["disable_pay_channels"] == [] and body["until"] is None and body["alipay_param"] is None
    assert etag(body) == etag(view.policy_json(CashierState("m1", version=9), START + MIN))
    off = CashierState("m1", channels=("pcredit",), until=START + MIN, reason="x")
    assert etag(view.policy_json(off, START)) != etag(body)


def test_settings_reject_nonsense_with_readable_errors() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="off_ttl"):
        CashierSettings(off_ttl=5)
    with pytest.raises(ValidationError, match="Extra inputs"):
        CashierSettings(min_hold_s=1)  # type: ignore[call-arg]  # an unknown setting, on purpose
