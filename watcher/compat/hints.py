"""What a cashier shows the shopper when a Huabei payment fails (pure).

:func:`shopper_hint` turns a :class:`~watcher.payments.diagnosis.Diagnosis` and, optionally, the
merchant's current cashier policy message into a short Chinese message. It never answers a bare
"支付失败": every message says what happened or what to do next.

Rules:

* Huabei switched off at this merchant (a policy message is given) and the failure is the
  platform's, a maintenance or unknown: the policy message (it carries the expected end, e.g.
  "花呗系统维护中，预计04:00恢复，请使用其他支付方式"); retrying Huabei is pointless.
* otherwise the diagnosis's own shopper hint (buyer quota: check the Huabei quota or choose
  another method; account problems: another method or ask the staff).

``retry`` says whether trying Huabei again can work: after a platform hiccup, or after a step the
message names (refresh the payment code, re-open the order, switch mobile payments on).
"""

from __future__ import annotations

from dataclasses import dataclass

from huabei_watch.events.common import Cause
from watcher.payments.codes import HINT_OTHER_METHOD
from watcher.payments.diagnosis import SUCCESS_CODE, Diagnosis

__all__ = ["ShopperHint", "shopper_hint"]

BARE_FAILURE = "支付失败"
SUCCESS_MESSAGE = "本次支付已成功，无需重复付款"

#: Codes after which the same payment works once the shopper or staff did what the hint says.
_RETRY_AFTER_STEP = frozenset({
    "acq.payment_auth_code_invalid",
    "acq.pull_mobile_cashier_fail",
    "acq.mobile_payment_switch_off",
    "acq.user_face_payment_switch_off",
    "acq.context_inconsistent",
    "acq.trade_has_close",
    "acq.trade_not_exist",
    "acq.now_time_after_expire_time_error",
})
#: Causes for which the switch state (policy message) explains the failure better than the code.
_SWITCH_EXPLAINS = frozenset({Cause.PLATFORM, Cause.MAINTENANCE, Cause.UNKNOWN})


@dataclass(frozen=True, slots=True)
class ShopperHint:
    """The answer of ``GET /v1/diagnose``."""

    cause: Cause
    shopper_message_zh: str
    advice_zh: str
    explanation: str
    retry: bool

    def to_json(self) -> dict[str, object]:
        return {
            "cause": self.cause.value,
            "shopper_message_zh": self.shopper_message_zh,
            "advice_zh": self.advice_zh,
            "explanation": self.explanation,
            "retry": self.retry,
        }


def shopper_hint(diagnosis: Diagnosis, policy_message_zh: str | None) -> ShopperHint:
    """The shopper's message for one failure. ``policy_message_zh``: the merchant's current cashier
    policy message when Huabei is switched off there, else None or ""."""
    policy = (policy_message_zh or "").strip()
    matched = diagnosis.matched.lower()
    if matched == SUCCESS_CODE:
        message, retry = SUCCESS_MESSAGE, False
    elif policy and diagnosis.cause in _SWITCH_EXPLAINS:
        message, retry = policy, False
    else:
        message = diagnosis.shopper_hint_zh.strip()
        retry = diagnosis.cause is Cause.PLATFORM or matched in _RETRY_AFTER_STEP
    if not message or message == BARE_FAILURE:
        message = HINT_OTHER_METHOD
    return ShopperHint(
        cause=diagnosis.cause,
        shopper_message_zh=message,
        advice_zh=diagnosis.advice_zh,
        explanation=diagnosis.explanation,
        retry=retry,
    )
