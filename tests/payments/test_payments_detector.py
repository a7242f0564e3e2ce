"""Synthetic payment-result streams and the signals each must and must not produce."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from huabei_watch.events.base import Event
from huabei_watch.events.common import Cause, Scope, ScopeKind
from huabei_watch.events.payments import PaymentResult
from huabei_watch.events.signals import PAYMENTS_ANOMALY, PaymentAnomaly
from watcher.payments.detector import DetectionSettings, Detector

T0 = datetime(2026, 11, 11, 0, 0, tzinfo=UTC)  # a sale day
OTHER = ("moneyFund", "debitCardExpress")

# An outcome: None for success, else (code, sub_code, transport_error).
Outcome = tuple[str, str, str] | None
SYSTEM_ERROR: Outcome = ("40004", "ACQ.SYSTEM_ERROR", "")
UNAVAILABLE: Outcome = ("20000", "isp.unknow-error", "")
TIMEOUT: Outcome = ("", "", "timeout")
QUOTA: Outcome = ("40004", "ACQ.BUYER_BALANCE_NOT_ENOUGH", "")
RISK: Outcome = ("40004", "ACQ.PAYMENT_REQUEST_HAS_RISK", "")
BLOCKED: Outcome = ("40004", "ACQ.SELLER_BEEN_BLOCKED", "")
BAD_SIGNATURE: Outcome = ("40002", "isv.invalid-signature", "")


def result(merchant: str, channel: str, at: datetime, outcome: Outcome) -> PaymentResult:
    if outcome is None:
        return PaymentResult(merchant_id=merchant, at=at, channel=channel, success=True)
    code, sub_code, transport = outcome
    return PaymentResult(
        merchant_id=merchant, at=at, channel=channel, success=False, code=code, sub_code=sub_code, transport_error=transport
    )


def failing(share: float, outcome: Outcome) -> Callable[[int], Outcome]:
    """Exactly ``share`` of attempts fail with ``outcome``, spread evenly."""
    return lambda i: outcome if math.floor((i + 1) * share) > math.floor(i * share) else None


def first_only(outcome: Outcome) -> Callable[[int], Outcome]:
    return lambda i: outcome if i == 0 else None


def ok(_: int) -> Outcome:
    return None


def stream(
    merchant: str, channel: str, start: datetime, count: int, every_s: float, pattern: Callable[[int], Outcome]
) -> Iterator[PaymentResult]:
    for i in range(count):
        yield result(merchant, channel, start + timedelta(seconds=i * every_s), pattern(i))


def feed(detector: Detector, results: Iterator[PaymentResult]) -> None:
    for r in results:
        detector.observe(r)


def run(
    detector: Detector,
    start: datetime,
    seconds: int,
    step_s: int,
    traffic: Callable[[datetime, int], list[PaymentResult]],
) -> list[tuple[datetime, PaymentAnomaly]]:
    """Drive the detector step by step: observe each step's traffic, evaluate, collect changes."""
    changes: list[tuple[datetime, PaymentAnomaly]] = []
    for k in range(seconds // step_s):
        now = start + timedelta(seconds=(k + 1) * step_s)
        for r in traffic(now - timedelta(seconds=step_s / 2), k):
            detector.observe(r, now=now)
        changes.extend((now, a) for a in detector.evaluate(now))
    return changes


def outage_traffic(
    merchants: int, pcredit: Callable[[int], Outcome], other: Callable[[int], Outcome] = ok
) -> Callable[[datetime, int], list[PaymentResult]]:
    def traffic(at: datetime, k: int) -> list[PaymentResult]:
        out = []
        for m in range(merchants):
            for j in range(2):
                out.append(result(f"m{m}", "pcredit", at, pcredit(k * 2 + j)))
            out.append(result(f"m{m}", OTHER[k % 2], at, other(k)))
        return out

    return traffic


# -- a platform outage --------------------------------------------------------------------------


def test_platform_outage_with_other_channels_healthy_raises_one_huabei_anomaly() -> None:
    d = Detector()
    for m in range(8):
        outcome = SYSTEM_ERROR if m % 2 else UNAVAILABLE
        feed(d, stream(f"m{m}", "pcredit", T0, 30, 9.0, failing(0.6, outcome)))
        for channel in OTHER:
            feed(d, stream(f"m{m}", channel, T0, 15, 18.0, ok))
    now = T0 + timedelta(seconds=280)

    changes = d.evaluate(now)

    assert [a.anomaly_id for a in changes] == ["platform:pcredit"]
    a = changes[0]
    assert (a.state, a.cause, a.scope.kind, a.channel) == ("raised", Cause.PLATFORM, ScopeKind.PLATFORM, "pcredit")
    assert a.total == 240 and a.failures == 8 * 18 and a.merchants == 8
    assert a.counts_by_code == {"ACQ.SYSTEM_ERROR": 72, "isp.unknow-error": 72}
    assert a.window_end == now and (a.window_end - a.window_start) == timedelta(seconds=300)
    assert "花呗" in a.advice_zh and "8 merchants" in a.explanation
    assert d.evaluate(now + timedelta(seconds=1)) == []  # only changes, never the same state twice


def test_outage_signal_becomes_an_event_with_a_deterministic_id() -> None:
    def detect() -> PaymentAnomaly:
        d = Detector()
        for m in range(4):
            feed(d, stream(f"m{m}", "pcredit", T0, 20, 10.0, failing(1.0, SYSTEM_ERROR)))
            feed(d, stream(f"m{m}", "moneyFund", T0, 10, 20.0, ok))
        return d.evaluate(T0 + timedelta(seconds=250))[0]

    first, second = detect(), detect()
    e1 = Event.build(PAYMENTS_ANOMALY, first, time=first.window_end)
    e2 = Event.build(PAYMENTS_ANOMALY, second, time=second.window_end)
    assert e1.id == e2.id and e1.key == "anomaly:platform:pcredit"


def test_installment_channel_outage_is_its_own_anomaly() -> None:
    d = Detector()
    for m in range(5):
        feed(d, stream(f"m{m}", "pcreditpayInstallment", T0, 12, 20.0, failing(0.75, SYSTEM_ERROR)))
        feed(d, stream(f"m{m}", "pcredit", T0, 12, 20.0, ok))
        feed(d, stream(f"m{m}", "moneyFund", T0, 12, 20.0, ok))

    assert [a.anomaly_id for a in d.evaluate(T0 + timedelta(seconds=260))] == ["platform:pcreditpayInstallment"]


def test_too_few_merchants_affected_is_not_an_outage() -> None:
    d = Detector(DetectionSettings(platform_min_merchants=3))
    for m in range(10):
        pattern = failing(1.0, SYSTEM_ERROR) if m < 2 else ok
        feed(d, stream(f"m{m}", "pcredit", T0, 10, 20.0, pattern))
        feed(d, stream(f"m{m}", "moneyFund", T0, 10, 20.0, ok))

    assert d.evaluate(T0 + timedelta(seconds=250)) == []


# -- one blocked merchant -----------------------------------------------------------------------


def test_one_blocked_merchant_raises_a_merchant_account_problem_for_that_merchant_only() -> None:
    d = Detector()
    for channel in ("pcredit", *OTHER):
        feed(d, stream("blocked-shop", channel, T0, 10, 20.0, failing(1.0, BLOCKED)))
    for m in range(10):
        feed(d, stream(f"m{m}", "pcredit", T0, 20, 10.0, failing(0.1, QUOTA)))
        feed(d, stream(f"m{m}", "moneyFund", T0, 10, 20.0, ok))

    changes = d.evaluate(T0 + timedelta(seconds=250))

    assert [a.anomaly_id for a in changes] == ["merchant:blocked-shop:merchant_account"]
    a = changes[0]
    assert a.scope == Scope.merchants("blocked-shop") and a.cause is Cause.MERCHANT_ACCOUNT
    assert a.channel == "*" and a.total == 30 and a.failures == 30 and a.merchants == 1
    assert a.counts_by_code == {"ACQ.SELLER_BEEN_BLOCKED": 30}
    assert "冻结" in a.advice_zh


def test_broken_signature_at_one_merchant_raises_an_integration_problem_on_its_channel() -> None:
    d = Detector()
    feed(d, stream("old-plugin", "pcredit", T0, 10, 20.0, failing(1.0, BAD_SIGNATURE)))
    feed(d, stream("old-plugin", "moneyFund", T0, 10, 20.0, ok))

    changes = d.evaluate(T0 + timedelta(seconds=250))

    assert [(a.anomaly_id, a.channel) for a in changes] == [("merchant:old-plugin:integration", "pcredit")]
    assert changes[0].counts_by_code == {"isv.invalid-signature": 10}


# -- a buyer-quota storm on a sale day -----------------------------------------------------------


def test_buyer_quota_storm_on_a_sale_day_raises_nothing() -> None:
    d = Detector()
    storm = failing(0.8, QUOTA)
    changes = run(
        d,
        T0,
        900,
        10,
        lambda at, k: [
            result(f"m{m}", "pcredit", at, storm(k * 10 + j) if j % 5 else RISK) for m in range(50) for j in range(10)
        ]
        + [result(f"m{m}", "moneyFund", at, None) for m in range(50)],
    )

    assert changes == []
    assert d.status().active_anomalies == ()
    assert d.status().tracked_merchants == 50


def test_idle_merchants_are_evicted_once_their_window_is_empty() -> None:
    d = Detector()
    for m in range(30):
        feed(d, stream(f"m{m}", "pcredit", T0, 5, 10.0, ok))
    d.evaluate(T0 + timedelta(seconds=60))
    assert d.status().tracked_merchants == 30

    d.evaluate(T0 + timedelta(seconds=60 + 301))

    assert d.status().tracked_merchants == 0


# -- one merchant's network down -----------------------------------------------------------------


def test_one_merchants_network_down_on_all_channels_is_not_a_huabei_outage() -> None:
    d = Detector(DetectionSettings(platform_min_merchants=1))
    for channel in ("pcredit", *OTHER):
        feed(d, stream("cut-off", channel, T0, 30, 9.0, failing(1.0, TIMEOUT)))
    for m in range(10):
        feed(d, stream(f"m{m}", "pcredit", T0, 10, 20.0, ok))

    assert d.evaluate(T0 + timedelta(seconds=280)) == []
    assert d.status().all_channels_failing == ("cut-off",)


def test_same_timeouts_only_on_huabei_are_an_outage_so_the_contrast_is_what_decides() -> None:
    d = Detector(DetectionSettings(platform_min_merchants=1))
    feed(d, stream("cut-off", "pcredit", T0, 30, 9.0, failing(1.0, TIMEOUT)))
    for channel in OTHER:
        feed(d, stream("cut-off", channel, T0, 30, 9.0, ok))
    for m in range(10):
        feed(d, stream(f"m{m}", "pcredit", T0, 10, 20.0, ok))

    assert [a.anomaly_id for a in d.evaluate(T0 + timedelta(seconds=280))] == ["platform:pcredit"]


def test_many_merchants_losing_all_channels_at_once_is_not_a_huabei_outage() -> None:
    d = Detector()
    for m in range(6):
        for channel in ("pcredit", *OTHER):
            feed(d, stream(f"m{m}", channel, T0, 20, 12.0, failing(0.9, TIMEOUT)))

    assert d.evaluate(T0 + timedelta(seconds=250)) == []
    assert d.status().all_channels_failing == tuple(f"m{m}" for m in range(6))


def test_huabei_only_merchants_without_other_traffic_need_require_contrast_off() -> None:
    def detect(require_contrast: bool) -> list[str]:
        d = Detector(DetectionSettings(require_contrast=require_contrast))
        for m in range(5):
            feed(d, stream(f"m{m}", "pcredit", T0, 20, 10.0, failing(0.8, SYSTEM_ERROR)))
        return [a.anomaly_id for a in d.evaluate(T0 + timedelta(seconds=250))]

    assert detect(True) == []
    assert detect(False) == ["platform:pcredit"]


def test_an_unknown_sub_code_is_judged_with_its_top_level_code_each_time() -> None:
    d = Detector(DetectionSettings(platform_min_merchants=1))
    d.observe(result("other", "pcredit", T0, ("20000", "ACQ.BRAND_NEW", "")))  # platform, by 20000
    feed(d, stream("m1", "pcredit", T0, 30, 9.0, failing(1.0, ("40004", "ACQ.BRAND_NEW", ""))))  # unknown
    feed(d, stream("m1", "moneyFund", T0, 30, 9.0, ok))

    assert d.evaluate(T0 + timedelta(seconds=280)) == []


# -- low-volume noise ----------------------------------------------------------------------------


def test_low_volume_noise_raises_nothing() -> None:
    d = Detector()
    noise = [SYSTEM_ERROR, BLOCKED, BAD_SIGNATURE, TIMEOUT]
    for m in range(20):
        feed(d, stream(f"m{m}", "pcredit", T0, 3, 60.0, first_only(noise[m % 4])))
        feed(d, stream(f"m{m}", "moneyFund", T0, 2, 60.0, ok))

    assert d.evaluate(T0 + timedelta(seconds=200)) == []


# -- clearing with hysteresis --------------------------------------------------------------------

FAST = DetectionSettings(window_s=60, bucket_s=5, clear_after_s=60, no_evidence_clear_s=300, platform_min_attempts=20)


def test_outage_clears_once_only_after_the_rate_stays_under_the_lower_threshold() -> None:
    d = Detector(FAST)
    bad = outage_traffic(6, failing(0.6, SYSTEM_ERROR))
    middling = outage_traffic(6, failing(0.2, SYSTEM_ERROR))  # under raise (0.3), over clear (0.1)
    healthy = outage_traffic(6, ok)

    raised = run(d, T0, 120, 5, bad)
    held = run(d, T0 + timedelta(seconds=120), 600, 5, middling)
    recovery_start = T0 + timedelta(seconds=720)
    cleared = run(d, recovery_start, 600, 5, healthy)

    assert [a.state for _, a in raised] == ["raised"]
    assert held == []
    assert [a.state for _, a in cleared] == ["cleared"]
    when, a = cleared[0]
    assert a.anomaly_id == "platform:pcredit" and "below the clear threshold" in a.explanation
    assert when >= recovery_start + timedelta(seconds=FAST.clear_after_s)
    assert when <= recovery_start + timedelta(seconds=FAST.window_s + FAST.clear_after_s + 10)


def test_brief_dips_under_the_clear_threshold_do_not_clear() -> None:
    def dips(settings: DetectionSettings) -> list[str]:
        d = Detector(settings)
        changes = run(d, T0, 120, 5, outage_traffic(6, failing(0.6, SYSTEM_ERROR)))
        t = T0 + timedelta(seconds=120)
        for _ in range(4):  # healthy long enough to empty the window, but not for clear_after_s
            changes += run(d, t, 90, 5, outage_traffic(6, ok))
            changes += run(d, t + timedelta(seconds=90), 60, 5, outage_traffic(6, failing(0.6, SYSTEM_ERROR)))
            t += timedelta(seconds=150)
        return [a.state for _, a in changes]

    assert dips(FAST) == ["raised"]
    # Control: the same stream with a short clear_after_s does clear, so the dips are real.
    assert "cleared" in dips(FAST.model_copy(update={"clear_after_s": 20.0}))


def test_outage_without_traffic_clears_only_after_the_no_evidence_time() -> None:
    d = Detector(FAST)
    assert [a.state for _, a in run(d, T0, 120, 5, outage_traffic(6, failing(0.6, SYSTEM_ERROR)))] == ["raised"]

    silent = run(d, T0 + timedelta(seconds=120), 900, 5, lambda at, k: [])

    assert [a.state for _, a in silent] == ["cleared"]
    when, a = silent[0]
    assert "no traffic" in a.explanation
    assert when >= T0 + timedelta(seconds=120 + FAST.no_evidence_clear_s)


def test_unblocked_merchant_clears_after_hysteresis() -> None:
    d = Detector(FAST)

    def shop(outcome_share: float) -> Callable[[datetime, int], list[PaymentResult]]:
        pattern = failing(outcome_share, BLOCKED)
        return lambda at, k: [result("shop", "pcredit", at, pattern(k)), result("shop", "moneyFund", at, pattern(k))]

    raised = run(d, T0, 60, 5, shop(1.0))
    cleared = run(d, T0 + timedelta(seconds=60), 300, 5, shop(0.0))

    assert [a.anomaly_id for _, a in raised] == ["merchant:shop:merchant_account"]
    assert [(a.anomaly_id, a.state) for _, a in cleared] == [("merchant:shop:merchant_account", "cleared")]
    assert cleared[0][0] >= T0 + timedelta(seconds=60 + FAST.clear_after_s)


# -- bad times and memory bounds -----------------------------------------------------------------


def test_future_and_too_old_results_are_dropped_with_a_reason_not_counted() -> None:
    d = Detector(DetectionSettings(platform_min_merchants=1))
    now = T0 + timedelta(seconds=600)
    for channel in ("pcredit", "moneyFund"):
        for r in stream("m1", channel, now + timedelta(hours=1), 20, 1.0, failing(1.0, SYSTEM_ERROR) if channel == "pcredit" else ok):
            d.observe(r, now=now)
        for r in stream("m1", channel, now - timedelta(hours=1), 20, 1.0, failing(1.0, SYSTEM_ERROR) if channel == "pcredit" else ok):
            d.observe(r, now=now)

    assert d.evaluate(now) == []
    assert (d.dropped.future, d.dropped.too_old, d.dropped.capacity) == (40, 40, 0)


def test_slightly_early_results_count_as_now() -> None:
    d = Detector()
    d.evaluate(T0)
    d.observe(result("m1", "pcredit", T0 + timedelta(seconds=30), None))
    d.observe(result("m1", "pcredit", T0 + timedelta(seconds=3600), None))

    assert d.dropped.future == 1
    assert d.status().tracked_merchants == 1


def test_merchants_beyond_the_limit_are_dropped_as_capacity() -> None:
    d = Detector(DetectionSettings(max_merchants=2))
    for m in range(3):
        d.observe(result(f"m{m}", "pcredit", T0, None), now=T0)

    assert d.dropped.capacity == 1 and d.status().tracked_merchants == 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"window_s": 60, "bucket_s": 120}, "must not exceed window_s"),
        ({"window_s": 100, "bucket_s": 30}, "whole multiple"),
        ({"window_s": 3600, "bucket_s": 1}, "at most 720 buckets"),
        ({"platform_raise_rate": 0.2, "platform_clear_rate": 0.2}, "below platform_raise_rate"),
        ({"merchant_raise_rate": 0.1, "merchant_clear_rate": 0.3}, "below merchant_raise_rate"),
        ({"window_s": 5}, "must be >= 30 s"),
        ({"platform_raise_rate": 1.5}, "less than or equal to 1"),
        ({"unknown_key": 1}, "Extra inputs are not permitted"),
    ],
)
def test_settings_reject_inconsistent_values_with_a_readable_message(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DetectionSettings.model_validate(overrides)
