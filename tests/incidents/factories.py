"""Builders of signal events for incident tests (real contract models, explicit times)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from huabei_watch.clock import SHANGHAI
from huabei_watch.events import (
    HEALTH_DOWN,
    HEALTH_UP,
    MAINTENANCE_CANCELLED,
    MAINTENANCE_SCHEDULED,
    MAINTENANCE_UPDATED,
    MERCHANT_FINDING,
    PAYMENTS_ANOMALY,
    Cause,
    Event,
    EventData,
    HealthChange,
    MaintenanceSignal,
    MerchantFinding,
    PaymentAnomaly,
    ProbeObservation,
    Scope,
    Window,
)

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)  # the day before the window
WIN_START = datetime(2026, 11, 28, 2, 0, tzinfo=SHANGHAI)
WIN_END = datetime(2026, 11, 28, 4, 0, tzinfo=SHANGHAI)


def maintenance(
    *,
    windows: tuple[tuple[datetime, datetime | None], ...] = ((WIN_START, WIN_END),),
    event_type: str = MAINTENANCE_SCHEDULED,
    notice_id: str = "n1",
    revision: str = "r1",
    at: datetime = T0,
    huabei_affected: bool = True,
    needs_review: bool = False,
    channels: tuple[str, ...] = ("pcredit", "pcreditpayInstallment"),
    status: str = "scheduled",
) -> Event[EventData]:
    data = MaintenanceSignal(
        source_id="alipay-notices", notice_id=notice_id, url=f"https://example.invalid/{notice_id}",
        title="关于花呗系统升级的公告", revision=revision,
        windows=tuple(Window(start=s, end=e, status=status) for s, e in windows),
        channels=channels, products=("花呗",), huabei_affected=huabei_affected,
        confidence=0.9, needs_review=needs_review,
    )
    return Event.build(event_type, data, time=at)


#: :func:`maintenance` re-published with changes (takes the same keyword arguments).
updated = partial(maintenance, event_type=MAINTENANCE_UPDATED)

#: :func:`maintenance` cancelled by its notice (takes the same keyword arguments).
cancelled = partial(maintenance, event_type=MAINTENANCE_CANCELLED)


def probe(
    down: bool, since: datetime, *, probe_id: str = "gw", scope: Scope | None = None,
    last_at: datetime | None = None, channels: tuple[str, ...] = (),
) -> Event[EventData]:
    obs = (ProbeObservation(at=last_at or since, ok=not down, detail="timeout" if down else "200"),)
    data = HealthChange(probe_id=probe_id, target="https://openapi.example.invalid/gateway.do",
                        scope=scope or Scope.platform(), channels=channels, since=since, evidence=obs)
    return Event.build(HEALTH_DOWN if down else HEALTH_UP, data, time=last_at or since)


def anomaly(
    raised: bool, window_end: datetime, *, cause: Cause = Cause.PLATFORM, scope: Scope | None = None,
    anomaly_id: str = "platform:pcredit", advice_zh: str = "",
) -> Event[EventData]:
    data = PaymentAnomaly(
        anomaly_id=anomaly_id, state="raised" if raised else "cleared", cause=cause,
        scope=scope or Scope.platform(), channel="pcredit",
        window_start=window_end - timedelta(minutes=5), window_end=window_end,
        total=400, failures=120 if raised else 2, merchants=35,
        counts_by_code={"ACQ.SYSTEM_ERROR": 100, "isp.unknow-error": 20} if raised else {},
        advice_zh=advice_zh,
    )
    return Event.build(PAYMENTS_ANOMALY, data, time=window_end)


def finding(
    raised: bool, at: datetime, *, merchant_id: str = "m1", cause: Cause = Cause.MERCHANT_ACCOUNT,
    audience: str = "merchant",
) -> Event[EventData]:
    data = MerchantFinding(
        finding_id=f"precreate:{merchant_id}", merchant_id=merchant_id,
        state="raised" if raised else "cleared", origin="precreate", cause=cause,
        code="40004", sub_code="ACQ.SELLER_BEEN_BLOCKED", advice_zh="请联系支付宝解除账户限制", observed_at=at,
        audience=audience,
    )
    return Event.build(MERCHANT_FINDING, data, time=at)
