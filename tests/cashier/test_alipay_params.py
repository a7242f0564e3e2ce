from __future__ import annotations

import json
from typing import Any

import pytest

from consumers.cashier.alipay_params import NoPayChannelLeft, apply_policy
from huabei_watch.errors import InvalidInput

HUABEI = ("pcredit", "pcreditpayInstallment")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"out_trade_no": "1"}, {"out_trade_no": "1", "disable_pay_channels": "pcredit,pcreditpayInstallment"}),
        ({"disable_pay_channels": "moneyFund"}, {"disable_pay_channels": "moneyFund,pcredit,pcreditpayInstallment"}),
        ({"disable_pay_channels": "pcredit, moneyFund"}, {"disable_pay_channels": "pcredit,moneyFund,pcreditpayInstallment"}),
        ({"disable_pay_channels": ""}, {"disable_pay_channels": "pcredit,pcreditpayInstallment"}),
        ({"enable_pay_channels": "balance,pcredit,moneyFund"}, {"enable_pay_channels": "balance,moneyFund"}),
        ({"enable_pay_channels": "credit_group,balance"},
         {"enable_pay_channels": "creditCardCartoon,creditCardExpress,balance"}),
        ({"enable_pay_channels": "", "disable_pay_channels": "coupon"},
         {"disable_pay_channels": "coupon,pcredit,pcreditpayInstallment"}),
        ({"biz_content": {"total_amount": "9.90"}},
         {"biz_content": {"total_amount": "9.90", "disable_pay_channels": "pcredit,pcreditpayInstallment"}}),
        ({"biz_content": {"enable_pay_channels": "pcredit,balance"}},
         {"biz_content": {"enable_pay_channels": "balance"}}),
    ],
)
def test_apply_policy_cases(params: dict[str, Any], expected: dict[str, Any]) -> None:
    assert apply_policy(params, HUABEI) == expected


@pytest.mark.parametrize(
    ("params", "disable", "expected"),
    [
        ({"biz_content": {"extend_params": {"hb_fq_num": "3", "hb_fq_seller_percent": "0"}}}, HUABEI,
         {"biz_content": {"disable_pay_channels": "pcredit,pcreditpayInstallment"}}),
        ({"biz_content": {"extend_params": {"hb_fq_num": "6", "sys_service_provider_id": "2088"}}}, HUABEI,
         {"biz_content": {"extend_params": {"sys_service_provider_id": "2088"},
                          "disable_pay_channels": "pcredit,pcreditpayInstallment"}}),
        ({"extend_params": '{"hb_fq_num":"12","industry_reflux_info":"x"}', "disable_pay_channels": ""},
         ("credit_group",), {"extend_params": '{"industry_reflux_info":"x"}', "disable_pay_channels": "credit_group"}),
        ({"biz_content": {"enable_pay_channels": "pcreditpayInstallment,balance", "extend_params": {"hb_fq_num": "3"}}},
         HUABEI, {"biz_content": {"enable_pay_channels": "balance"}}),
        # only plain Huabei off: instalments stay possible, so does asking for them
        ({"biz_content": {"extend_params": {"hb_fq_num": "3"}}}, ("pcredit",),
         {"biz_content": {"extend_params": {"hb_fq_num": "3"}, "disable_pay_channels": "pcredit"}}),
    ],
)
def test_disabled_huabei_instalments_take_their_extend_params_out(
    params: dict[str, Any], disable: tuple[str, ...], expected: dict[str, Any]
) -> None:
    assert apply_policy(params, disable) == expected


def test_extend_params_that_is_not_an_object_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="extend_params"):
        apply_policy({"extend_params": "[3]", "disable_pay_channels": ""}, HUABEI)


def test_biz_content_string_stays_a_string_and_keeps_other_fields() -> None:
    params = {"method": "alipay.trade.page.pay",
              "biz_content": json.dumps({"subject": "咖啡", "disable_pay_channels": "moneyFund"}, ensure_ascii=False)}
    out = apply_policy(params, HUABEI)
    assert out["method"] == "alipay.trade.page.pay"
    assert isinstance(out["biz_content"], str)
    assert json.loads(out["biz_content"]) == {"subject": "咖啡",
                                              "disable_pay_channels": "moneyFund,pcredit,pcreditpayInstallment"}


def test_input_is_not_mutated_and_empty_policy_is_a_copy() -> None:
    params = {"disable_pay_channels": "moneyFund", "biz_content": {"a": 1}}
    assert apply_policy(params, ()) == params
    apply_policy(params, HUABEI)
    assert params == {"disable_pay_channels": "moneyFund", "biz_content": {"a": 1}}


def test_enable_list_of_only_huabei_says_no_channel_left() -> None:
    with pytest.raises(NoPayChannelLeft, match="no channel left"):
        apply_policy({"enable_pay_channels": "pcredit,pcreditpayInstallment"}, HUABEI)


@pytest.mark.parametrize("biz", ["{not json", "[1, 2]", 42])
def test_bad_biz_content_is_invalid_input(biz: object) -> None:
    with pytest.raises(InvalidInput):
        apply_policy({"biz_content": biz}, HUABEI)
