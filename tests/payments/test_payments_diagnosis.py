"""Diagnosis table: real Alipay codes map to the right cause; unknown input is never an error."""

from __future__ import annotations

import json

import pytest

from huabei_watch.events.common import Cause
from watcher.payments.codes import HINT_QUOTA
from watcher.payments.diagnosis import (
    diagnose,
    diagnosis_json,
    known_codes,
    known_transport_errors,
)

B, M, G, P, U = Cause.BUYER, Cause.MERCHANT_ACCOUNT, Cause.INTEGRATION, Cause.PLATFORM, Cause.UNKNOWN

# (code, sub_code, expected cause): written from the documented meanings, independent of the table.
EXPECTED: list[tuple[str, str, Cause]] = [
    ("40004", "ACQ.SYSTEM_ERROR", P),
    ("20000", "ACQ.SYSTEM_ERROR", P),
    ("20000", "isp.unknow-error", P),
    ("20000", "aop.unknow-error", P),
    ("20000", "", P),
    ("40004", "ACQ.BUYER_BALANCE_NOT_ENOUGH", B),
    ("40004", "ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH", B),
    ("40004", "ACQ.PAYMENT_REQUEST_HAS_RISK", B),
    ("40004", "ACQ.BUYER_ENABLE_STATUS_FORBID", B),
    ("40004", "ACQ.ERROR_BUYER_CERTIFY_LEVEL_LIMIT", B),
    ("40004", "ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR", B),
    ("40004", "ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR", B),
    ("40004", "ACQ.PAYMENT_AUTH_CODE_INVALID", B),
    ("40004", "ACQ.PULL_MOBILE_CASHIER_FAIL", B),
    ("40004", "ACQ.PAYMENT_FAIL", B),
    ("40004", "ACQ.PAYER_UNMATCHED", B),
    ("40004", "ACQ.NO_PAYMENT_INSTRUMENTS_AVAILABLE", B),
    ("40004", "ACQ.ERROR_BALANCE_PAYMENT_DISABLE", B),
    ("40004", "ACQ.SELLER_BEEN_BLOCKED", M),
    ("40004", "ACQ.MERCHANT_STATUS_NOT_NORMAL", M),
    ("40004", "ACQ.MERCHANT_AGREEMENT_INVALID", M),
    ("40004", "ACQ.ACCESS_FORBIDDEN", M),
    ("40004", "ACQ.BEYOND_PAY_RESTRICTION", M),
    ("40004", "ACQ.BEYOND_PER_RECEIPT_RESTRICTION", M),
    ("40004", "ACQ.PRODUCT_AMOUNT_LIMIT_ERROR", M),
    ("40004", "ACQ.SELLER_BALANCE_NOT_ENOUGH", M),
    ("40004", "ACQ.INVALID_PARAMETER", G),
    ("40004", "ACQ.PARTNER_ERROR", G),
    ("40004", "ACQ.TOTAL_FEE_EXCEED", G),
    ("40004", "ACQ.CONTEXT_INCONSISTENT", G),
    ("40004", "ACQ.TRADE_HAS_SUCCESS", G),
    ("40004", "ACQ.TRADE_HAS_CLOSE", G),
    ("40004", "ACQ.EXIST_FORBIDDEN_WORD", G),
    ("40004", "ACQ.INVALID_STORE_ID", G),
    ("40004", "ACQ.SUB_MERCHANT_CREATE_FAIL", G),
    ("40004", "ACQ.SUB_MERCHANT_TYPE_INVALID", G),
    ("40001", "isv.missing-method", G),
    ("40001", "isv.missing-app-id", G),
    ("40001", "", G),
    ("40002", "isv.invalid-signature", G),
    ("40002", "isv.invalid-app-id", G),
    ("40002", "isv.invalid-timestamp", G),
    ("40002", "isv.invalid-encrypt", G),
    ("40002", "", G),
    ("40006", "isv.insufficient-isv-permissions", G),
    ("40006", "", G),
    ("20001", "aop.invalid-auth-token", G),
    ("20001", "aop.auth-token-time-out", G),
    ("20001", "aop.no-product-reg-by-partner", M),
    ("20001", "", G),
]


@pytest.mark.parametrize(("code", "sub_code", "cause"), EXPECTED, ids=[f"{c}-{s}" for c, s, _ in EXPECTED])
def test_documented_code_maps_to_its_cause(code: str, sub_code: str, cause: Cause) -> None:
    assert diagnose(code, sub_code).cause is cause


@pytest.mark.parametrize("code", known_codes())
def test_every_table_code_has_advice_explanation_and_a_hint(code: str) -> None:
    d = diagnose(code)
    assert d.advice_zh and d.explanation
    assert d.severity in ("info", "warning", "critical")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in d.advice_zh), "merchant advice must be Chinese"
    if code != "10000":
        assert d.shopper_hint_zh and len(d.shopper_hint_zh) <= 40
    assert d.matched == code


@pytest.mark.parametrize("sub_code", [c for c in known_codes() if "." in c])
def test_sub_code_diagnosis_is_the_same_alone_or_under_its_top_level_code(sub_code: str) -> None:
    top = "20000" if sub_code.endswith("unknow-error") else "40004"
    assert diagnose(top, sub_code) == diagnose(sub_code)


def test_table_covers_at_least_forty_codes_without_duplicates() -> None:
    codes = [c.lower() for c in known_codes()]
    assert len(codes) >= 40
    assert len(set(codes)) == len(codes)


@pytest.mark.parametrize(
    ("code", "sub_code"),
    [
        ("", ""),
        ("99999", ""),
        ("40004", ""),
        ("40004", "ACQ.SOMETHING_NEW_2027"),
        ("ACQ.SOMETHING_NEW_2027", ""),
        ("aop.something-new", ""),
        ("支付失败", "未知"),
        ("x" * 500, "\x00\n"),
    ],
)
def test_unknown_code_is_unknown_not_an_error(code: str, sub_code: str) -> None:
    d = diagnose(code, sub_code)
    assert d.cause is Cause.UNKNOWN
    assert d.advice_zh and d.explanation


@pytest.mark.parametrize(
    ("code", "sub_code", "cause"),
    [("40002", "isv.brand-new-check", G), ("", "isv.brand-new-check", G), ("20000", "isp.brand-new", P), ("20000", "weird", P)],
)
def test_unlisted_sub_code_falls_back_to_what_its_family_means(code: str, sub_code: str, cause: Cause) -> None:
    assert diagnose(code, sub_code).cause is cause


def test_codes_match_case_insensitively_and_ignore_surrounding_space() -> None:
    assert diagnose(" 40004 ", " acq.seller_been_blocked ").cause is M
    assert diagnose("ISV.INVALID-SIGNATURE").cause is G


@pytest.mark.parametrize("transport", [*known_transport_errors(), "socket_exploded", "TIMEOUT"])
def test_transport_error_is_platform(transport: str) -> None:
    d = diagnose(transport_error=transport)
    assert d.cause is P
    assert d.advice_zh and d.shopper_hint_zh


def test_transport_error_wins_over_a_stale_code() -> None:
    assert diagnose("40004", "ACQ.BUYER_BALANCE_NOT_ENOUGH", transport_error="timeout").cause is P


@pytest.mark.parametrize(
    ("code", "sub_code", "transport"),
    [("40004", "ACQ.BUYER_BALANCE_NOT_ENOUGH", ""), ("40004", "ACQ.SYSTEM_ERROR", ""), ("", "", "timeout"), ("123", "new", "")],
)
def test_any_failure_inside_maintenance_is_maintenance(code: str, sub_code: str, transport: str) -> None:
    d = diagnose(code, sub_code, transport_error=transport, in_maintenance=True)
    assert d.cause is Cause.MAINTENANCE
    assert "维护" in d.advice_zh and "维护" in d.shopper_hint_zh


def test_success_inside_maintenance_is_not_a_maintenance_failure() -> None:
    assert diagnose("10000", in_maintenance=True).cause is not Cause.MAINTENANCE


def test_buyer_quota_shows_the_shopper_the_huabei_quota_hint() -> None:
    assert diagnose("40004", "ACQ.BUYER_BALANCE_NOT_ENOUGH").shopper_hint_zh == HINT_QUOTA


def test_blocked_merchant_advice_says_what_to_do_and_whom_to_call() -> None:
    advice = diagnose("40004", "ACQ.SELLER_BEEN_BLOCKED").advice_zh
    assert "冻结" in advice and "95188" in advice


def test_diagnosis_json_has_exactly_the_cli_fields() -> None:
    out = diagnosis_json("40004", "ACQ.SELLER_BEEN_BLOCKED")
    assert set(out) == {"cause", "advice_zh", "explanation"}
    assert out["cause"] == "merchant_account"
    assert json.loads(json.dumps(out, ensure_ascii=False)) == out


def test_diagnosis_json_of_an_unknown_code_says_unknown() -> None:
    assert diagnosis_json("NOT_A_CODE")["cause"] == "unknown"
