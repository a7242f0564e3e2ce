from __future__ import annotations

from datetime import datetime, timedelta

from consumers.incidents.engine import IncidentEngine
from consumers.incidents.settings import IncidentSettings
from huabei_watch.clock import SHANGHAI
from huabei_watch.events import HUABEI_CHANNELS, Cause, IncidentKind, Phase, Scope, ScopeKind
from tests.incidents.factories import anomaly, finding, probe

SETTINGS = IncidentSettings()
T = datetime(2026, 11, 28, 14, 0, tzinfo=SHANGHAI)
MIN = timedelta(minutes=1)


def engine() -> IncidentEngine:
    return IncidentEngine(SETTINGS)


def test_probe_down_opens_and_probe_up_resolves_outage() -> None:
    e = engine()
    [opened] = e.apply(probe(True, T), T)
    assert opened.incident_id == "outage:platform:20261128T1400"
    assert (opened.kind, opened.phase, opened.toggle) == (IncidentKind.OUTAGE, Phase.ACTIVE, True)
    assert opened.channels == HUABEI_CHANNELS
    assert opened.disable_from == T and opened.disable_until is None
    assert "花呗支付暂时异常" in opened.summary_zh
    [closed] = e.apply(probe(False, T + 5 * MIN), T + 5 * MIN)
    assert (closed.phase, closed.revision, closed.resolved_at) == (Phase.RESOLVED, 2, T + 5 * MIN)
    assert closed.disable_until == T + 5 * MIN
    assert "已恢复" in closed.summary_zh


def test_probe_and_payments_merge_into_one_outage_resolved_only_when_both_recover() -> None:
    e = engine()
    [opened] = e.apply(probe(True, T), T)
    [joined] = e.apply(anomaly(True, T + 2 * MIN), T + 2 * MIN)
    assert joined.incident_id == opened.incident_id
    assert joined.refs == ("probe:gw", "anomaly:platform:pcredit")  # sources only; their state is the ledger's
    ledger = e.record(joined.incident_id).ledger
    assert [(m.ref, m.state) for m in ledger.marks] == [("probe:gw", "down"), ("anomaly:platform:pcredit", "raised")]
    [still] = e.apply(probe(False, T + 4 * MIN), T + 4 * MIN)
    assert still.phase is Phase.ACTIVE
    [closed] = e.apply(anomaly(False, T + 6 * MIN), T + 6 * MIN)
    assert closed.phase is Phase.RESOLVED
    assert len(e.incidents()) == 1


def test_payments_first_then_probe_also_merge() -> None:
    e = engine()
    [opened] = e.apply(anomaly(True, T), T)
    assert opened.channels == ("pcredit",)
    [joined] = e.apply(probe(True, T + MIN), T + MIN)
    assert joined.incident_id == opened.incident_id
    assert set(joined.channels) == set(HUABEI_CHANNELS)


def test_duplicate_and_replayed_outage_events_change_nothing() -> None:
    e = engine()
    down = probe(True, T)
    e.apply(down, T)
    assert e.apply(down, T + MIN) == []
    e.apply(probe(False, T + 5 * MIN), T + 5 * MIN)
    assert e.apply(down, T + 6 * MIN) == []  # an old "down" replayed after recovery opens nothing
    restored = IncidentEngine.restore(SETTINGS, e.records())
    assert restored.apply(down, T + 7 * MIN) == []
    assert restored.apply(probe(False, T + 5 * MIN), T + 7 * MIN) == []


def test_recovery_of_unknown_source_changes_nothing() -> None:
    assert engine().apply(probe(False, T), T) == []


def test_buyer_side_anomaly_never_opens_anything() -> None:
    assert engine().apply(anomaly(True, T, cause=Cause.BUYER), T) == []


def test_outage_without_new_evidence_resolves_after_stale_time() -> None:
    e = engine()
    e.apply(anomaly(True, T), T)
    stale = T + timedelta(seconds=SETTINGS.outage_stale_after)
    assert e.next_due(T) == stale
    assert e.tick(stale - timedelta(seconds=1)) == []
    [closed] = e.tick(stale)
    assert closed.phase is Phase.RESOLVED


def test_still_down_probe_resending_newer_evidence_keeps_outage_open() -> None:
    e = engine()
    e.apply(probe(True, T), T)
    [renewed] = e.apply(probe(True, T, last_at=T + 10 * MIN), T + 10 * MIN)
    assert renewed.revision == 2
    assert e.tick(T + timedelta(seconds=SETTINGS.outage_stale_after)) == []
    assert e.next_due(T + 10 * MIN) == T + 10 * MIN + timedelta(seconds=SETTINGS.outage_stale_after)


def test_new_outage_after_resolution_gets_a_new_id() -> None:
    e = engine()
    e.apply(probe(True, T), T)
    e.apply(probe(False, T + 2 * MIN), T + 2 * MIN)
    [second] = e.apply(probe(True, T + 3 * MIN), T + 3 * MIN)
    assert second.incident_id == "outage:platform:20261128T1403"
    assert second.revision == 1


def test_merchant_scope_probe_makes_merchant_scope_outage() -> None:
    [inc] = engine().apply(probe(True, T, probe_id="m7-cashier", scope=Scope.merchants("m7")), T)
    assert inc.scope == Scope.merchants("m7")
    assert inc.incident_id == "outage:m7:20261128T1400"


def test_merchant_finding_opens_notify_only_merchant_incident_and_clear_resolves() -> None:
    e = engine()
    [inc] = e.apply(finding(True, T), T)
    assert (inc.kind, inc.toggle, inc.phase) == (IncidentKind.MERCHANT_ACCOUNT, False, Phase.ACTIVE)
    assert inc.scope.kind is ScopeKind.MERCHANTS and inc.scope.merchant_ids == ("m1",)
    assert inc.advice_zh == "请联系支付宝解除账户限制"
    [closed] = e.apply(finding(False, T + MIN), T + MIN)
    assert closed.phase is Phase.RESOLVED


def test_merchant_anomaly_of_integration_cause_is_integration_incident() -> None:
    [inc] = engine().apply(anomaly(True, T, cause=Cause.INTEGRATION, scope=Scope.merchants("m2"),
                                   anomaly_id="merchant:m2:integration"), T)
    assert (inc.kind, inc.toggle) == (IncidentKind.INTEGRATION, False)
    assert inc.advice_zh  # default advice when the signal has none


def test_manual_incident_switches_exactly_and_never_goes_stale() -> None:
    e = engine()
    inc = e.open_manual(now=T, by="ops:bob", title="花呗临时关闭", summary_zh="", starts_at=T + 10 * MIN,
                        ends_at=T + 70 * MIN)
    assert (inc.phase, inc.manual, inc.disable_from) == (Phase.SCHEDULED, True, T + 10 * MIN)
    [active] = e.tick(T + 10 * MIN)
    assert active.phase is Phase.ACTIVE
    assert e.tick(T + 60 * MIN) == []
    [done] = e.tick(T + 70 * MIN)
    assert done.phase is Phase.RESOLVED


def test_source_status_and_announcements_change_no_incident() -> None:
    from huabei_watch.events import (
        ANNOUNCEMENT_PUBLISHED,
        SOURCE_DEGRADED,
        AnnouncementPublished,
        Event,
        EventData,
        SourceStatus,
    )

    degraded: Event[EventData] = Event.build(SOURCE_DEGRADED, SourceStatus(source_id="alipay-notices", since=T), time=T)
    notice: Event[EventData] = Event.build(ANNOUNCEMENT_PUBLISHED, AnnouncementPublished(
        source_id="alipay-notices", notice_id="n9", url="https://example.invalid/n9", title="花呗系统升级公告",
        text="2026年11月28日凌晨2:00至4:00 花呗服务暂停", revision="r1", kind="maintenance"), time=T)
    e = engine()
    assert e.apply(degraded, T) == []
    assert e.apply(notice, T) == []
    assert e.incidents() == ()


def test_prune_forgets_old_closed_incidents_and_old_replays_stay_harmless() -> None:
    e = engine()
    down = probe(True, T)
    e.apply(down, T)
    e.apply(probe(False, T + MIN), T + MIN)
    day = timedelta(days=1)
    assert e.prune(T + day) == ["outage:platform:20261128T1400"]
    assert e.incidents() == ()
    assert e.apply(down, T + day) == []  # stale evidence opens nothing


def test_a_finding_about_our_own_configuration_opens_an_ops_only_incident() -> None:
    """A bad key or a tampered answer on our side must not reach the merchant: the incident is
    marked for review, which the planner sends to ops only, and it never switches Huabei."""
    from consumers.notify.plan import Endpoint, Recipient, plan
    from consumers.notify.subsettings import PlanSettings

    at = datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI)
    engine = IncidentEngine(SETTINGS)
    [inc] = engine.apply(finding(True, at, cause=Cause.INTEGRATION, audience="ops"), at)
    assert inc.needs_review and not inc.toggle and inc.scope.merchant_ids == ("m1",)
    merchant = Recipient("m1", (Endpoint("wecom", "robot-m1"),))
    ops = Recipient.ops(Endpoint("wecom", "robot-ops"))
    assert {m.recipient for m in plan(inc, None, [merchant, ops], at, PlanSettings())} == {"ops"}
