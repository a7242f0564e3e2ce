"""Building the :class:`PaymentAnomaly` signals: evidence, advice for merchants, explanation for ops.

Pure functions over window totals; the detector decides *when*, this module says *what*.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from huabei_watch.events.common import Cause, Scope
from huabei_watch.events.signals import PaymentAnomaly
from watcher.payments.diagnosis import Diagnosis
from watcher.payments.windows import Totals

State = Literal["raised", "cleared"]
ALL_CHANNELS = "*"


@dataclass(frozen=True, slots=True)
class Contrast:
    """Affected merchants of one Huabei channel, by how their other channels fare."""

    huabei_only: tuple[str, ...]
    all_channels: tuple[str, ...]
    no_contrast: tuple[str, ...]


def _span(window: tuple[datetime, datetime]) -> float:
    return (window[1] - window[0]).total_seconds()


def platform_anomaly(
    *,
    state: State,
    channel: str,
    window: tuple[datetime, datetime],
    totals: Totals,
    contrast: Contrast,
    failing_merchants: int,
    describe: Callable[[str], Diagnosis],
    why: str = "",
) -> PaymentAnomaly:
    """``platform:<channel>``, platform scope; ``totals`` are the channel's, platform-wide."""
    codes = totals.top_codes(Cause.PLATFORM)
    top = next(iter(codes), "")
    if state == "raised":
        advice = (
            "花呗暂时无法使用（疑似支付宝平台故障：多家商户的花呗支付同时失败，其他支付方式正常）。"
            "请引导顾客使用其他支付方式，恢复后会通知您。"
        )
        explanation = (
            f"Suspected Huabei ({channel}) outage: platform-cause failures at "
            f"{len(contrast.huabei_only)} merchants whose other channels are healthy "
            f"({len(contrast.all_channels)} failing on all channels, {len(contrast.no_contrast)} "
            f"without other traffic); {totals.failed(Cause.PLATFORM)}/{totals.attempts} attempts "
            f"failed with a platform cause in the last {_span(window):g}s."
        )
        if top:
            explanation += f" Top code {top}: {describe(top).explanation}"
    else:
        advice = "花呗支付已恢复正常。"
        explanation = f"Huabei ({channel}) platform failures cleared: {why}."
    return PaymentAnomaly(
        anomaly_id=f"platform:{channel}",
        state=state,
        cause=Cause.PLATFORM,
        scope=Scope.platform(),
        channel=channel,
        window_start=window[0],
        window_end=window[1],
        total=totals.attempts,
        failures=totals.failed(Cause.PLATFORM),
        merchants=failing_merchants,
        counts_by_code=codes,
        advice_zh=advice,
        explanation=explanation,
    )


def merchant_anomaly(
    *,
    state: State,
    merchant_id: str,
    cause: Cause,
    window: tuple[datetime, datetime],
    per_channel: dict[str, Totals],
    describe: Callable[[str], Diagnosis],
    why: str = "",
) -> PaymentAnomaly:
    """``merchant:<id>:<cause>``, that merchant's scope; ``channel`` is ``*`` unless one channel has them all."""
    totals = Totals()
    for channel_totals in per_channel.values():
        totals.merge(channel_totals, with_codes=True)
    codes = totals.top_codes(cause)
    hit = [name for name, t in per_channel.items() if t.failed(cause)]
    top = next(iter(codes), "")
    if state == "raised":
        d = describe(top)
        advice = d.advice_zh
        explanation = (
            f"{totals.failed(cause)}/{totals.attempts} payments at merchant {merchant_id} failed with "
            f"cause {cause.value} in the last {_span(window):g}s. Top code {top}: {d.explanation}"
        )
    else:
        advice = "此前的收款问题已不再出现，收款已恢复正常。"
        explanation = f"Merchant {merchant_id} {cause.value} failures cleared: {why}."
    return PaymentAnomaly(
        anomaly_id=f"merchant:{merchant_id}:{cause.value}",
        state=state,
        cause=cause,
        scope=Scope.merchants(merchant_id),
        channel=hit[0] if len(hit) == 1 else ALL_CHANNELS,
        window_start=window[0],
        window_end=window[1],
        total=totals.attempts,
        failures=totals.failed(cause),
        merchants=1 if totals.failed(cause) else 0,
        counts_by_code=codes,
        advice_zh=advice,
        explanation=explanation,
    )
