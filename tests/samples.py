"""One realistic sample per event type (the round-trip test fails if a type has none)."""

from __future__ import annotations

from datetime import datetime, timedelta

from huabei_watch.clock import SHANGHAI
from huabei_watch.events import (
    ANNOUNCEMENT_PUBLISHED,
    CASHIER_CHANGED,
    HEALTH_DOWN,
    HEALTH_UP,
    INCIDENT_CANCELLED,
    INCIDENT_OPENED,
    INCIDENT_RESOLVED,
    INCIDENT_UPDATED,
    MAINTENANCE_CANCELLED,
    MAINTENANCE_SCHEDULED,
    MAINTENANCE_UPDATED,
    MERCHANT_FINDING,
    NOTIFICATION_FAILED,
    NOTIFICATION_SENT,
    NOTIFICATION_SENT_BATCH,
    PAYMENT_RESULTS,
    PAYMENTS_ANOMALY,
    SOURCE_DEGRADED,
    SOURCE_RECOVERED,
    AnnouncementPublished,
    CashierChange,
    Cause,
    Event,
    EventData,
    HealthChange,
    Incident,
    IncidentKind,
    MaintenanceSignal,
    MerchantFinding,
    NotificationResult,
    NotificationResultBatch,
    PaymentAnomaly,
    PaymentResult,
    PaymentResultBatch,
    Phase,
    ProbeObservation,
    Scope,
    SourceStatus,
    Window,
)

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI)


def sample_data() -> dict[str, EventData]:
    win = Window(
        start=datetime(2026, 11, 28, 2, 0, tzinfo=SHANGHAI),
        end=datetime(2026, 11, 28, 4, 0, tzinfo=SHANGHAI),
        products=("花呗",),
        channels=("pcredit", "pcreditpayInstallment"),
    )
    maint = MaintenanceSignal(
        source_id="alipay-notices",
        notice_id="n-20261126-1",
        url="http://127.0.0.1/notice/1",
        title="关于花呗系统升级维护的公告",
        revision="r1",
        windows=(win,),
        channels=("pcredit", "pcreditpayInstallment"),
        products=("花呗",),
        huabei_affected=True,
        confidence=0.95,
        published_at=NOW,
    )
    incident = Incident(
        incident_id="maint:n-20261126-1:0",
        kind=IncidentKind.MAINTENANCE,
        scope=Scope.platform(),
        channels=("pcredit", "pcreditpayInstallment"),
        phase=Phase.SCHEDULED,
        title="花呗系统维护",
        summary_zh="花呗系统维护：11月28日 02:00-04:00",
        starts_at=win.start,
        ends_at=win.end,
        disable_from=win.start - timedelta(minutes=5),
        disable_until=win.end + timedelta(minutes=5) if win.end else None,
        opened_at=NOW,
        updated_at=NOW,
        revision=1,
        refs=("http://127.0.0.1/notice/1", "notice:n-20261126-1"),
    )
    return {
        ANNOUNCEMENT_PUBLISHED: AnnouncementPublished(
            source_id="alipay-notices",
            notice_id="n-20261126-1",
            url="http://127.0.0.1/notice/1",
            title="关于花呗系统升级维护的公告",
            text="2026年11月28日凌晨2:00至4:00 花呗服务暂停",
            published_at=NOW,
            revision="r1",
            kind="maintenance",
        ),
        MAINTENANCE_SCHEDULED: maint,
        MAINTENANCE_UPDATED: maint.model_copy(update={"revision": "r2"}),
        MAINTENANCE_CANCELLED: maint.model_copy(update={"revision": "r3", "windows": ()}),
        HEALTH_DOWN: HealthChange(
            probe_id="gateway",
            target="https://127.0.0.1/health",
            since=NOW,
            evidence=(ProbeObservation(at=NOW, ok=False, latency_ms=5000.0, detail="timeout"),),
        ),
        HEALTH_UP: HealthChange(probe_id="gateway", target="https://127.0.0.1/health", since=NOW + timedelta(minutes=3)),
        PAYMENTS_ANOMALY: PaymentAnomaly(
            anomaly_id="platform:pcredit",
            state="raised",
            cause=Cause.PLATFORM,
            channel="pcredit",
            window_start=NOW - timedelta(minutes=5),
            window_end=NOW,
            total=500,
            failures=220,
            merchants=12,
            counts_by_code={"ACQ.SYSTEM_ERROR": 200, "20000/isp.unknow-error": 20},
        ),
        SOURCE_DEGRADED: SourceStatus(source_id="alipay-notices", reason="HTTP 503", since=NOW, consecutive_failures=3),
        SOURCE_RECOVERED: SourceStatus(source_id="alipay-notices", since=NOW + timedelta(minutes=1)),
        MERCHANT_FINDING: MerchantFinding(
            finding_id="precreate:m1001",
            merchant_id="m1001",
            state="raised",
            origin="precreate",
            cause=Cause.MERCHANT_ACCOUNT,
            code="40004",
            sub_code="ACQ.SELLER_BEEN_BLOCKED",
            advice_zh="商户账号被冻结，请联系支付宝客服",
            observed_at=NOW,
        ),
        INCIDENT_OPENED: incident,
        INCIDENT_UPDATED: incident.model_copy(update={"revision": 2, "phase": Phase.ACTIVE}),
        INCIDENT_RESOLVED: incident.model_copy(update={"revision": 3, "phase": Phase.RESOLVED, "resolved_at": NOW}),
        INCIDENT_CANCELLED: incident.model_copy(update={"revision": 4, "phase": Phase.CANCELLED}),
        CASHIER_CHANGED: CashierChange(
            merchant_id="m1001",
            before=(),
            after=("pcredit", "pcreditpayInstallment"),
            reason="花呗系统维护",
            incident_ids=("maint:n-20261126-1:0",),
            at=NOW,
            until=NOW + timedelta(minutes=15),
            version=1,
        ),
        NOTIFICATION_SENT: NotificationResult(
            dedupe_key="m1001|maint:n-20261126-1:0|announced|wecom",
            recipient="m1001",
            incident_ids=("maint:n-20261126-1:0",),
            phase="announced",
            channel="wecom",
            at=NOW,
        ),
        NOTIFICATION_SENT_BATCH: NotificationResultBatch(results=tuple(
            NotificationResult(
                dedupe_key=f"{m}|maint:n-20261126-1:0|announced|wecom_app",
                recipient=m,
                incident_ids=("maint:n-20261126-1:0",),
                phase="announced",
                channel="wecom_app",
                at=NOW,
            )
            for m in ("m1001", "m1002")
        )),
        NOTIFICATION_FAILED: NotificationResult(
            dedupe_key="m1001|maint:n-20261126-1:0|announced|sms",
            recipient="m1001",
            phase="announced",
            channel="sms",
            attempts=5,
            error="isv.MOBILE_NUMBER_ILLEGAL",
            at=NOW,
        ),
        PAYMENT_RESULTS: PaymentResultBatch(
            merchant_id="m1001",
            results=(
                PaymentResult(merchant_id="m1001", at=NOW, channel="pcredit", success=True),
                PaymentResult(
                    merchant_id="m1001", at=NOW, channel="pcredit", success=False, code="40004", sub_code="ACQ.SYSTEM_ERROR"
                ),
            ),
        ),
    }


def sample_events() -> list[Event[EventData]]:
    return [Event.build(t, d, time=NOW) for t, d in sample_data().items()]
