"""Pure core of the synthetic pre-order probe: what one probe found, and findings with hysteresis.

No I/O here. :class:`PrecreateOutcome` is the value a probe run produces; :class:`FindingTracker`
turns a stream of outcomes per merchant into :class:`~huabei_watch.events.MerchantFinding` data, only
when the merchant's state changes.

The rule that matters most: an *account* finding (``merchant_account``) only ever comes from a
response whose signature verified. A bad merchant key, a wrong platform key or an altered answer
is our own (or the transport's) problem and becomes an ``integration`` finding explained as such,
for ops; it never turns into "account frozen".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import Literal

from huabei_watch.events.common import PCREDIT, Cause
from huabei_watch.events.payments import PaymentResult
from huabei_watch.events.signals import MerchantFinding

Finding = Literal["ok", "signature_invalid", "key_invalid", "response_tampered", "timeout", "error"]
Cleanup = Literal["cancelled", "not_needed", "unconfirmed"]

#: Explanations start with this when the fault is on our side (keys, platform key, transport),
#: so a reader knows the merchant has nothing to fix.
OUR_CONFIGURATION = "our configuration"


@dataclass(frozen=True, slots=True)
class PrecreateOutcome:
    """One probe of one merchant.

    ``ok``: Alipay accepted a Huabei pre-order (verified answer). ``code``/``sub_code``/``sub_msg``:
    Alipay's answer when one was read. ``transport_error``: ``timeout``, ``connection_reset``,
    ``http_502``, ``malformed_response``... when no trustworthy answer was read. ``verified``: the
    answer carried a valid signature. ``detail``: a short reason for ops (never key material).
    ``cleanup``: the pre-order was cancelled (confirmed), needed no cancel (never created), or the
    cancel is unconfirmed (Alipay's ``timeout_express`` closes it within minutes anyway).
    """

    merchant_id: str
    at: datetime
    ok: bool
    finding: Finding
    code: str = ""
    sub_code: str = ""
    sub_msg: str = ""
    transport_error: str = ""
    verified: bool = False
    detail: str = ""
    out_trade_no: str = ""
    cleanup: Cleanup = "not_needed"

    def as_payment_result(self) -> PaymentResult | None:
        """This probe as one payment attempt, for the payment-results diagnosis (outage evidence).

        None when the outcome says nothing about Alipay (our keys, untrusted answers).
        """
        if self.finding in ("key_invalid", "signature_invalid", "response_tampered"):
            return None
        if self.ok:
            return PaymentResult(merchant_id=self.merchant_id, at=self.at, channel=PCREDIT, success=True)
        if not (self.code or self.sub_code or self.transport_error):
            return None
        return PaymentResult(
            merchant_id=self.merchant_id, at=self.at, channel=PCREDIT, success=False,
            code=self.code[:64], sub_code=self.sub_code[:128], sub_msg=self.sub_msg[:512],
            transport_error=self.transport_error[:64],
        )


class Verdict(Enum):
    GOOD = "good"
    BAD = "bad"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True, slots=True)
class Assessment:
    """What one outcome means for the merchant's finding."""

    verdict: Verdict
    cause: Cause | None = None
    code: str = ""
    sub_code: str = ""
    explanation: str = ""
    ours: bool = False  # the fault is on our side (keys, proxies): ops are told, not the merchant


#: Causes a probe may raise a merchant finding for; the others (platform, maintenance, buyer,
#: unknown) are evidence for other parts of the system and leave the merchant's state alone.
MERCHANT_CAUSES: frozenset[Cause] = frozenset({Cause.MERCHANT_ACCOUNT, Cause.INTEGRATION})


def assess(outcome: PrecreateOutcome, classify: Callable[[str, str], Cause]) -> Assessment:
    """Map one outcome to good / bad(cause) / inconclusive. ``classify(code, sub_code)`` is the
    diagnosis table."""
    if outcome.ok:
        return Assessment(Verdict.GOOD)
    if outcome.finding == "key_invalid":
        return Assessment(
            Verdict.BAD, Cause.INTEGRATION,
            explanation=f"{OUR_CONFIGURATION}: a configured key cannot be loaded ({outcome.detail or 'key_invalid'}); "
            "no request was sent",
            ours=True,
        )
    if outcome.finding == "signature_invalid":
        return Assessment(
            Verdict.BAD, Cause.INTEGRATION,
            explanation=f"{OUR_CONFIGURATION}: Alipay's answer does not verify with the configured Alipay public key "
            "(wrong platform key, e.g. the app public key pasted instead, or the answer was altered on the way)",
            ours=True,
        )
    if outcome.finding == "response_tampered":
        return Assessment(
            Verdict.BAD, Cause.INTEGRATION,
            explanation=f"{OUR_CONFIGURATION}: Alipay's answer was altered or stripped of its signature on the way "
            f"({outcome.detail or 'inconsistent response'}); check proxies between us and the gateway",
            ours=True,
        )
    if outcome.finding == "timeout" or outcome.transport_error or not (outcome.code or outcome.sub_code):
        return Assessment(Verdict.INCONCLUSIVE)
    cause = classify(outcome.code, outcome.sub_code)
    if cause not in MERCHANT_CAUSES:
        return Assessment(Verdict.INCONCLUSIVE, cause, outcome.code, outcome.sub_code)
    if cause is Cause.MERCHANT_ACCOUNT and not outcome.verified:
        return Assessment(
            Verdict.BAD, Cause.INTEGRATION, outcome.code, outcome.sub_code,
            explanation=f"{OUR_CONFIGURATION}: an unsigned answer claimed an account problem "
            f"({outcome.sub_code or outcome.code}); not trusted as the merchant's account state",
            ours=True,
        )
    return Assessment(
        Verdict.BAD, cause, outcome.code, outcome.sub_code,
        explanation=f"Alipay answered {outcome.code} {outcome.sub_code} to a Huabei pre-order: {outcome.sub_msg}".strip(),
    )


def default_advice(cause: Cause, code: str, sub_code: str) -> str:
    """Short Chinese advice for the merchant; empty when the fault is ours (ops handle it)."""
    if not (code or sub_code):
        return ""
    label = sub_code or code
    if cause is Cause.MERCHANT_ACCOUNT:
        return (
            f"支付宝检测到您的商户账户状态异常（{label}），顾客目前可能无法用花呗付款。"
            "请登录支付宝商家平台查看账户状态和签约情况，或拨打支付宝客服 95188。"
        )
    if cause is Cause.INTEGRATION:
        return f"支付宝接口调用异常（{label}），顾客可能无法用花呗付款。请检查收银插件的应用配置和密钥，或升级插件到最新版本。"
    return ""


@dataclass(frozen=True, slots=True)
class TrackerState:
    """Hysteresis state of one merchant. ``raised`` is the cause of the open finding, if any."""

    raised: Cause | None = None
    streak_cause: Cause | None = None
    bad_streak: int = 0
    good_streak: int = 0


Change = Literal["raised", "cleared"]


def step(state: TrackerState, a: Assessment, raise_after: int, clear_after: int) -> tuple[TrackerState, Change | None]:
    """Advance one merchant's hysteresis by one assessment.

    Raises after ``raise_after`` consecutive bad outcomes of one cause (re-raises when the cause of
    an open finding changes); clears after ``clear_after`` consecutive good outcomes. Inconclusive
    outcomes change nothing.
    """
    if a.verdict is Verdict.INCONCLUSIVE:
        return state, None
    if a.verdict is Verdict.GOOD:
        good = state.good_streak + 1
        if state.raised is not None and good >= clear_after:
            return TrackerState(good_streak=good), "cleared"
        return replace(state, streak_cause=None, bad_streak=0, good_streak=good), None
    streak = state.bad_streak + 1 if state.streak_cause is a.cause else 1
    new = replace(state, streak_cause=a.cause, bad_streak=streak, good_streak=0)
    if streak >= raise_after and state.raised is not a.cause:
        return replace(new, raised=a.cause), "raised"
    return new, None


class FindingTracker:
    """Outcomes in, MerchantFinding data out on state changes only (origin ``precreate``,
    finding_id ``precreate:<merchant>``). Pure; keeps one small state per merchant.

    ``classify(code, sub_code) -> Cause`` is the diagnosis table (e.g.
    ``lambda c, s: diagnose(c, s).cause``). ``advise(cause, code, sub_code) -> str`` gives the
    merchant-facing Chinese advice; the default is :func:`default_advice`.
    """

    def __init__(
        self,
        classify: Callable[[str, str], Cause],
        *,
        raise_after: int = 2,
        clear_after: int = 2,
        advise: Callable[[Cause, str, str], str] = default_advice,
        initial: Mapping[str, TrackerState] | None = None,
    ) -> None:
        if raise_after < 1 or clear_after < 1:
            raise ValueError("raise_after and clear_after must be at least 1")
        self._classify = classify
        self._raise_after = raise_after
        self._clear_after = clear_after
        self._advise = advise
        self._states: dict[str, TrackerState] = dict(initial or {})
        self._last_bad: dict[str, Assessment] = {}

    def state(self, merchant_id: str) -> TrackerState:
        return self._states.get(merchant_id, TrackerState())

    def observe(self, outcome: PrecreateOutcome) -> MerchantFinding | None:
        """Feed one outcome; returns a raised/cleared finding when the merchant's state changed."""
        mid = outcome.merchant_id
        a = assess(outcome, self._classify)
        before = self.state(mid)
        after, change = step(before, a, self._raise_after, self._clear_after)
        self._states[mid] = after
        if a.verdict is Verdict.BAD:
            self._last_bad[mid] = a
        if change == "raised":
            assert a.cause is not None
            our_side = a.ours
            return MerchantFinding(
                finding_id=f"precreate:{mid}", merchant_id=mid, state="raised", origin="precreate",
                cause=a.cause, code=a.code, sub_code=a.sub_code,
                advice_zh="" if our_side else self._advise(a.cause, a.code, a.sub_code),
                explanation=a.explanation, observed_at=outcome.at, audience="ops" if our_side else "merchant",
            )
        if change == "cleared":
            assert before.raised is not None
            last = self._last_bad.pop(mid, None)
            return MerchantFinding(
                finding_id=f"precreate:{mid}", merchant_id=mid, state="cleared", origin="precreate",
                cause=before.raised, code=last.code if last else "", sub_code=last.sub_code if last else "",
                explanation="Huabei pre-orders succeed again", observed_at=outcome.at,
            )
        return None
