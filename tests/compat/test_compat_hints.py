"""Shopper hints (pure): never a bare "支付失败", the switch's message when Huabei is off."""

from __future__ import annotations

import pytest

from huabei_watch.events.common import Cause
from watcher.compat.hints import BARE_FAILURE, shopper_hint
from watcher.payments.diagnosis import diagnose, known_codes, known_transport_errors

MAINTENANCE_MSG = "花呗系统维护中，预计04:00恢复，请使用其他支付方式"


@pytest.mark.parametrize("code", known_codes())
@pytest.mark.parametrize("policy", [None, MAINTENANCE_MSG])
def test_every_known_code_gives_a_specific_shopper_message(code: str, policy: str | None) -> None:
    hint = shopper_hint(diagnose(code), policy)
    assert hint.shopper_message_zh and hint.shopper_message_zh != BARE_FAILURE
    assert len(hint.shopper_message_zh) <= 40


@pytest.mark.parametrize("kind", [*known_transport_errors(), "something_new"])
def test_transport_errors_say_retry_later(kind: str) -> None:
    hint = shopper_hint(diagnose(transport_error=kind), None)
    assert hint.cause is Cause.PLATFORM and hint.retry and "稍后" in hint.shopper_message_zh


@pytest.mark.parametrize(
    ("code", "sub_code", "policy", "cause", "message", "retry"),
    [
        ("40004", "ACQ.BUYER_BALANCE_NOT_ENOUGH", None, Cause.BUYER, "花呗额度不足，请查看花呗额度或选择其他支付方式", False),
        ("40004", "ACQ.BUYER_BALANCE_NOT_ENOUGH", MAINTENANCE_MSG, Cause.BUYER, "花呗额度不足，请查看花呗额度或选择其他支付方式", False),
        ("40004", "ACQ.PAYMENT_AUTH_CODE_INVALID", None, Cause.BUYER, "付款码已失效，请刷新付款码后重新支付", True),
        ("40004", "ACQ.SYSTEM_ERROR", None, Cause.PLATFORM, "支付服务繁忙，请稍后重试或选择其他支付方式", True),
        ("40004", "ACQ.SYSTEM_ERROR", MAINTENANCE_MSG, Cause.PLATFORM, MAINTENANCE_MSG, False),
        ("40004", "ACQ.SOMETHING_NEW", MAINTENANCE_MSG, Cause.UNKNOWN, MAINTENANCE_MSG, False),
        ("40004", "ACQ.SOMETHING_NEW", None, Cause.UNKNOWN, "本次支付未成功，请选择其他支付方式", False),
        ("40004", "ACQ.SELLER_BEEN_BLOCKED", MAINTENANCE_MSG, Cause.MERCHANT_ACCOUNT, "商家收款暂时异常，请选择其他支付方式或联系店员", False),
        ("40004", "ACQ.TRADE_HAS_CLOSE", None, Cause.INTEGRATION, "订单状态有变，请收银员重新下单后再支付", True),
        ("10000", "", None, Cause.UNKNOWN, "本次支付已成功，无需重复付款", False),
    ],
)
def test_shopper_hint_table(code: str, sub_code: str, policy: str | None, cause: Cause, message: str, retry: bool) -> None:
    hint = shopper_hint(diagnose(code, sub_code), policy)
    assert (hint.cause, hint.shopper_message_zh, hint.retry) == (cause, message, retry)


def test_maintenance_diagnosis_without_switch_message_still_names_maintenance() -> None:
    hint = shopper_hint(diagnose("40004", "ACQ.SYSTEM_ERROR", in_maintenance=True), None)
    assert hint.cause is Cause.MAINTENANCE and "维护" in hint.shopper_message_zh and not hint.retry


def test_maintenance_diagnosis_with_switch_message_shows_the_expected_end() -> None:
    hint = shopper_hint(diagnose("40004", "ACQ.SYSTEM_ERROR", in_maintenance=True), MAINTENANCE_MSG)
    assert hint.shopper_message_zh == MAINTENANCE_MSG


def test_hint_carries_merchant_advice_and_explanation() -> None:
    hint = shopper_hint(diagnose("40004", "ACQ.BUYER_BALANCE_NOT_ENOUGH"), None)
    assert hint.to_json() == {
        "cause": "buyer", "shopper_message_zh": hint.shopper_message_zh, "advice_zh": hint.advice_zh,
        "explanation": hint.explanation, "retry": False,
    }
    assert "无需处理" in hint.advice_zh and "Buyer-side" in hint.explanation
